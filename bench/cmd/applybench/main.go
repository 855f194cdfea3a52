// Command applybench measures what one app change costs a running
// `forcehttps edge` that serves many domains: it starts the edge on a
// generated configuration (-domains domains, -per to an app, every one a
// redirect to HTTPS), adds and removes a domain of an app created through
// the admin API -changes times, and reports
//
//   - the time of each change as the admin API answers it (p50, p99, max)
//     and as the edge measures its own work (the
//     forcehttps_edge_apply_seconds histogram: validation, table,
//     certificate manager);
//   - the edge's resident memory (RSS) at start, before and after the
//     changes;
//   - the p50 and p99 latency of live traffic to one domain (plain HTTP,
//     answered by a redirect) during the changes, against the same load
//     without changes.
//
// The load is wrk when it is installed (-load wrk), else a Go loop
// (-load go) of -conns keep-alive connections; both are bounded by
// -duration. The changes are spread evenly over the loaded period, one
// after the other.
//
//	applybench -edge ./forcehttps -out DIR [-domains 100000] [-per 10] [-changes 1000] [-duration 10s]
//
// Everything listens on 127.0.0.1, ports -port-base to -port-base+2. The
// edge is started in a process group of its own and stopped (SIGTERM,
// then SIGKILL after 10 s) when the run ends, fails or is interrupted.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type options struct {
	edge, out, load  string
	domains, per     int
	changes, conns   int
	duration         time.Duration
	portBase         int
	wrkThreads       int
	trafficHost      string
	httpAddr, admAdr string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("applybench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.edge, "edge", "", "the forcehttps binary (required)")
	fs.StringVar(&o.out, "out", "", "directory for the configuration, logs and results (required)")
	fs.StringVar(&o.load, "load", "", "load generator: wrk or go (default: wrk if installed)")
	fs.IntVar(&o.domains, "domains", 100000, "domains of the configuration")
	fs.IntVar(&o.per, "per", 10, "domains per app")
	fs.IntVar(&o.changes, "changes", 1000, "changes through the admin API (half adds, half removes)")
	fs.IntVar(&o.conns, "conns", 16, "connections of the live traffic")
	fs.IntVar(&o.wrkThreads, "threads", 1, "wrk threads")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each load run")
	fs.IntVar(&o.portBase, "port-base", 29000, "first of the three loopback ports used")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.edge == "" || o.out == "" || o.domains < 1 || o.per < 1 || o.changes < 2 || o.conns < 1 || o.duration < time.Second ||
		o.portBase < 1024 || o.portBase > 65000 {
		fmt.Fprintln(stderr, "usage: applybench -edge BIN -out DIR [-domains N] [-per N] [-changes N>=2] [-conns N] [-duration D>=1s] [-port-base P]")
		return 2
	}
	if o.load == "" {
		o.load = "go"
		if _, err := exec.LookPath("wrk"); err == nil {
			o.load = "wrk"
		}
	}
	if o.load != "wrk" && o.load != "go" {
		fmt.Fprintln(stderr, "applybench: -load must be wrk or go")
		return 2
	}
	// The whole run is bounded: start, two load runs, the changes.
	ctx, cancel := context.WithTimeout(ctx, 4*o.duration+5*time.Minute)
	defer cancel()
	if err := bench(ctx, o, stdout); err != nil {
		fmt.Fprintln(stderr, "applybench:", err)
		return 1
	}
	return 0
}

func bench(ctx context.Context, o options, stdout io.Writer) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	httpPort, httpsPort, adminPort := o.portBase, o.portBase+1, o.portBase+2
	for _, p := range []int{httpPort, httpsPort, adminPort} {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err != nil {
			return fmt.Errorf("port %d is in use: %w", p, err)
		} else {
			l.Close()
		}
	}
	o.httpAddr = fmt.Sprintf("127.0.0.1:%d", httpPort)
	o.admAdr = fmt.Sprintf("127.0.0.1:%d", adminPort)
	o.trafficHost = "d1.bench.test"
	token := make([]byte, 16)
	rand.Read(token)
	tok := hex.EncodeToString(token)
	if err := os.WriteFile(filepath.Join(o.out, "token"), []byte(tok+"\n"), 0o600); err != nil {
		return err
	}
	cfgPath := filepath.Join(o.out, "edge.yaml")
	if err := writeConfig(cfgPath, o, httpPort, httpsPort, adminPort); err != nil {
		return err
	}

	logf, err := os.Create(filepath.Join(o.out, "edge.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(o.edge, "edge", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the edge: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer stopGroup(cmd.Process.Pid, exited)

	adm := &admin{base: "http://" + o.admAdr, token: tok, c: &http.Client{Timeout: 30 * time.Second}}
	if err := waitRedirect(ctx, o, exited); err != nil {
		return err
	}
	loadTime := time.Since(started)
	rssStart := rss(cmd.Process.Pid)

	status, body, err := adm.do("POST", "/api/apps", fmt.Sprintf(`{"name":"bench-api","domains":["api.bench.test"],"upstream":"http://127.0.0.1:%d","force_https":true}`, httpsPort))
	if err != nil || status != http.StatusCreated {
		return fmt.Errorf("creating the API app: %d %s %v", status, body, err)
	}
	// Warm up the paths the changes take, then measure the quiet load.
	for i := range 10 {
		if err := adm.change(i); err != nil {
			return err
		}
	}
	// /metrics is large at this size (series per app): it is read once
	// before the quiet load and once after the changes, so that neither
	// load run pays for a scrape.
	histBefore, err := adm.histogram("forcehttps_edge_apply_seconds")
	if err != nil {
		return err
	}
	quiet, err := loadRun(ctx, o, nil)
	if err != nil {
		return fmt.Errorf("load without changes: %w", err)
	}
	rssBefore := rss(cmd.Process.Pid)

	var times []time.Duration
	var changeErr error
	during, err := loadRun(ctx, o, func(ctx context.Context) {
		// Spread the changes over the load, leaving its first and last
		// half second quiet.
		span := o.duration - time.Second
		every := span / time.Duration(o.changes)
		next := time.Now().Add(500 * time.Millisecond)
		for i := range o.changes {
			if d := time.Until(next); d > 0 {
				select {
				case <-ctx.Done():
					changeErr = ctx.Err()
					return
				case <-time.After(d):
				}
			}
			next = next.Add(every)
			t0 := time.Now()
			if err := adm.change(10 + i); err != nil {
				changeErr = err
				return
			}
			times = append(times, time.Since(t0))
		}
	})
	if err != nil {
		return fmt.Errorf("load with changes: %w", err)
	}
	if changeErr != nil {
		return fmt.Errorf("changes: %w", changeErr)
	}
	rssAfter := rss(cmd.Process.Pid)
	histAfter, err := adm.histogram("forcehttps_edge_apply_seconds")
	if err != nil {
		return err
	}
	server := histAfter.minus(histBefore)

	slices.Sort(times)
	var sb strings.Builder
	host, _ := os.Hostname()
	load1, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&sb, "# One app change on a %d-domain edge\n\n", o.domains)
	fmt.Fprintf(&sb, "%d domains (%d per app, every one a redirect to HTTPS), %d changes through the admin API "+
		"(a domain added to an app created through the API, then removed), spread over %s of live traffic "+
		"to %s (plain HTTP, 301) from %s with %d connections. Machine: %s, %d CPUs, load average %s; the edge, the load "+
		"and this program share them.\n\n",
		o.domains, o.per, len(times), o.duration, o.trafficHost, o.load, o.conns, host, runtime.NumCPU(), strings.TrimSpace(string(load1)))
	fmt.Fprintf(&sb, "| what | value |\n|---|---|\n")
	fmt.Fprintf(&sb, "| edge start to first redirect | %s |\n", loadTime.Round(time.Millisecond))
	fmt.Fprintf(&sb, "| change, API answer time p50 / p99 / max | %s / %s / %s |\n", pct(times, 50), pct(times, 99), times[len(times)-1].Round(time.Microsecond))
	fmt.Fprintf(&sb, "| change, edge's work (apply_seconds) p50 / p99 / mean, by bucket | %s / %s / %s (%d changes) |\n",
		server.quantile(0.5), server.quantile(0.99), server.mean(), int(server.count))
	fmt.Fprintf(&sb, "| RSS at start / before the changes / after | %s / %s / %s |\n", mib(rssStart), mib(rssBefore), mib(rssAfter))
	fmt.Fprintf(&sb, "| live traffic without changes: p50 / p99, requests/s | %s / %s, %.0f |\n", quiet.p50, quiet.p99, quiet.rps)
	fmt.Fprintf(&sb, "| live traffic during the changes: p50 / p99, requests/s | %s / %s, %.0f |\n", during.p50, during.p99, during.rps)
	fmt.Fprintf(&sb, "| non-301 answers or errors (without / during) | %d / %d |\n", quiet.bad, during.bad)
	fmt.Fprintln(stdout, sb.String())
	if err := os.WriteFile(filepath.Join(o.out, "results.md"), []byte(sb.String()), 0o644); err != nil {
		return err
	}
	if quiet.bad > 0 || during.bad > 0 {
		return fmt.Errorf("%d and %d answers were not the expected 301", quiet.bad, during.bad)
	}
	return nil
}

// writeConfig writes the edge's configuration: o.domains domains
// dN.bench.test, o.per to an app, all redirected to HTTPS.
func writeConfig(path string, o options, httpPort, httpsPort, adminPort int) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, `listen: {http: "127.0.0.1:%d", https: "127.0.0.1:%d"}
admin: {listen: "127.0.0.1:%d", token_file: token, state_file: state.json}
tls: {self_signed: [localhost, "*.bench.test"]}
access_log: {output: "off"}
apps:
`, httpPort, httpsPort, adminPort)
	for i := 0; i < o.domains; i += o.per {
		fmt.Fprintf(&b, "  - {name: app%d, upstream: \"http://127.0.0.1:%d\", domains: [", i/o.per, httpsPort)
		for j := i; j < min(i+o.per, o.domains); j++ {
			if j > i {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "d%d.bench.test", j)
		}
		b.WriteString("]}\n")
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// waitRedirect waits until the edge redirects the traffic's host.
func waitRedirect(ctx context.Context, o options, exited <-chan struct{}) error {
	c := noRedirects(1)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+o.httpAddr+"/", nil)
		req.Host = o.trafficHost
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusMovedPermanently {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the edge did not answer: %w", ctx.Err())
		case <-exited:
			return errors.New("the edge exited: see edge.log")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func noRedirects(conns int) *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{MaxIdleConnsPerHost: conns, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// stopGroup stops the edge's process group: SIGTERM, then SIGKILL after
// 10 s.
func stopGroup(pid int, exited <-chan struct{}) {
	syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
}

// admin is a client of the edge's admin API.
type admin struct {
	base, token string
	c           *http.Client
}

func (a *admin) do(method, path, body string) (int, string, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.base+path, r)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	// /metrics has series for every app: tens of MiB at 10 000 apps.
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 512<<20))
	return resp.StatusCode, string(data), nil
}

// change i adds domain cN.bench.test (even i) or removes the one the
// previous change added (odd i).
func (a *admin) change(i int) error {
	d := fmt.Sprintf("c%d.bench.test", i-i%2)
	var status int
	var body string
	var err error
	if i%2 == 0 {
		status, body, err = a.do("POST", "/api/apps/bench-api/domains", `{"domain":"`+d+`"}`)
	} else {
		status, body, err = a.do("DELETE", "/api/apps/bench-api/domains/"+d, "")
	}
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("change %d (%s): %d %s %v", i, d, status, strings.TrimSpace(body), err)
	}
	return nil
}

func (a *admin) metrics() (string, error) {
	status, body, err := a.do("GET", "/metrics", "")
	if err != nil || status != 200 {
		return "", fmt.Errorf("/metrics: %d %v", status, err)
	}
	return body, nil
}

// histogram is a Prometheus histogram: cumulative counts by upper bound.
type histogram struct {
	bounds []float64
	counts []float64
	sum    float64
	count  float64
}

var bucketLine = regexp.MustCompile(`^(\w+)_bucket\{le="([^"]+)"\} (\S+)$`)

func (a *admin) histogram(name string) (histogram, error) {
	var h histogram
	body, err := a.metrics()
	if err != nil {
		return h, err
	}
	for line := range strings.Lines(body) {
		line = strings.TrimSpace(line)
		if m := bucketLine.FindStringSubmatch(line); m != nil && m[1] == name {
			le, _ := strconv.ParseFloat(m[2], 64)
			n, _ := strconv.ParseFloat(m[3], 64)
			h.bounds, h.counts = append(h.bounds, le), append(h.counts, n)
		} else if rest, ok := strings.CutPrefix(line, name+"_sum "); ok {
			h.sum, _ = strconv.ParseFloat(rest, 64)
		} else if rest, ok := strings.CutPrefix(line, name+"_count "); ok {
			h.count, _ = strconv.ParseFloat(rest, 64)
		}
	}
	if len(h.bounds) == 0 {
		return h, fmt.Errorf("no histogram %s in /metrics", name)
	}
	return h, nil
}

func (h histogram) minus(o histogram) histogram {
	out := histogram{bounds: h.bounds, counts: slices.Clone(h.counts), sum: h.sum - o.sum, count: h.count - o.count}
	for i := range out.counts {
		if i < len(o.counts) {
			out.counts[i] -= o.counts[i]
		}
	}
	return out
}

// quantile estimates a quantile by linear interpolation in its bucket,
// as Prometheus's histogram_quantile does.
func (h histogram) quantile(q float64) string {
	if h.count == 0 {
		return "-"
	}
	rank := q * h.count
	lower, below := 0.0, 0.0
	for i, b := range h.bounds {
		if h.counts[i] >= rank {
			if math.IsInf(b, 1) {
				return fmt.Sprintf("> %s", secs(lower))
			}
			in := h.counts[i] - below
			frac := 1.0
			if in > 0 {
				frac = (rank - below) / in
			}
			return secs(lower + (b-lower)*frac)
		}
		lower, below = b, h.counts[i]
	}
	return "-"
}

func (h histogram) mean() string {
	if h.count == 0 {
		return "-"
	}
	return secs(h.sum / h.count)
}

func secs(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Microsecond).String()
}

// result is one load run's latency.
type result struct {
	p50, p99 string
	rps      float64
	bad      int
}

// loadRun runs the load for o.duration, and during runs alongside it
// when not nil (it must return by the end of the load).
func loadRun(ctx context.Context, o options, during func(context.Context)) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, o.duration+30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	if during != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			during(ctx)
		}()
	}
	var r result
	var err error
	if o.load == "wrk" {
		r, err = wrk(ctx, o)
	} else {
		r, err = goLoad(ctx, o)
	}
	wg.Wait()
	return r, err
}

var (
	wrkPct  = regexp.MustCompile(`(?m)^\s+(50|99)%\s+(\S+)`)
	wrkRPS  = regexp.MustCompile(`(?m)^Requests/sec:\s+(\S+)`)
	wrkBad  = regexp.MustCompile(`(?m)Non-2xx or 3xx responses:\s+(\d+)`)
	wrkErrs = regexp.MustCompile(`(?m)Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// wrk runs wrk against the traffic's host. wrk counts 3xx as good; the
// status is checked by the Go loop.
func wrk(ctx context.Context, o options) (result, error) {
	secs := strconv.Itoa(int(o.duration / time.Second))
	cmd := exec.CommandContext(ctx, "wrk", "-t", strconv.Itoa(o.wrkThreads), "-c", strconv.Itoa(o.conns), "-d", secs+"s",
		"--latency", "-H", "Host: "+o.trafficHost, "http://"+o.httpAddr+"/")
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %w", err)
	}
	var r result
	for _, m := range wrkPct.FindAllStringSubmatch(string(out), -1) {
		if m[1] == "50" {
			r.p50 = m[2]
		} else {
			r.p99 = m[2]
		}
	}
	if m := wrkRPS.FindStringSubmatch(string(out)); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := wrkBad.FindStringSubmatch(string(out)); m != nil {
		r.bad, _ = strconv.Atoi(m[1])
	}
	if m := wrkErrs.FindStringSubmatch(string(out)); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.bad += n
		}
	}
	if r.p99 == "" {
		return r, fmt.Errorf("wrk printed no latency distribution:\n%s", out)
	}
	return r, nil
}

// goLoad keeps o.conns keep-alive connections busy with requests to the
// traffic's host for o.duration, and counts every answer that is not a
// 301.
func goLoad(ctx context.Context, o options) (result, error) {
	c := noRedirects(o.conns)
	defer c.CloseIdleConnections()
	end := time.Now().Add(o.duration)
	var mu sync.Mutex
	var all []time.Duration
	bad := 0
	var wg sync.WaitGroup
	for range o.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			nbad := 0
			for time.Now().Before(end) && ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+o.httpAddr+"/", nil)
				req.Host = o.trafficHost
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					nbad++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mine = append(mine, time.Since(t0))
				if resp.StatusCode != http.StatusMovedPermanently {
					nbad++
				}
			}
			mu.Lock()
			all = append(all, mine...)
			bad += nbad
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(all) == 0 {
		return result{}, errors.New("no request answered")
	}
	slices.Sort(all)
	return result{p50: pct(all, 50), p99: pct(all, 99), rps: float64(len(all)) / o.duration.Seconds(), bad: bad}, nil
}

func pct(sorted []time.Duration, p int) string {
	i := (len(sorted)*p + 99) / 100
	i = max(0, min(len(sorted)-1, i-1))
	return sorted[i].Round(time.Microsecond).String()
}

// rss returns the resident memory of pid, in bytes, or -1.
func rss(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return -1
}

func mib(n int64) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

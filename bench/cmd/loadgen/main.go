// Command loadgen drives the benchmark scenarios that wrk cannot: TLS full
// handshakes with no session resumption, many idle keep-alive TLS
// connections, latency at a fixed request rate, and waiting for a
// server's first good answer.
//
//	loadgen handshake -connect 127.0.0.1:28443 -host bench.test -path /health -c 16 -d 10s
//	loadgen idle      -connect 127.0.0.1:28443 -host bench.test -path /health -n 10000 -ready FILE
//	loadgen rate      -connect 127.0.0.1:28080 -host bench.test -path / -rate 10000 -c 64 -d 10s -status 301
//	loadgen wait      -connect 127.0.0.1:28080 -url http://bench.test/ -status 301 -since NANOS
//
// Every mode connects only to the -connect address, which must be a
// loopback IP, and sends the -host name as SNI and Host header, so the
// servers see a real domain name without any name resolution. Every mode
// is bounded in time.
//
// # handshake
//
// Each request opens a new TCP connection, does a full TLS handshake,
// sends one HTTP/1.1 request with "Connection: close", reads the answer to
// the end and closes. The client keeps no session cache, so it never
// offers a session ticket or PSK: every handshake is a full one, with a
// fresh key exchange and a certificate signature by the server. Only
// X25519 is offered, the group every server under test prefers, so that
// no server pays for a post-quantum hybrid that another is not offered.
// It prints "key value" lines: requests, errors, seconds, rps, p50_us,
// p99_us, tls (version and suite of the last handshake).
//
// # idle
//
// Opens -n TLS connections, -c at a time, does one keep-alive request on
// each so that the handshake and the server's per-connection state are
// complete, and keeps them all open and idle. Then it writes the counts to
// the -ready file and holds the connections until that file is removed,
// -hold passes, or it is signalled. It checks every connection before
// writing the file and at the end, and reports how many the server had
// closed, since a server that drops idle connections would make its memory
// look smaller.
//
// # rate
//
// An open-loop load: request i is due at start + i/rate, whether or not
// the answers to the earlier ones have come. Each of -c keep-alive
// connections (plain TCP, or TLS when -cacert is given) has at most one
// request in flight: it takes the next index from a shared counter,
// waits for that request's due time if it is still ahead, sends it and
// reads the whole answer (Content-Length framing; a chunked or
// close-delimited answer, or another status than -status, is an error,
// and after a framing error the connection is dialled again). Latency
// runs from the due time, not from the send, so that when a stall of the
// server leaves every connection busy, the requests that wait for one
// count that wait (the coordinated-omission correction of wrk2).
//
// Every request due before -d is sent; the run then waits up to -grace
// for the answers still missing, and counts a request with none as an
// error ("unanswered"), so requests + errors = scheduled = ⌈rate × d⌉.
// It prints "key value" lines: scheduled, requests, errors, unanswered,
// seconds, rps (achieved), rate (asked), p50_us, p90_us, p99_us, p999_us,
// max_us, and late_p99_us, the 99th percentile of how late a request was
// sent when its connection was free before its due time: the
// generator's own error, which should stay far below the latencies it
// reports. Below 97 % of the asked rate it prints a warning line, and
// exits 1 only with -strict.
//
// # wait
//
// Sends a request every 10 ms until the answer has the wanted status,
// then prints the seconds elapsed since -since (Unix nanoseconds, the
// moment the server was started): the server's load time.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: loadgen handshake|idle|rate|wait [flags]")
		return 2
	}
	switch args[0] {
	case "handshake":
		return runHandshake(ctx, args[1:], stdout, stderr)
	case "idle":
		return runIdle(ctx, args[1:], stdout, stderr)
	case "rate":
		return runRate(ctx, args[1:], stdout, stderr)
	case "wait":
		return runWait(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "loadgen: unknown mode %q (want handshake, idle, rate or wait)\n", args[0])
		return 2
	}
}

// target is where and how a mode connects.
type target struct {
	connect string // loopback host:port that every connection goes to
	host    string // SNI and Host header
	path    string // request path
	tls     *tls.Config
}

// addTargetFlags declares the flags shared by handshake and idle.
func addTargetFlags(fs *flag.FlagSet) (connect, host, path, cacert, version *string) {
	connect = fs.String("connect", "", "loopback `host:port` to connect to (required)")
	host = fs.String("host", "bench.test", "`name` sent as SNI and Host header")
	path = fs.String("path", "/", "request `path`")
	cacert = fs.String("cacert", "", "PEM `file` with the certificate to trust (required)")
	version = fs.String("tls", "1.3", "TLS `version`: 1.2 or 1.3")
	return
}

func newTarget(connect, host, path, cacert, version string) (*target, error) {
	if err := checkLoopback(connect); err != nil {
		return nil, err
	}
	if cacert == "" {
		return nil, errors.New("-cacert is required")
	}
	pem, err := os.ReadFile(cacert)
	if err != nil {
		return nil, fmt.Errorf("reading -cacert: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("-cacert %q: no PEM certificate", cacert)
	}
	var v uint16
	switch version {
	case "1.2":
		v = tls.VersionTLS12
	case "1.3":
		v = tls.VersionTLS13
	default:
		return nil, fmt.Errorf("-tls %q: want 1.2 or 1.3", version)
	}
	return &target{
		connect: connect,
		host:    host,
		path:    path,
		tls: &tls.Config{
			ServerName: host,
			RootCAs:    roots,
			MinVersion: v,
			MaxVersion: v,
			// No ClientSessionCache: never resume, every handshake is full.
			CurvePreferences: []tls.CurveID{tls.X25519},
			NextProtos:       []string{"http/1.1"},
		},
	}, nil
}

// dial opens a TLS connection and completes the handshake.
func (t *target) dial(ctx context.Context) (*tls.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", t.connect)
	if err != nil {
		return nil, err
	}
	c := tls.Client(raw, t.tls)
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.HandshakeContext(hctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	return c, nil
}

// request writes one GET and reads its answer, body included, within the
// deadline. It returns the status code.
func (t *target) request(c net.Conn, br *bufio.Reader, closeConn bool, deadline time.Time) (int, error) {
	if err := c.SetDeadline(deadline); err != nil {
		return 0, err
	}
	conn := ""
	if closeConn {
		conn = "Connection: close\r\n"
	}
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: loadgen\r\n%s\r\n", t.path, t.host, conn); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, c.SetDeadline(time.Time{})
}

func runHandshake(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("handshake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connect, host, path, cacert, version := addTargetFlags(fs)
	conns := fs.Int("c", 16, "concurrent `connections`")
	duration := fs.Duration("d", 10*time.Second, "how long to run (at most 10m)")
	maxRequests := fs.Int("n", 10_000_000, "stop after this many `requests`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *conns < 1 || *duration <= 0 || *duration > 10*time.Minute || *maxRequests < 1 {
		fmt.Fprintln(stderr, "loadgen handshake: -c, -d and -n must be positive, -d at most 10m")
		return 2
	}
	t, err := newTarget(*connect, *host, *path, *cacert, *version)
	if err != nil {
		fmt.Fprintf(stderr, "loadgen handshake: %v\n", err)
		return 2
	}

	start := time.Now()
	end := start.Add(*duration)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	var (
		issued   atomic.Int64
		failures atomic.Int64
		firstErr atomic.Pointer[string]
		state    atomic.Pointer[tls.ConnectionState]
		mu       sync.Mutex
		all      []time.Duration
		wg       sync.WaitGroup
	)
	for range *conns {
		wg.Go(func() {
			var lat []time.Duration
			for time.Now().Before(end) && ctx.Err() == nil && issued.Add(1) <= int64(*maxRequests) {
				t0 := time.Now()
				if err := handshakeOnce(ctx, t, &state); err != nil {
					// A connection cut short by the end of the run is not an
					// error of the server's. The clock is checked, not ctx,
					// whose timer may fire a moment after the dial gave up.
					if time.Now().Before(end) && ctx.Err() == nil {
						failures.Add(1)
						msg := err.Error()
						firstErr.CompareAndSwap(nil, &msg)
					}
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	slices.Sort(all)
	fmt.Fprintf(stdout, "requests %d\n", len(all))
	fmt.Fprintf(stdout, "errors %d\n", failures.Load())
	fmt.Fprintf(stdout, "seconds %.3f\n", elapsed.Seconds())
	fmt.Fprintf(stdout, "rps %.1f\n", float64(len(all))/elapsed.Seconds())
	fmt.Fprintf(stdout, "p50_us %d\n", percentile(all, 50).Microseconds())
	fmt.Fprintf(stdout, "p99_us %d\n", percentile(all, 99).Microseconds())
	if cs := state.Load(); cs != nil {
		fmt.Fprintf(stdout, "tls %s %s resumed=%t\n", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), cs.DidResume)
	}
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(stderr, "loadgen handshake: first error: %s\n", *e)
	}
	if len(all) == 0 {
		fmt.Fprintln(stderr, "loadgen handshake: no request succeeded")
		return 1
	}
	return 0
}

// handshakeOnce does one full connection: dial, handshake, one request
// with Connection: close, read to the end of the stream, close.
func handshakeOnce(ctx context.Context, t *target, state *atomic.Pointer[tls.ConnectionState]) error {
	c, err := t.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	br := bufio.NewReader(c)
	status, err := t.request(c, br, true, time.Now().Add(10*time.Second))
	if err != nil {
		return err
	}
	if status >= 400 {
		return fmt.Errorf("status %d", status)
	}
	// Let the server close first, as it was asked to, so that the TIME_WAIT
	// state stays on its side and the client's ports are not exhausted.
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, _ = io.Copy(io.Discard, br)
	cs := c.ConnectionState()
	state.Store(&cs)
	return nil
}

// percentile returns the p-th percentile of sorted durations (nearest
// rank), or 0 for none.
func percentile(sorted []time.Duration, p int) time.Duration {
	return perMille(sorted, 10*p)
}

// perMille returns the pm-th per-mille of sorted durations (nearest
// rank: the smallest value with at least pm/1000 of them at or below
// it), or 0 for none. perMille(s, 999) is the 99.9th percentile.
func perMille(sorted []time.Duration, pm int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*pm + 999) / 1000
	if i < 1 {
		i = 1
	}
	return sorted[i-1]
}

func runIdle(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connect, host, path, cacert, version := addTargetFlags(fs)
	n := fs.Int("n", 10_000, "idle `connections` to open")
	parallel := fs.Int("c", 32, "connections opened in `parallel`")
	ready := fs.String("ready", "", "`file` written when every connection is open; removing it ends the hold (required)")
	hold := fs.Duration("hold", 2*time.Minute, "longest time to keep the connections (at most 10m)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *n < 1 || *parallel < 1 || *ready == "" || *hold <= 0 || *hold > 10*time.Minute {
		fmt.Fprintln(stderr, "loadgen idle: -n, -c and -hold must be positive, -hold at most 10m, -ready is required")
		return 2
	}
	t, err := newTarget(*connect, *host, *path, *cacert, *version)
	if err != nil {
		fmt.Fprintf(stderr, "loadgen idle: %v\n", err)
		return 2
	}

	var (
		next     atomic.Int64
		failures atomic.Int64
		mu       sync.Mutex
		open     []*tls.Conn
		firstErr atomic.Pointer[string]
		wg       sync.WaitGroup
	)
	for range *parallel {
		wg.Go(func() {
			for ctx.Err() == nil && next.Add(1) <= int64(*n) {
				c, err := openIdle(ctx, t)
				if err != nil {
					failures.Add(1)
					msg := err.Error()
					firstErr.CompareAndSwap(nil, &msg)
					continue
				}
				mu.Lock()
				open = append(open, c)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		closeAll(open)
		return 1
	}
	// Give the server a moment to settle after the last request, so that
	// the memory it reports is the idle state.
	time.Sleep(time.Second)
	open, closedBefore := probe(open)
	summary := fmt.Sprintf("open %d\nfailed %d\nclosed_by_server %d\n", len(open), failures.Load(), closedBefore)
	if err := writeAtomic(*ready, summary); err != nil {
		fmt.Fprintf(stderr, "loadgen idle: %v\n", err)
		closeAll(open)
		return 1
	}

	timer := time.NewTimer(*hold)
	defer timer.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case <-timer.C:
			break wait
		case <-tick.C:
			if _, err := os.Stat(*ready); errors.Is(err, os.ErrNotExist) {
				break wait
			}
		}
	}
	held := len(open)
	open, closedDuring := probe(open)
	closeAll(open)

	fmt.Fprintf(stdout, "%sclosed_during_hold %d\n", summary, closedDuring)
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(stderr, "loadgen idle: first error: %s\n", *e)
	}
	if held == 0 {
		return 1
	}
	return 0
}

// openIdle opens one connection and completes one keep-alive request on
// it.
func openIdle(ctx context.Context, t *target) (*tls.Conn, error) {
	c, err := t.dial(ctx)
	if err != nil {
		return nil, err
	}
	// The response is read through a buffer that is then dropped: with
	// Content-Length and no pipelining nothing is left in it.
	status, err := t.request(c, bufio.NewReaderSize(c, 4096), false, time.Now().Add(10*time.Second))
	if err != nil {
		c.Close()
		return nil, err
	}
	if status >= 400 {
		c.Close()
		return nil, fmt.Errorf("status %d", status)
	}
	return c, nil
}

// probe returns the connections the server has kept open and the number
// it closed. Every connection gets the same read deadline, so the probe
// takes 200 ms however many there are: an idle connection times out, one
// the server closed returns its close_notify or EOF, and one the server
// wrote to breaks the protocol. A timeout does not break a TLS
// connection; the others are closed here.
func probe(conns []*tls.Conn) (alive []*tls.Conn, closed int) {
	deadline := time.Now().Add(200 * time.Millisecond)
	for _, c := range conns {
		_ = c.SetReadDeadline(deadline)
	}
	var b [1]byte
	for _, c := range conns {
		_, err := c.Read(b[:])
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			_ = c.SetReadDeadline(time.Time{})
			alive = append(alive, c)
			continue
		}
		c.Close()
		closed++
	}
	return alive, closed
}

func closeAll(conns []*tls.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

func writeAtomic(name, content string) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

func runWait(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wait", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connect := fs.String("connect", "", "loopback `host:port` to connect to (required)")
	rawURL := fs.String("url", "", "`URL` to request; its host is sent as SNI and Host (required)")
	status := fs.Int("status", 200, "wanted `status`")
	cacert := fs.String("cacert", "", "PEM `file` with the certificate to trust (https)")
	since := fs.Int64("since", 0, "Unix `nanoseconds` to measure from (default: now)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long (at most 10m)")
	pid := fs.Int("pid", 0, "give up as soon as the process with this `pid` (the server) has exited")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := checkLoopback(*connect); err != nil {
		fmt.Fprintf(stderr, "loadgen wait: %v\n", err)
		return 2
	}
	u, err := url.Parse(*rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		fmt.Fprintf(stderr, "loadgen wait: -url %q: want an http or https URL\n", *rawURL)
		return 2
	}
	if *timeout <= 0 || *timeout > 10*time.Minute {
		fmt.Fprintln(stderr, "loadgen wait: -timeout must be positive and at most 10m")
		return 2
	}
	from := time.Now()
	if *since != 0 {
		from = time.Unix(0, *since)
	}
	tlsConf := &tls.Config{ServerName: u.Hostname(), CurvePreferences: []tls.CurveID{tls.X25519}}
	if *cacert != "" {
		pem, err := os.ReadFile(*cacert)
		if err != nil {
			fmt.Fprintf(stderr, "loadgen wait: %v\n", err)
			return 2
		}
		tlsConf.RootCAs = x509.NewCertPool()
		tlsConf.RootCAs.AppendCertsFromPEM(pem)
	}
	dialer := &net.Dialer{Timeout: time.Second}
	client := &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, "tcp", *connect)
			},
			TLSClientConfig:   tlsConf,
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       5 * time.Second,
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			fmt.Fprintf(stderr, "loadgen wait: %v\n", err)
			return 2
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == *status {
				fmt.Fprintf(stdout, "%.3f\n", time.Since(from).Seconds())
				return 0
			}
			last = fmt.Sprintf("status %d", resp.StatusCode)
		} else {
			last = err.Error()
		}
		if *pid > 0 && !running(*pid) {
			fmt.Fprintf(stderr, "loadgen wait: %s: process %d exited; last: %s\n", u, *pid, last)
			return 1
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(stderr, "loadgen wait: %s: no %d after %v: %s\n", u, *status, *timeout, last)
			return 1
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// running reports whether process pid exists and is not a zombie (one
// that exited but was not yet waited for by its parent).
func running(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may
	// itself contain spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z'
}

// checkLoopback refuses any address that is not a loopback IP and port:
// the benchmarks never leave the machine.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q: not a loopback IP address", addr)
	}
	return nil
}

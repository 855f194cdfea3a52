package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// kernelTimerRate is the highest rate at which -timer auto waits with a
// timerfd. Above it the timerfd's system calls per request make the
// generator itself the bottleneck on one core, and it waits with the
// runtime's timers instead, which cost no system call but may be late
// by up to a millisecond.
const kernelTimerRate = 10_000

// maxScheduled bounds -rate × -d: the run keeps two durations per
// scheduled request, 16 bytes each.
const maxScheduled = 20_000_000

// Response framing errors. After one the connection is closed and dialled
// again, since where the next response starts is unknown.
var (
	errMalformed   = errors.New("malformed response head")
	errHeadTooLong = errors.New("response head line too long")
	errChunked     = errors.New("response with Transfer-Encoding (chunked)")
	errNoLength    = errors.New("response without Content-Length")
)

// rateRun is one open-loop run: the schedule, what every request came
// to, and the connections in use.
type rateRun struct {
	t      *target
	req    []byte // the request, the same every time
	status int    // the wanted status
	rate   int64  // requests per second
	n      int64  // requests scheduled: every one due before the end
	start  time.Time
	hard   time.Duration // from start: nothing is sent or awaited after this

	next atomic.Int64 // index of the next request to send

	// lat[i] is request i's latency from its due time; 0 when it got no
	// answer before the hard end, latError when it failed. late[i] is
	// how late request i was sent, for one whose connection was free
	// before it was due; -1 for one that waited for a connection. Each
	// index is written by the one goroutine that took it.
	lat  []time.Duration
	late []time.Duration

	stopped  atomic.Bool
	firstErr atomic.Pointer[string]

	mu    sync.Mutex
	conns []net.Conn // the connection of each goroutine, nil between dials
}

const latError time.Duration = -1

// due returns when request i is due, from the start.
func (r *rateRun) due(i int64) time.Duration {
	return time.Duration(i * int64(time.Second) / r.rate)
}

// scheduled returns how many requests are due before d at rate per
// second: request i is due at i/rate, so every i with i/rate < d.
func scheduled(rate int64, d time.Duration) int64 {
	if rate <= 0 || d <= 0 {
		return 0
	}
	// ceil(rate × d / 1 s); the flags bound the product well below 2⁶³.
	return (rate*int64(d) + int64(time.Second) - 1) / int64(time.Second)
}

func runRate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connect, host, path, cacert, version := addTargetFlags(fs)
	fs.Lookup("cacert").Usage = "PEM `file` with the certificate to trust; given, the requests go over TLS"
	rate := fs.Int64("rate", 10_000, "requests per `second`, fixed")
	conns := fs.Int("c", 64, "`connections`, each with at most one request in flight")
	duration := fs.Duration("d", 10*time.Second, "how long requests are scheduled (at most 10m)")
	grace := fs.Duration("grace", 2*time.Second, "how long to wait for the last answers after -d (at most 1m)")
	status := fs.Int("status", 200, "wanted `status`; any other is an error")
	strict := fs.Bool("strict", false, "exit 1 when the achieved rate is below 97% of -rate")
	timer := fs.String("timer", "auto", "how to wait for a request's time: kernel (a timerfd per connection), runtime (time.Sleep) or auto (kernel up to 10000 req/s)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case *rate < 1 || *rate > 10_000_000:
		fmt.Fprintln(stderr, "loadgen rate: -rate must be from 1 to 10000000")
		return 2
	case *conns < 1 || *conns > 10_000:
		fmt.Fprintln(stderr, "loadgen rate: -c must be from 1 to 10000")
		return 2
	case *duration <= 0 || *duration > 10*time.Minute || *grace <= 0 || *grace > time.Minute:
		fmt.Fprintln(stderr, "loadgen rate: -d must be positive and at most 10m, -grace positive and at most 1m")
		return 2
	case scheduled(*rate, *duration) > maxScheduled:
		fmt.Fprintf(stderr, "loadgen rate: -rate × -d is %d requests, more than %d\n", scheduled(*rate, *duration), maxScheduled)
		return 2
	case *timer != "auto" && *timer != "kernel" && *timer != "runtime":
		fmt.Fprintf(stderr, "loadgen rate: -timer %q: want auto, kernel or runtime\n", *timer)
		return 2
	case *status < 100 || *status > 599:
		fmt.Fprintln(stderr, "loadgen rate: -status must be from 100 to 599")
		return 2
	}
	var t *target
	if *cacert == "" {
		if err := checkLoopback(*connect); err != nil {
			fmt.Fprintf(stderr, "loadgen rate: %v\n", err)
			return 2
		}
		t = &target{connect: *connect, host: *host, path: *path}
	} else {
		var err error
		if t, err = newTarget(*connect, *host, *path, *cacert, *version); err != nil {
			fmt.Fprintf(stderr, "loadgen rate: %v\n", err)
			return 2
		}
	}

	n := scheduled(*rate, *duration)
	r := &rateRun{
		t:      t,
		req:    []byte("GET " + t.path + " HTTP/1.1\r\nHost: " + t.host + "\r\n\r\n"),
		status: *status,
		rate:   *rate,
		n:      n,
		hard:   *duration + *grace,
		lat:    make([]time.Duration, n),
		late:   make([]time.Duration, n),
		conns:  make([]net.Conn, *conns),
	}
	for i := range r.late {
		r.late[i] = -1
	}

	waiters := make([]*waiter, *conns)
	for i := range waiters {
		if *timer == "runtime" || (*timer == "auto" && *rate > kernelTimerRate) {
			break // time.Sleep
		}
		w, err := newWaiter()
		if err != nil {
			fmt.Fprintf(stderr, "loadgen rate: %v\n", err)
			return 1
		}
		defer w.close()
		waiters[i] = w
	}
	// Every connection is open before the clock starts, so that the first
	// requests do not pay for the dials.
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	for i := range r.conns {
		c, err := t.open(dctx)
		if err != nil {
			cancel()
			r.closeAll()
			fmt.Fprintf(stderr, "loadgen rate: connecting: %v\n", err)
			return 1
		}
		r.conns[i] = c
	}
	cancel()

	r.start = time.Now()
	end := r.start.Add(r.hard)
	for _, c := range r.conns {
		_ = c.SetDeadline(end)
	}
	ctx, cancel = context.WithDeadline(ctx, end)
	defer cancel()
	// At the hard end or on a signal: nothing more is sent, and every
	// wait for an answer ends now.
	stop := context.AfterFunc(ctx, func() {
		r.stopped.Store(true)
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, c := range r.conns {
			if c != nil {
				_ = c.SetDeadline(time.Unix(1, 0))
			}
		}
	})
	defer stop()

	var wg sync.WaitGroup
	for slot, c := range r.conns {
		wg.Go(func() { r.work(ctx, slot, c, waiters[slot]) })
	}
	wg.Wait()
	elapsed := time.Since(r.start)
	r.closeAll()

	return r.report(stdout, stderr, elapsed, *strict, ctx.Err() != nil && time.Now().Before(end))
}

// open dials the target and, when it has a TLS configuration, completes
// the handshake.
func (t *target) open(ctx context.Context) (net.Conn, error) {
	if t.tls != nil {
		c, err := t.dial(ctx)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", t.connect)
}

// work sends requests on one connection, one at a time, taking the next
// index from the shared counter until every scheduled request is taken
// or the run is stopped. A request taken before it is due waits for its
// time; one taken after waited for a free connection, and that wait
// counts in its latency, since latency runs from the due time.
func (r *rateRun) work(ctx context.Context, slot int, c net.Conn, w *waiter) {
	br := bufio.NewReaderSize(c, 16<<10)
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for !r.stopped.Load() {
		i := r.next.Add(1) - 1
		if i >= r.n {
			return
		}
		due := r.due(i)
		if now := time.Since(r.start); now < due {
			if w != nil {
				w.sleep(due - now)
			} else {
				time.Sleep(due - now)
			}
			r.late[i] = time.Since(r.start) - due
		}
		if c == nil {
			var err error
			if c, err = r.redial(ctx, slot); err != nil {
				if r.stopped.Load() {
					return
				}
				r.fail(i, err)
				continue
			}
			br.Reset(c)
		}
		status, closeAfter, err := r.roundTrip(c, br)
		done := time.Since(r.start)
		if err != nil {
			if done >= r.hard || r.stopped.Load() {
				return // cut off by the end: request i stays unanswered
			}
			r.fail(i, err)
			r.forget(slot)
			c.Close()
			c = nil
			continue
		}
		if status != r.status {
			r.fail(i, wrongStatus(status))
		} else {
			r.lat[i] = max(done-due, 1)
		}
		if closeAfter {
			r.forget(slot)
			c.Close()
			c = nil
		}
	}
}

// wrongStatus is the error for an answer with another status than the
// wanted one; the connection stays usable.
type wrongStatus int

func (s wrongStatus) Error() string { return "status " + strconv.Itoa(int(s)) }

// fail records request i as failed, and the first error for the report.
func (r *rateRun) fail(i int64, err error) {
	r.lat[i] = latError
	if r.firstErr.Load() == nil {
		msg := fmt.Sprintf("request %d: %v", i, err)
		r.firstErr.CompareAndSwap(nil, &msg)
	}
}

// redial opens a new connection for a slot, with the run's deadline.
func (r *rateRun) redial(ctx context.Context, slot int) (net.Conn, error) {
	c, err := r.t.open(ctx)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(r.start.Add(r.hard))
	r.mu.Lock()
	r.conns[slot] = c
	r.mu.Unlock()
	if r.stopped.Load() {
		// The stop may have run before the connection was listed.
		_ = c.SetDeadline(time.Unix(1, 0))
	}
	return c, nil
}

// forget unlists a slot's connection before it is closed.
func (r *rateRun) forget(slot int) {
	r.mu.Lock()
	r.conns[slot] = nil
	r.mu.Unlock()
}

func (r *rateRun) closeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, c := range r.conns {
		if c != nil {
			c.Close()
			r.conns[i] = nil
		}
	}
}

// roundTrip writes the request and reads the whole response.
func (r *rateRun) roundTrip(c net.Conn, br *bufio.Reader) (status int, closeAfter bool, err error) {
	if _, err := c.Write(r.req); err != nil {
		return 0, false, err
	}
	return readResponse(br)
}

// readResponse reads one HTTP/1.x response to a GET, body included, and
// returns its status and whether the server closes the connection after
// it. The body must be framed by Content-Length (204 and 304 have
// none); a chunked or close-delimited body is an error, as is any
// malformed head. It does not allocate.
func readResponse(br *bufio.Reader) (status int, closeAfter bool, err error) {
	line, err := readLine(br)
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 301" and, optionally, a space and a reason.
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || (line[7] != '0' && line[7] != '1') ||
		line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return 0, false, errMalformed
	}
	for _, b := range line[9:12] {
		if b < '0' || b > '9' {
			return 0, false, errMalformed
		}
		status = status*10 + int(b-'0')
	}
	if status < 100 {
		return 0, false, errMalformed
	}
	closeAfter = line[7] == '0' // HTTP/1.0: no keep-alive asked for, none assumed
	length := int64(-1)
	for {
		line, err := readLine(br)
		if err != nil {
			return 0, false, err
		}
		if len(line) == 0 {
			break
		}
		colon := -1
		for j, b := range line {
			if b == ':' {
				colon = j
				break
			}
		}
		if colon <= 0 {
			return 0, false, errMalformed
		}
		name, value := line[:colon], trimSpace(line[colon+1:])
		switch {
		case equalFold(name, "content-length"):
			v, ok := parseLength(value)
			if !ok || (length >= 0 && v != length) {
				return 0, false, errMalformed
			}
			length = v
		case equalFold(name, "transfer-encoding"):
			return 0, false, errChunked
		case equalFold(name, "connection"):
			if equalFold(value, "close") {
				closeAfter = true
			}
		}
	}
	if length < 0 {
		if status == 204 || status == 304 {
			return status, closeAfter, nil
		}
		return 0, false, errNoLength
	}
	if _, err := br.Discard(int(length)); err != nil {
		return 0, false, err
	}
	return status, closeAfter, nil
}

// readLine returns the next line without its line ending. The line is
// only valid until the next read.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, errHeadTooLong
	}
	if err == io.EOF && len(line) > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold reports whether b is s, ignoring ASCII case; s is lower case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// parseLength parses a Content-Length value: digits only, at most 1 GiB.
func parseLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, v <= 1<<30
}

// report prints the results and returns the exit code.
func (r *rateRun) report(stdout, stderr io.Writer, elapsed time.Duration, strict, interrupted bool) int {
	var good []time.Duration
	var failed, unanswered int64
	for _, l := range r.lat {
		switch {
		case l > 0:
			good = append(good, l)
		case l == latError:
			failed++
		default:
			unanswered++
		}
	}
	var late []time.Duration
	for _, l := range r.late {
		if l >= 0 {
			late = append(late, l)
		}
	}
	slices.Sort(good)
	slices.Sort(late)
	rps := float64(len(good)) / elapsed.Seconds()
	fmt.Fprintf(stdout, "scheduled %d\n", r.n)
	fmt.Fprintf(stdout, "requests %d\n", len(good))
	fmt.Fprintf(stdout, "errors %d\n", failed+unanswered)
	fmt.Fprintf(stdout, "unanswered %d\n", unanswered)
	fmt.Fprintf(stdout, "seconds %.3f\n", elapsed.Seconds())
	fmt.Fprintf(stdout, "rps %.1f\n", rps)
	fmt.Fprintf(stdout, "rate %d\n", r.rate)
	for _, q := range []struct {
		key string
		pm  int
	}{{"p50_us", 500}, {"p90_us", 900}, {"p99_us", 990}, {"p999_us", 999}, {"max_us", 1000}} {
		fmt.Fprintf(stdout, "%s %d\n", q.key, perMille(good, q.pm).Microseconds())
	}
	fmt.Fprintf(stdout, "late_p99_us %d\n", perMille(late, 990).Microseconds())
	slow := rps < 0.97*float64(r.rate)
	if slow {
		fmt.Fprintf(stdout, "warning achieved %.0f req/s, below 97%% of the %d asked\n", rps, r.rate)
	}
	if e := r.firstErr.Load(); e != nil {
		fmt.Fprintf(stderr, "loadgen rate: first error: %s\n", *e)
	}
	switch {
	case interrupted:
		fmt.Fprintln(stderr, "loadgen rate: interrupted")
		return 1
	case len(good) == 0:
		fmt.Fprintln(stderr, "loadgen rate: no request succeeded")
		return 1
	case slow && strict:
		return 1
	}
	return 0
}

package edge

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Why an exchange was cut, in the access log ("cut") and in
// forcehttps_edge_cuts_total.
const (
	cutClientIdle       = "client_idle"        // the client sent or took nothing for timeouts.client_idle
	cutUpstreamReadIdle = "upstream_read_idle" // the app sent nothing mid-body for timeouts.upstream_read_idle
	cutClientGone       = "client_gone"        // the client closed or reset the connection
	cutUpstreamReset    = "upstream_reset"     // the app closed or reset its connection mid-response
	cutStreamIdle       = "stream_idle"        // a stream (WebSocket, events, gRPC) was silent for timeouts.stream_idle
	cutMaxDuration      = "max_duration"       // the app's timeouts.max_duration passed
)

var cutReasons = []string{cutClientIdle, cutUpstreamReadIdle, cutClientGone, cutUpstreamReset, cutStreamIdle, cutMaxDuration}

// headGrace is how long a response head waits for the first bytes of its
// body before it is sent alone: a short response then goes out in one
// write, and the head of one whose body is slow to come is not held
// back.
const headGrace = 10 * time.Millisecond

// exchange watches one proxied request for progress. The edge's timeouts
// count idle time, not whole exchanges (see the package doc): each read
// and write marks when it started waiting and when it made progress, at
// the cost of a clock read, and one timer per exchange (the watchdog)
// looks at those marks now and then and cuts what has waited too long.
// A short exchange ends before its watchdog first fires.
//
// A cut cancels the request to the app, which ends its body, and puts
// the client's deadlines in the past, which ends a read or write blocked
// on the client: HTTP/1 gets a timeout on its connection, HTTP/2 a reset
// of the stream. The watchdog never touches the response writer after
// the handler returned: stop takes mu, which the watchdog holds while it
// works.
//
// The exchange is also the context of the request to the app (see
// exchangeContext in context.go): it carries the edge's state for
// requestOf and is canceled by a cut, by the end of the handler and by
// the inbound request's context.
type exchange struct {
	w      http.ResponseWriter // net/http's writer, for deadlines and the head flush
	parent context.Context     // the inbound request's context
	timer  *time.Timer
	start  int64 // nanoseconds, from clock
	http1  bool
	grace  time.Duration // how long a head waits for its body: headGrace but in tests

	clientIdle time.Duration // for body reads and response writes
	clientCut  string        // the reason when clientIdle passes
	streamIdle time.Duration
	maxDur     time.Duration // 0: none

	// Marks, in nanoseconds since start (0: none): since when a read of
	// the request body, a write to the client or a read of the app's
	// response has been waiting, and when a byte last went either way
	// in a tunnel.
	readWait, writeWait, upWait, tunnelLast atomic.Int64
	// sendIdle is when the app last took a piece of the request body
	// (the end of a read), 0 once the body ended or the head came.
	sendIdle atomic.Int64

	mu        sync.Mutex
	stopped   bool          // the handler returned
	cut       string        // why the exchange was cut; "" if it was not
	appCut    bool          // the cut was for the app's idleness
	upIdle    time.Duration // between reads of the response body
	upCut     string        // the reason when upIdle passes
	tick      time.Duration // how often the watchdog looks
	lazy      bool          // the exchange follows its parent from the watchdog's first look (fast path)
	looked    bool          // the watchdog looked once
	lookDue   bool          // the timer fired before rearm: a look is on its way
	gotHead   atomic.Bool   // the app's response head came
	reusable  bool          // release may pool the exchange (see stop)
	headWaits bool          // a head is written and not yet sent
	bodyBegun bool          // a body byte was written, or the body ended
	tunnel    net.Conn
	body      *requestBody // the request body, when full duplex is on
	// The wrappers of the request and response bodies, kept here to
	// save an allocation each.
	reqBody  requestBody
	respBody responseBody
	remain   int64 // bytes of a declared Content-Length not yet written; -1: none declared
	wroteErr error // the last error writing to the client
	bodyErr  error // the error reading the request body, other than EOF
	upErr    error // the error reading the response body, other than EOF

	ctx exchangeContext // the context of the request to the app
	req http.Request    // the inbound request with ctx
}

// clock returns monotonic nanoseconds.
var epoch = time.Now()

func clock() int64 { return int64(time.Since(epoch)) }

// startExchange starts watching a proxied request. It returns r with
// the context for the request to the app: r's, with rq for requestOf,
// and canceled by the exchange's end or cut. fast says that r came through
// the fast path (package h1), whose request contexts learn that the
// client went away no sooner than h1's watch starts (100 ms into a
// request): the exchange then follows r's context only from the first
// look of the watchdog (parentWatch), which most exchanges end before.
// Other requests are followed at once, when something waits on the
// exchange's context.
func (rq *request) startExchange(w http.ResponseWriter, r *http.Request, fast bool) *http.Request {
	sn := rq.app.snap
	t := sn.cfg.Timeouts
	ex, _ := exchanges.Get().(*exchange)
	if ex == nil {
		ex = new(exchange)
	}
	// A pooled exchange is zero but its stopped timer (see release).
	*ex = exchange{
		timer: ex.timer,
		w:     w, parent: r.Context(), start: clock(), http1: r.ProtoMajor == 1,
		clientIdle: t.ClientIdle, streamIdle: t.StreamIdle, maxDur: rq.app.cfg.Timeouts.MaxDuration,
		upIdle: t.UpstreamReadIdle, upCut: cutUpstreamReadIdle, clientCut: cutClientIdle,
		remain: -1, grace: headGrace,
	}
	if rq.s.o.headGrace > 0 {
		ex.grace = rq.s.o.headGrace
	}
	if isGRPC(r) {
		// A call may rightly wait long for the next message, either way.
		ex.clientIdle, ex.upIdle = t.StreamIdle, t.StreamIdle
		ex.clientCut, ex.upCut = cutStreamIdle, cutStreamIdle
	}
	ex.retick()
	ex.ctx.init(ex, rq, !fast)
	if ex.http1 {
		// The watchdog bounds the exchange's reads and writes; the
		// deadlines serve set must not.
		setWriteDeadline(w, time.Time{})
		if r.Body != nil && r.Body != http.NoBody {
			setReadDeadline(w, time.Time{})
		}
	}
	// Under mu: on a busy machine the first tick may come before the
	// assignment, and watch resets the timer.
	ex.lazy = fast
	ex.mu.Lock()
	if ex.timer == nil {
		ex.timer = time.AfterFunc(ex.next(ex.tick), ex.watch)
	} else {
		ex.timer.Reset(ex.next(ex.tick))
	}
	ex.mu.Unlock()
	rq.ex = ex
	// The copy of r is the exchange's: an allocation less.
	ex.req = *r.WithContext(&ex.ctx)
	return &ex.req
}

// parentWatch is when, at the latest, the watchdog of an exchange of
// the fast path first looks, and starts to follow the inbound request's
// context: before package h1 can cancel it (its watch of the client
// starts 100 ms into a request), so that a client that went away still
// cancels the request to the app as soon as h1 learns it.
const parentWatch = 50 * time.Millisecond

// next returns when the watchdog should look next, d from now, or
// sooner if it has not looked yet at an exchange of the fast path: by
// parentWatch, its first look follows the inbound request's context.
// Called with mu held or before the watchdog starts.
func (ex *exchange) next(d time.Duration) time.Duration {
	if ex.lazy && !ex.looked {
		return min(d, parentWatch)
	}
	return d
}

// rearm makes the watchdog look in d (or sooner: see next), from the
// handler. Called with mu held, before stop.
func (ex *exchange) rearm(d time.Duration) {
	if !ex.timer.Reset(ex.next(d)) {
		// The timer was not running: it fired, and its look has not
		// taken mu yet (a look that ran re-armed it, or cut the
		// exchange). That look is still to come, whatever stop finds.
		ex.lookDue = true
	}
}

// retick sets how often the watchdog looks: a quarter of the shortest
// limit, so that a cut comes at most a quarter late. Called with mu held
// or before the watchdog starts.
func (ex *exchange) retick() {
	d := min(ex.clientIdle, ex.upIdle)
	if ex.tunnel != nil {
		d = ex.streamIdle
	}
	if ex.maxDur > 0 {
		d = min(d, ex.maxDur)
	}
	ex.tick = max(d/4, time.Millisecond)
}

// stop ends the watch before the handler returns, and leaves an HTTP/1
// connection a write deadline for what net/http still writes.
func (ex *exchange) stop() {
	ex.mu.Lock()
	ex.stopped = true
	looked := ex.looked || ex.lookDue
	ex.mu.Unlock()
	// Stop returns false when the timer fired and was not re-armed: its
	// look may be running still. One re-armed by the handler after it
	// fired returns true though its look is still to come: lookDue.
	quiet := ex.timer.Stop()
	alone := ex.ctx.end()
	ex.reusable = quiet && alone && ex.lazy && !looked && ex.reqBody.ex == nil && ex.tunnel == nil
	if ex.body != nil {
		ex.body.finish(ex.w)
	}
	if ex.http1 && ex.tunnel == nil {
		setWriteDeadline(ex.w, time.Now().Add(ex.clientIdle))
	}
}

// exchanges holds exchanges for reuse: those of the fast path's short
// exchanges, the most common by far, which nothing but their handler
// could reach once it returned (see release).
var exchanges sync.Pool

// release puts the exchange back in the pool if stop found that nothing
// else can reach it any more: the watchdog never looked (so it never
// followed the inbound context, and no look is running or to come),
// nothing made the context's context.WithCancel or holds the context's
// function (the upstream transport stopped its watch), and there is no
// request body or tunnel, which other goroutines may still use.
// Otherwise the garbage collector takes it. Called by the handler, last.
func (ex *exchange) release() {
	if !ex.reusable {
		return
	}
	*ex = exchange{timer: ex.timer} // stopped, with its function (watch)
	exchanges.Put(ex)
}

// released, when set (by tests, before any request), is called with
// the ID of each proxied request as its exchange is released, and
// whether the exchange went back to the pool.
var released func(id string, pooled bool)

// since returns the nanoseconds since start for a mark, never 0.
func (ex *exchange) since() int64 { return max(clock()-ex.start, 1) }

// watch is the watchdog: it cuts what waited too long and otherwise
// comes back later.
func (ex *exchange) watch() {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if ex.stopped || ex.cut != "" {
		return
	}
	// The exchange is not short: from now on, the inbound request's
	// cancellation cancels it (at once if it came already).
	ex.looked = true
	ex.ctx.follow()
	now := ex.since()
	waited := func(mark *atomic.Int64, limit time.Duration) bool {
		m := mark.Load()
		return m != 0 && time.Duration(now-m) >= limit
	}
	switch {
	case ex.maxDur > 0 && time.Duration(now) >= ex.maxDur:
		ex.cutLocked(cutMaxDuration)
	case ex.tunnel != nil && waited(&ex.tunnelLast, ex.streamIdle):
		ex.cutLocked(cutStreamIdle)
	case waited(&ex.writeWait, ex.clientIdle), waited(&ex.readWait, ex.clientIdle):
		ex.cutLocked(ex.clientCut)
	case waited(&ex.upWait, ex.upIdle):
		ex.appCut = true
		ex.cutLocked(ex.upCut)
	case ex.readWait.Load() == 0 && waited(&ex.sendIdle, ex.upIdle):
		// The app stopped taking the request body, and has not
		// answered: it is the one idle.
		ex.appCut = true
		ex.cutLocked(ex.upCut)
	}
	if ex.cut != "" {
		return
	}
	if ex.headWaits && !ex.bodyBegun {
		// The app sent its head and no body yet: send the head now. On
		// HTTP/1 the write is bounded by a deadline, since nothing
		// watches the watchdog.
		ex.headWaits = false
		if ex.http1 {
			setWriteDeadline(ex.w, time.Now().Add(ex.clientIdle))
		}
		if err := flush(ex.w); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				ex.cutLocked(ex.clientCut)
			} else {
				ex.cutLocked(cutClientGone)
			}
			return
		}
		if ex.http1 {
			setWriteDeadline(ex.w, time.Time{})
		}
	}
	ex.timer.Reset(ex.tick)
}

// cutLocked cuts the exchange. Called with mu held and the handler
// running.
func (ex *exchange) cutLocked(why string) {
	ex.cut = why
	ex.ctx.cancel(context.Canceled)
	past := time.Unix(1, 0)
	if ex.tunnel != nil {
		ex.tunnel.Close()
		return
	}
	// Unblock what waits on the client. The request to the app, now
	// canceled, ends by itself.
	if ex.readWait.Load() != 0 {
		setReadDeadline(ex.w, past)
	}
	if ex.writeWait.Load() != 0 {
		setWriteDeadline(ex.w, past)
	}
}

// receivedHead notes that the app answered: from then on, that it no
// longer reads the request body is its right.
func (ex *exchange) receivedHead() {
	ex.gotHead.Store(true)
	ex.sendIdle.Store(0)
}

// streamResponse makes the response a stream (server-sent events): the
// app may be silent for up to stream_idle.
func (ex *exchange) streamResponse() {
	ex.mu.Lock()
	ex.upIdle, ex.upCut = ex.streamIdle, cutStreamIdle
	ex.retick()
	ex.mu.Unlock()
}

// wroteHead notes that a head was written; the watchdog sends it if no
// body follows soon. Called by the handler.
func (ex *exchange) wroteHead(immediate bool) {
	if immediate {
		ex.beginBody()
		ex.flush(ex.w) // marked: the watchdog cuts it if it waits
		return
	}
	ex.mu.Lock()
	// Once stopped (an error page after a panic), the timer stays
	// stopped: a pooled exchange must not be looked at by its old
	// watchdog.
	if !ex.bodyBegun && !ex.stopped {
		ex.headWaits = true
		ex.rearm(min(ex.grace, ex.tick))
	}
	ex.mu.Unlock()
}

// beginBody notes that the body started or ended: the watchdog must not
// flush the head any more.
func (ex *exchange) beginBody() {
	ex.mu.Lock()
	ex.bodyBegun = true
	ex.mu.Unlock()
}

// write writes to the client and flushes, marking the wait: every
// write of a proxied body is sent at once (see the package doc). The
// write that completes a body of declared length is not flushed: the
// handler returns right after it, and the server sends the rest with
// the end of the response (over HTTP/2, one DATA frame with END_STREAM
// rather than a DATA frame and an empty one; the head and the body in
// one frame each rather than three round trips to the connection's
// writer).
func (ex *exchange) write(w http.ResponseWriter, p []byte) (int, error) {
	ex.writeWait.Store(ex.since())
	n, err := w.Write(p)
	last := false
	if ex.remain >= 0 {
		ex.remain -= int64(n)
		last = ex.remain == 0
	}
	if err == nil && !last {
		err = flush(w)
	}
	ex.writeWait.Store(0)
	if err != nil {
		ex.wroteErr = err
	}
	return n, err
}

// flush flushes to the client, marking the wait.
func (ex *exchange) flush(w http.ResponseWriter) error {
	ex.writeWait.Store(ex.since())
	err := flush(w)
	ex.writeWait.Store(0)
	if err != nil {
		ex.wroteErr = err
	}
	return err
}

// cutByApp reports whether the exchange was cut because the app, not
// the client, was idle.
func (ex *exchange) cutByApp() bool {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.appCut
}

// verdict says why an exchange that did not end normally was cut, given
// the error the proxy met.
func (ex *exchange) verdict() string {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	switch {
	case ex.cut != "":
		return ex.cut
	case ex.parent.Err() != nil, ex.bodyErr != nil:
		return cutClientGone
	case ex.upErr != nil:
		return cutUpstreamReset
	case ex.wroteErr != nil:
		var ne net.Error
		if errors.As(ex.wroteErr, &ne) && ne.Timeout() {
			return cutClientIdle // the connection's write deadline passed
		}
		return cutClientGone
	}
	return cutUpstreamReset
}

// cutReason returns why the watchdog cut the exchange, or "".
func (ex *exchange) cutReason() string {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.cut
}

// requestBody is a request body being sent to the app, whose reads mark
// the wait on the client.
//
// The transport may go on reading a request body after the handler
// returned (when the app answered before reading it all). With full
// duplex on, net/http would then read the next request from the
// connection at the same time: finish, called before the handler
// returns, ends the reads first.
type requestBody struct {
	io.ReadCloser
	ex       *exchange
	mu       sync.Mutex // held during a read
	finished atomic.Bool
	eof      atomic.Bool
}

// errBodyFinished is what the transport reads from a request body once
// the exchange is over.
var errBodyFinished = errors.New("edge: the exchange is over")

func (b *requestBody) Read(p []byte) (int, error) {
	ex := b.ex
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished.Load() {
		return 0, errBodyFinished
	}
	ex.readWait.Store(ex.since())
	n, err := b.ReadCloser.Read(p)
	ex.readWait.Store(0)
	if err == nil && !ex.gotHead.Load() {
		ex.sendIdle.Store(ex.since())
	} else {
		ex.sendIdle.Store(0)
	}
	if err == io.EOF {
		b.eof.Store(true)
	}
	var tooLarge *http.MaxBytesError
	if err != nil && err != io.EOF && !errors.As(err, &tooLarge) {
		ex.mu.Lock()
		if ex.bodyErr == nil && ex.cut == "" {
			ex.bodyErr = err
		}
		ex.mu.Unlock()
	}
	return n, err
}

// finish ends the reads of the body, unblocking one that waits on the
// client. w is net/http's writer. Called by the handler.
func (b *requestBody) finish(w http.ResponseWriter) {
	b.finished.Store(true)
	if b.eof.Load() {
		return
	}
	if b.mu.TryLock() { // no read in progress; later ones fail
		b.mu.Unlock()
		return
	}
	// A read waits on the client: end it. The connection is closed
	// after this response (see request.WriteHeader), its body unread.
	setReadDeadline(w, time.Unix(1, 0))
	b.mu.Lock() // waits for the read to end
	//lint:ignore SA2001 the empty section waits for the read to end
	b.mu.Unlock()
}

// unfinished reports whether the body may still have bytes to read.
func (b *requestBody) unfinished() bool { return !b.eof.Load() }

// responseBody is an app's response body, whose reads mark the wait on
// the app, and which records what the app said last (gRPC status).
type responseBody struct {
	io.ReadCloser
	ex   *exchange
	rq   *request
	resp *http.Response
}

func (b *responseBody) Read(p []byte) (int, error) {
	ex := b.ex
	ex.upWait.Store(ex.since())
	n, err := b.ReadCloser.Read(p)
	ex.upWait.Store(0)
	if err != nil {
		ex.beginBody()
		if err == io.EOF {
			b.rq.grpcFrom(b.resp.Trailer)
		} else {
			ex.mu.Lock()
			if ex.upErr == nil {
				ex.upErr = err
			}
			ex.mu.Unlock()
		}
	}
	return n, err
}

// tunnelConn is the client's side of a tunnel (WebSocket): every byte
// either way renews the stream's idle time.
type tunnelConn struct {
	net.Conn
	ex *exchange
}

func (c *tunnelConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.ex.tunnelLast.Store(c.ex.since())
	}
	return n, err
}

func (c *tunnelConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.ex.tunnelLast.Store(c.ex.since())
	}
	return n, err
}

// startTunnel watches a hijacked connection for stream_idle.
func (ex *exchange) startTunnel(c net.Conn) net.Conn {
	tc := &tunnelConn{Conn: c, ex: ex}
	ex.mu.Lock()
	ex.tunnel = c
	ex.tunnelLast.Store(ex.since())
	ex.retick()
	if !ex.stopped {
		ex.rearm(ex.tick)
	}
	ex.mu.Unlock()
	return tc
}

// isGRPC reports whether r is a gRPC call (application/grpc,
// application/grpc+proto, ...).
func isGRPC(r *http.Request) bool {
	ct := r.Header["Content-Type"]
	return len(ct) == 1 && strings.HasPrefix(ct[0], "application/grpc") &&
		(len(ct[0]) == len("application/grpc") || ct[0][len("application/grpc")] == '+' || ct[0][len("application/grpc")] == ';')
}

// isEventStream reports whether a response is server-sent events.
func isEventStream(h http.Header) bool {
	ct := h["Content-Type"]
	return len(ct) == 1 && strings.HasPrefix(ct[0], "text/event-stream")
}

// The response writer's optional methods, called directly on net/http's
// writer: [http.ResponseController] would allocate an error for each
// call a writer does not support. A writer that wraps another is
// unwrapped by the controller.
type (
	writeDeadliner interface{ SetWriteDeadline(time.Time) error }
	readDeadliner  interface{ SetReadDeadline(time.Time) error }
	errorFlusher   interface{ FlushError() error }
	unwrapper      interface{ Unwrap() http.ResponseWriter }
)

func setWriteDeadline(w http.ResponseWriter, t time.Time) {
	switch d := w.(type) {
	case writeDeadliner:
		d.SetWriteDeadline(t)
	case unwrapper:
		http.NewResponseController(w).SetWriteDeadline(t)
	}
}

func setReadDeadline(w http.ResponseWriter, t time.Time) {
	switch d := w.(type) {
	case readDeadliner:
		d.SetReadDeadline(t)
	case unwrapper:
		http.NewResponseController(w).SetReadDeadline(t)
	}
}

func flush(w http.ResponseWriter) error {
	switch f := w.(type) {
	case errorFlusher:
		return f.FlushError()
	case http.Flusher:
		f.Flush()
	case unwrapper:
		return http.NewResponseController(w).Flush()
	}
	return nil
}

package upstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/forcehttps/forcehttps/internal/rawio"
)

// Transport is an [http.RoundTripper] for HTTP/1.1 upstreams that takes
// the plainest requests itself (see [Transport.Takes]) and gives every
// other one to Fallback.
type Transport struct {
	// Fallback carries the requests this transport does not take. It
	// must not be nil.
	Fallback http.RoundTripper

	// DialContext opens connections; nil means a net.Dialer with
	// DialTimeout.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// DialTimeout bounds a dial when DialContext is nil; 0 means none.
	DialTimeout time.Duration

	// ResponseHeaderTimeout bounds the wait for a response head once the
	// request is written; 0 means none. The bound may be up to a
	// sixteenth later (see conn.armHead).
	ResponseHeaderTimeout time.Duration

	// IdleConnTimeout is how long an idle connection may be reused; 0
	// means 90 seconds. Older ones are closed when next looked at, or
	// when a connection goes back to the pool.
	IdleConnTimeout time.Duration

	// MaxIdleConnsPerHost bounds the idle connections kept per address;
	// 0 means 256.
	MaxIdleConnsPerHost int

	// Interim, when set, receives the interim 1xx responses (other than
	// 101) of a request whose context has no httptrace.ClientTrace with
	// Got1xxResponse; an error it returns fails the request. Without
	// either, they are skipped.
	Interim func(req *http.Request, code int, h http.Header) error

	// MaxResponseHeaderBytes bounds a response head (the interim 1xx
	// ones each); 0 means 1 MiB.
	MaxResponseHeaderBytes int

	mu    sync.Mutex
	idle  map[string][]*conn
	swept time.Time // when idle connections past their time were last closed
}

// DoneNotifier is implemented by request contexts that run a function
// when they are done more cheaply than [context.AfterFunc], which
// allocates a context of its own and makes its parent's cancellation
// machinery (a Done channel, a list of children) for every request.
// When a request's context is one, the transport ends what waits on the
// app through it; otherwise through context.AfterFunc.
type DoneNotifier interface {
	// NotifyDone registers f, to be called once when the context is
	// done: by the goroutine that cancels it (f must not block), or at
	// once in a goroutine of its own if it is done already. It reports
	// false, registering nothing, if it cannot take f (it holds
	// another).
	NotifyDone(f func()) bool
	// StopNotify unregisters the function NotifyDone registered, and
	// reports whether that stopped it from being called, as the stop
	// function of context.AfterFunc does.
	StopNotify() bool
}

// conn is one connection to an upstream.
type conn struct {
	t     *Transport
	addr  string
	nc    net.Conn
	br    *bufio.Reader
	buf   []byte // the request head being written
	used  time.Time
	reuse bool // it came from the idle pool
	check func() bool
	raw   syscall.RawConn // nil: nc has none, and is written to and read as a net.Conn

	// The watch of the current request's context: abort ends what waits
	// on the app (made once per connection), and the request's context
	// calls it through notifier, or through the context.AfterFunc that
	// stopAfter stops.
	abort     func()
	notifier  DoneNotifier
	stopAfter func() bool
	aborted   atomic.Bool // abort was called: the deadlines are in the past

	// The read deadline for response heads, set lazily (see armHead):
	// rdl is the one set on nc (zero: none), and stale says that it
	// bounds a head already read, so that a read of the body that
	// reaches it lifts it and reads again (see connReader).
	rdl   time.Time
	stale bool
}

// armHead bounds the wait for the response head by d from now. Setting a
// deadline costs a timer update through the poller, and lifting it once
// the head is read another: two per request. Instead the deadline is set
// a sixteenth of d later than asked, and kept for as long as that slack
// lasts: the requests that follow within it pay nothing. After the head
// the deadline stays, stale; a read of the body that reaches it lifts it
// and reads again (connReader). A head wait is then never shorter than
// d, and at most d/16 longer.
func (c *conn) armHead(d time.Duration) {
	c.stale = false
	want := time.Now().Add(d)
	if c.rdl.Before(want) || c.rdl.Sub(want) > d/16 {
		c.rdl = want.Add(d / 16)
		c.nc.SetReadDeadline(c.rdl)
	}
}

// liftExpired lifts a head deadline that has passed, which would fail
// the next read at once, and the check of an idle connection with it.
func (c *conn) liftExpired(now time.Time) {
	if !c.rdl.IsZero() && !now.Before(c.rdl) {
		c.rdl, c.stale = time.Time{}, false
		c.nc.SetReadDeadline(time.Time{})
	}
}

// connReader is what a connection's bufio.Reader reads from: the
// connection, but a read of a body (or of what follows a head) that
// reaches the stale head deadline lifts it and reads again, unless the
// request was canceled (abort's deadline is in the past too).
type connReader struct{ c *conn }

func (r connReader) Read(p []byte) (int, error) {
	c := r.c
	n, err := c.nc.Read(p)
	if n > 0 || err == nil || !c.stale || c.aborted.Load() || !isTimeout(err) {
		return n, err
	}
	c.rdl, c.stale = time.Time{}, false
	c.nc.SetReadDeadline(time.Time{})
	if c.aborted.Load() {
		// abort came while the deadline was lifted: its own may have
		// been lifted with it.
		return n, err
	}
	return c.nc.Read(p)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// watch makes the cancellation of ctx end what waits on the app, until
// unwatch.
func (c *conn) watch(ctx context.Context) {
	if n, ok := ctx.(DoneNotifier); ok && n.NotifyDone(c.abort) {
		c.notifier = n
		return
	}
	c.stopAfter = context.AfterFunc(ctx, c.abort)
}

// unwatch ends the watch, and reports whether it stopped abort from
// being called: if not, the connection's deadlines may be in the past,
// and it must not be reused.
func (c *conn) unwatch() bool {
	n, stop := c.notifier, c.stopAfter
	c.notifier, c.stopAfter = nil, nil
	switch {
	case n != nil:
		return n.StopNotify()
	case stop != nil:
		return stop()
	}
	return false
}

const (
	defaultIdleTimeout = 90 * time.Second
	defaultMaxIdle     = 256
	defaultMaxHead     = 1 << 20
	readBufferSize     = 4 << 10
	max1xx             = 16 // interim responses before a final one
)

// RoundTrip sends req and returns the response, through Fallback when
// the transport does not take req.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.Takes(req) {
		return t.Fallback.RoundTrip(req)
	}
	return t.Send(req)
}

// Send sends req itself and returns the response: RoundTrip for a
// request the caller already knows [Transport.Takes] accepts, without
// checking it again. Any other request is the caller's error.
func (t *Transport) Send(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var body []byte
	if req.ContentLength > 0 {
		bp := bodies.Get().(*[]byte)
		defer bodies.Put(bp)
		var err error
		if body, err = readBody(req, *bp); err != nil {
			return nil, err
		}
		*bp = body
	}
	for attempt := 0; ; attempt++ {
		c, err := t.get(ctx, req.URL.Host, attempt > 0)
		if err != nil {
			return nil, err
		}
		resp, err := c.roundTrip(req, body)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// A connection that was idle may have been closed by the app in
		// the meantime: the request went nowhere, and a request without
		// a body may be sent again if it is idempotent (RFC 9110 §9.2.2),
		// as net/http's Transport does.
		if c.reuse && errors.Is(err, errNothingRead) && attempt == 0 && body == nil && idempotent(req) {
			continue
		}
		return nil, err
	}
}

// bodies holds the buffers request bodies are read into.
var bodies = sync.Pool{New: func() any { return new([]byte) }}

var errNothingRead = errors.New("upstream: the connection closed before a response")

// idempotent reports whether net/http's Transport would send req again
// on a new connection.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return true
	}
	_, a := req.Header["Idempotency-Key"]
	_, b := req.Header["X-Idempotency-Key"]
	return a || b
}

// CloseIdleConnections closes the idle connections, and those of
// Fallback.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, cs := range idle {
		for _, c := range cs {
			c.nc.Close()
		}
	}
	if ci, ok := t.Fallback.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// get returns an idle connection to addr that is still open and quiet,
// or a new one (always a new one when fresh).
func (t *Transport) get(ctx context.Context, addr string, fresh bool) (*conn, error) {
	if !fresh {
		timeout := t.IdleConnTimeout
		if timeout <= 0 {
			timeout = defaultIdleTimeout
		}
		for {
			t.mu.Lock()
			cs := t.idle[addr]
			if len(cs) == 0 {
				t.mu.Unlock()
				break
			}
			c := cs[len(cs)-1]
			cs[len(cs)-1] = nil
			t.idle[addr] = cs[:len(cs)-1]
			t.mu.Unlock()
			now := time.Now()
			if now.Sub(c.used) >= timeout {
				c.nc.Close()
				continue
			}
			c.liftExpired(now)
			if c.check() {
				c.reuse = true
				return c, nil
			}
			c.nc.Close()
		}
	}
	dial := t.DialContext
	if dial == nil {
		d := net.Dialer{Timeout: t.DialTimeout}
		dial = d.DialContext
	}
	nc, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	nc = rawio.Wrap(nc) // system calls outside the scheduler's state (package rawio)
	c := &conn{t: t, addr: addr, nc: nc, raw: rawio.Conn(nc)}
	c.br = bufio.NewReaderSize(connReader{c}, readBufferSize)
	c.check = quiet(nc)
	c.abort = func() {
		c.aborted.Store(true)
		nc.SetDeadline(aLongTimeAgo)
	}
	return c, nil
}

// put returns a connection to the idle pool, or closes it. Now and then
// (every half IdleConnTimeout) it also closes the idle connections past
// IdleConnTimeout, of every address: those of an app no longer
// requested would otherwise stay open until the app closes them.
func (t *Transport) put(c *conn) {
	max := t.MaxIdleConnsPerHost
	if max <= 0 {
		max = defaultMaxIdle
	}
	timeout := t.IdleConnTimeout
	if timeout <= 0 {
		timeout = defaultIdleTimeout
	}
	now := time.Now()
	c.used = now
	var old []*conn
	t.mu.Lock()
	if now.Sub(t.swept) > timeout/2 {
		t.swept = now
		for addr, cs := range t.idle {
			// The oldest are first: the pool is a stack.
			n := 0
			for n < len(cs) && now.Sub(cs[n].used) >= timeout {
				n++
			}
			if n > 0 {
				old = append(old, cs[:n]...)
				t.idle[addr] = append(cs[:0], cs[n:]...)
				clear(cs[len(cs)-n:])
			}
			if len(t.idle[addr]) == 0 {
				delete(t.idle, addr)
			}
		}
	}
	kept := len(t.idle[c.addr]) < max
	if kept {
		if t.idle == nil {
			t.idle = map[string][]*conn{}
		}
		t.idle[c.addr] = append(t.idle[c.addr], c)
	}
	t.mu.Unlock()
	for _, o := range old {
		o.nc.Close()
	}
	if !kept {
		c.nc.Close()
	}
}

// aLongTimeAgo is a deadline in the past, which ends blocked reads.
var aLongTimeAgo = time.Unix(1, 0)

// roundTrip writes req on c and reads the response head.
func (c *conn) roundTrip(req *http.Request, reqBody []byte) (*http.Response, error) {
	ctx := req.Context()
	// A canceled request ends what waits on the app.
	c.watch(ctx)
	fail := func(err error) (*http.Response, error) {
		c.unwatch()
		c.nc.Close()
		return nil, err
	}
	c.buf = appendRequest(c.buf[:0], req, reqBody)
	if d := c.t.ResponseHeaderTimeout; d > 0 {
		c.armHead(d)
	}
	var err error
	sent := 0
	if c.raw != nil {
		// The write and the wait for the answer, without a read that
		// would find nothing.
		if sent, err = rawio.WriteWait(c.raw, c.buf, nil); err != nil {
			err = &net.OpError{Op: "write", Net: "tcp", Source: c.nc.LocalAddr(), Addr: c.nc.RemoteAddr(), Err: err}
		}
	}
	if err == nil && sent < len(c.buf) {
		_, err = c.nc.Write(c.buf[sent:])
	}
	if cap(c.buf) > 8<<10 {
		c.buf = nil // a large body's: not kept by an idle connection
	}
	if err != nil {
		if c.reuse {
			err = fmt.Errorf("%w: %w", errNothingRead, err)
		}
		return fail(err)
	}
	max := c.t.MaxResponseHeaderBytes
	if max <= 0 {
		max = defaultMaxHead
	}
	var h *head
	for n := 0; ; n++ {
		var err error
		h, err = readHead(c.br, max, req.Method)
		if err != nil {
			if ctx.Err() != nil {
				return fail(ctx.Err())
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return fail(errHeaderTimeout)
			}
			if n > 0 && errors.Is(err, errNothingRead) {
				err = io.ErrUnexpectedEOF // after an interim response
			}
			return fail(err)
		}
		code := h.resp.StatusCode
		if code/100 != 1 {
			break
		}
		if code == http.StatusSwitchingProtocols {
			// Nothing was asked to switch to: the connection is the
			// app's now, and the proxy refuses the answer.
			return fail(malformed("101 Switching Protocols without an Upgrade request"))
		}
		if n+1 >= max1xx {
			return fail(malformed("too many 1xx responses"))
		}
		if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(code, textproto.MIMEHeader(h.resp.Header)); err != nil {
				return fail(err)
			}
		} else if c.t.Interim != nil {
			if err := c.t.Interim(req, code, h.resp.Header); err != nil {
				return fail(err)
			}
		}
	}
	if c.t.ResponseHeaderTimeout > 0 {
		c.stale = true // lifted by the body's read that reaches it, if one does
	}
	resp := h.resp
	resp.Request = req
	if h.framing == noBody {
		resp.Body = http.NoBody
		c.done(c.unwatch() && h.keep)
		return resp, nil
	}
	b := &h.body
	*b = body{c: c, h: h, ctx: ctx, remain: h.length}
	if h.framing == chunked {
		b.state = stSize
	}
	resp.Body = b
	return resp, nil
}

// done ends an exchange on c: the connection goes back to the pool if
// the response was complete and it may carry another, and nothing came
// after the response.
func (c *conn) done(keep bool) {
	if keep && c.br.Buffered() == 0 {
		c.reuse = false
		c.t.put(c)
		return
	}
	c.nc.Close()
}

var errHeaderTimeout = &timeoutError{"upstream: timeout awaiting response headers"}

type timeoutError struct{ msg string }

func (e *timeoutError) Error() string   { return e.msg }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

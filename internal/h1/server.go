package h1

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"

	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/forcehttps/forcehttps/internal/h2"
	"github.com/forcehttps/forcehttps/internal/rawio"
)

// bufSize is the read buffer of a connection, and so the largest request
// head served here; a larger one goes to net/http.
const bufSize = 4096

// Server answers on a listener the requests its Answer function takes,
// and hands every other connection to a net/http server through the
// [Listener] that [Server.Listen] returns. The zero value is not usable:
// Answer is required.
type Server struct {
	// Answer is called for each request head that parsed within the rules
	// of this package (see the package documentation), in the
	// connection's goroutine. It either answers with w and returns true,
	// or returns false without touching w: the request, and the rest of
	// the connection, then go to net/http, which reads the request again
	// from its first byte. r has no body; its context is canceled when
	// the request ends or the client goes away (see the package
	// documentation). r and w must not be used after Answer returns;
	// w may be used from another goroutine meanwhile, one at a time.
	// Nor may r's context, unless something waited on it during Answer
	// (its Done, a cancelable context derived from it, context.AfterFunc):
	// such a context stays canceled for good, while one that nothing
	// waited on becomes the context of the connection's next request.
	Answer func(w http.ResponseWriter, r *http.Request) bool

	// ReadHeaderTimeout, IdleTimeout and WriteTimeout mean what they mean
	// for http.Server: the time to read a request head (from the first
	// byte; from the accept for a connection's first request), the time a
	// kept-alive connection may wait for its next request (zero: the
	// ReadHeaderTimeout), and the time to write a response. Zero: none.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	WriteTimeout      time.Duration

	// TLSConfig, when set, makes the Server terminate TLS on the
	// connections it accepts, as http.Server.ServeTLS would: requests then
	// have r.TLS. Connections that negotiate another protocol than
	// HTTP/1.1 with ALPN (h2) go to net/http right after the handshake.
	// The http.Server behind must use [ConnContext] and [RestoreTLS], so
	// that requests on connections handed over later keep r.TLS. The
	// Server does not modify the configuration, but net/http writes to
	// its own TLSConfig when it sets up HTTP/2: give it another one (a
	// Clone) or none.
	TLSConfig *tls.Config

	// BaseContext, when set, is the parent of every request's context,
	// as http.Server.BaseContext returns it: put http.ServerContextKey
	// in it, with the http.Server behind, for the handlers that look for
	// it (httputil.ReverseProxy aborts a response whose body fails to
	// copy only under a server). Nil: context.Background().
	BaseContext context.Context

	// Logger receives a panic of Answer, at error level, and TLS
	// handshake errors, at debug level. Nil: slog.Default().
	Logger *slog.Logger

	// HTTP2, when set, serves the TLS connections that negotiate "h2"
	// right after the handshake, instead of net/http. They stay tracked
	// here: Shutdown shuts HTTP2 down with them (GOAWAY, then the
	// streams finish), Close closes them. Nil: they go to net/http.
	HTTP2 *h2.Server

	mu       sync.Mutex
	conns    map[*conn]struct{}
	ln       *Listener
	shutdown atomic.Bool
	wg       sync.WaitGroup
	inflight atomic.Int64  // requests in Answer
	stop     chan struct{} // closed when the server stops: ends the sweeper
	stopOnce sync.Once
}

// ErrServerClosed is returned by [Listener.Accept] once the listener or the
// server is closed.
var ErrServerClosed = errors.New("h1: server closed")

// Listen starts serving inner and returns the listener to give to
// http.Server.Serve, which accepts through it the connections handed
// over. A Server listens once.
func (s *Server) Listen(inner net.Listener) (*Listener, error) {
	if s.Answer == nil {
		return nil, errors.New("h1: Server.Answer is nil")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil, errors.New("h1: Server.Listen called twice")
	}
	if s.shutdown.Load() {
		return nil, ErrServerClosed
	}
	s.conns = map[*conn]struct{}{}
	l := &Listener{inner: inner, handoff: make(chan net.Conn), done: make(chan struct{})}
	s.ln = l
	s.stop = make(chan struct{})
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.accept(l)
	}()
	go func() {
		defer s.wg.Done()
		s.sweep()
	}()
	return l, nil
}

// Listener is the net.Listener through which net/http receives the
// connections the Server hands over. Closing it closes the inner
// listener; connections the Server is answering stay open until
// [Server.Shutdown] or [Server.Close].
type Listener struct {
	inner     net.Listener
	handoff   chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
	err       error // why accepting stopped; set before done closes
}

// Accept returns the next connection handed over.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.handoff:
		return c, nil
	case <-l.done:
		return nil, l.err
	}
}

// Close stops accepting.
func (l *Listener) Close() error {
	err := l.inner.Close()
	l.stop(ErrServerClosed)
	return err
}

// Addr is the inner listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

func (l *Listener) stop(err error) {
	l.closeOnce.Do(func() {
		l.err = err
		close(l.done)
	})
}

// accept runs the accept loop, retrying temporary errors as net/http
// does.
func (s *Server) accept(l *Listener) {
	var delay time.Duration
	for {
		nc, err := l.inner.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(delay):
					continue
				case <-l.done:
					return
				}
			}
			if errors.Is(err, net.ErrClosed) {
				err = ErrServerClosed
			}
			l.stop(err)
			return
		}
		delay = 0
		// Reads and writes on the socket skip the scheduler's system-call
		// state (package rawio).
		nc = rawio.Wrap(nc)
		c := &conn{s: s, nc: nc}
		if !s.track(c, true) {
			nc.Close()
			continue
		}
		go c.serve()
	}
}

// track adds or removes a connection; it reports false when adding to a
// server that is shutting down.
func (s *Server) track(c *conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.conns, c)
		return true
	}
	if s.shutdown.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

// Shutdown stops accepting, closes the connections waiting for a
// request, and waits for the others to finish the response they are
// writing, until ctx is done; it then closes them and returns ctx's
// error. Connections already handed over belong to net/http's
// http.Server.Shutdown.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdown.Store(true)
	s.mu.Lock()
	l := s.ln
	s.mu.Unlock()
	if l != nil {
		l.Close()
	}
	if s.HTTP2 != nil {
		// The HTTP/2 connections end once their streams are done (or when
		// ctx is done): they leave s.conns as they end.
		go s.HTTP2.Shutdown(ctx)
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.closeIdle() {
			s.stopSweeper()
			s.wg.Wait()
			return nil
		}
		select {
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close closes the listener and every connection at once.
func (s *Server) Close() error {
	s.shutdown.Store(true)
	s.stopSweeper()
	if s.HTTP2 != nil {
		s.HTTP2.Close()
	}
	s.mu.Lock()
	l := s.ln
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	var err error
	if l != nil {
		err = l.Close()
	}
	return err
}

// closeIdle closes the connections waiting for a request and reports
// whether none is left.
func (s *Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.idle.Load() {
			c.nc.Close()
		}
	}
	return len(s.conns) == 0
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// conn is one connection served here.
type conn struct {
	s        *Server
	nc       net.Conn // the accepted connection
	rw       net.Conn // what requests are read from: nc, or TLS over it
	tlsState *tls.ConnectionState
	idle     atomic.Bool // waiting for the first byte of a request
	remote   string
	raw      syscall.RawConn // nc's, or nil; see loop
	rec      *recordConn     // what crypto/tls reads and writes through, or nil
	drained  bool            // the last read of rw returned less than asked
	sentFn   func() bool     // c.sent
	stop     bool            // set by sent: the server is shutting down
	sc       *scratch        // while a request is read and answered; see scratch
	small    []byte          // a TLS connection's wait for a request; see loop
	w        responseWriter
	read     deadline
	wdl      deadline
	now      time.Time // when the current request was read

	// The request's context, canceled when the request ends or the
	// client goes away during Answer.
	ctx        *requestContext
	rdlTouched atomic.Bool // Answer set a read deadline itself
	wdlTouched atomic.Bool // Answer set a write deadline itself

	// The watch for the client going away, started by the sweeper for a
	// request still in Answer after a while (see watch).
	wmu       sync.Mutex
	active    bool          // in Answer
	watching  bool          // a watch read runs
	watchDone chan struct{} // closed when it ended
	wb        [1]byte       // what it read: the first byte of a pipelined request
	wn        int
	gone      bool // it saw the connection end
	liftWrite bool // Answer lifted the write deadline, not applied yet; see setWriteDeadline
}

// serve answers requests until the connection closes, goes idle too
// long, or is handed over.
func (c *conn) serve() {
	c.remote = c.nc.RemoteAddr().String()
	c.rw = c.nc
	c.raw = rawio.Conn(c.nc)
	if c.s.TLSConfig == nil {
		c.loop(true)
		return
	}
	if !c.handshake() {
		c.s.track(c, false)
		return
	}
	// The handshake grew this goroutine's stack to several times what
	// waiting for a request needs: the requests get a fresh goroutine.
	go c.loop(true)
}

// loop reads and answers requests; first: from the connection's first.
//
// Memory of a TLS connection waiting for its next request: the
// goroutine's stack is the largest part. It grows while a request is
// answered and shrinks only at a garbage collection, by half, and only
// if less than a quarter is in use: waiting in crypto/tls's Read uses
// more than a quarter of 8 KiB, so a goroutine that answered a request
// through the edge keeps 8 KiB for as long as it waits. So the wait
// after a connection's first request (many connections make one or a
// few requests, then wait for the idle timeout) is in a fresh
// goroutine, which starts with the runtime's usual stack size; a
// connection that keeps working pays this once.
func (c *conn) loop(first bool) {
	s := c.s
	moved := false // the connection went on in another goroutine
	defer func() {
		if moved {
			return
		}
		if c.sc != nil {
			putScratch(c.sc)
			c.sc = nil
		}
		s.track(c, false)
	}()
	if c.w.header == nil {
		c.w.header = make(http.Header) // grows to what the responses need
	}
	// A TLS connection waits for its next request with a small buffer
	// and holds the scratch space only while it reads and answers one:
	// an idle connection then costs a fraction of a busy one. Reading
	// the start of a request into the small buffer costs nothing more:
	// crypto/tls has decrypted the whole record, and the rest of it is
	// read from memory. A plain connection keeps its scratch space: a
	// second read there is a second system call.
	release := c.rw != c.nc
	if !release {
		c.sc = getScratch()
	} else if c.small == nil {
		c.small = make([]byte, smallSize)
	}
	var buf []byte
	if c.sc != nil {
		buf = c.sc.buf[:]
	}
	n := 0 // bytes in buf
	fresh := first
	var held []byte // the end of the last response, not yet sent
	for {
		// Wait for a request, then read its head. A connection's first
		// request has ReadHeaderTimeout from the accept; later ones wait
		// IdleTimeout for their first byte, then ReadHeaderTimeout.
		if n == 0 {
			if release && c.sc != nil {
				putScratch(c.sc)
				c.sc, buf = nil, nil
			}
			if first {
				c.read.arm(c.rw, time.Now(), s.ReadHeaderTimeout, armHeader)
			} else {
				// c.now is when the last request was read: close enough.
				c.read.arm(c.rw, c.now, cmp.Or(s.IdleTimeout, s.ReadHeaderTimeout), armIdle)
			}
			if c.rec != nil && c.rec.held != nil {
				held = *c.rec.held // a TLS connection's, encrypted
			}
			if len(held) > 0 {
				// The end of the last response, and the wait for the
				// next request, without a read that would find nothing
				// (package rawio). The connection is idle once its
				// response is out, not before: Shutdown closes idle
				// connections.
				if c.sentFn == nil {
					c.sentFn = c.sent // made once: a method value allocates
				}
				c.stop = false
				sent, err := rawio.WriteWait(c.raw, held, c.sentFn)
				stop := c.stop
				if err == nil && sent < len(held) {
					_, err = c.nc.Write(held[sent:])
				}
				held = nil
				if c.rec != nil {
					c.rec.dropHeld()
				}
				if err != nil {
					c.nc.Close()
					return
				}
				if stop {
					c.closeAfterReply(true)
					return
				}
			}
			c.idle.Store(true)
			if s.shutdown.Load() {
				c.nc.Close()
				return
			}
			var m int
			if release {
				m, _ = c.rw.Read(c.small)
				c.drained = m < len(c.small)
			} else {
				m, _ = c.rw.Read(buf)
			}
			c.idle.Store(false)
			if m == 0 {
				c.nc.Close()
				return
			}
			if release {
				c.sc = getScratch()
				buf = c.sc.buf[:]
				copy(buf, c.small[:m])
			}
			n = m
		}
		st := parse(buf[:n], &c.sc.head)
		if st == partial && !first {
			c.read.arm(c.rw, time.Now(), s.ReadHeaderTimeout, armHeader)
		}
		for st == partial {
			if n == len(buf) {
				st = decline
				break
			}
			m, err := c.rw.Read(buf[n:])
			c.drained = m < len(buf)-n
			n += m
			if err != nil {
				c.nc.Close()
				return
			}
			st = parse(buf[:n], &c.sc.head)
		}
		first = false
		c.now = time.Now() // one clock read per request: deadlines and Date
		if st == decline || !c.request(buf[:c.sc.head.end]) {
			c.handOver(buf[:n])
			return
		}
		end := c.sc.head.end
		c.wdl.arm(c.rw, c.now, s.WriteTimeout, armWrite)
		answered := c.answer()
		extra, gone := c.endRequest()
		if !answered {
			c.handOver(append(buf[:n:n], extra...))
			return
		}
		// With a raw connection, the end of the response is held back
		// when the connection will wait for its next request: it is
		// written as that wait starts (see below).
		// A TLS connection holds the encrypted bytes in its recordConn,
		// and only if crypto/tls holds nothing unread: the wait would not
		// see it.
		hold := c.raw != nil && end == n && len(extra) == 0 && !gone
		if release {
			hold = hold && c.rec != nil && c.drained && c.rec.quiet()
			if hold {
				c.rec.holding = true
			}
		}
		err := c.w.finish(hold && !release)
		if release && hold {
			c.rec.holding = false
		}
		closes, cut := c.w.closes()
		if hold && (closes || s.shutdown.Load()) {
			hold = false
			if release {
				if serr := c.rec.sendHeld(); err == nil {
					err = serr
				}
			} else {
				c.w.send()
				err = c.w.err
			}
			closes, cut = c.w.closes()
		}
		if hold && !release {
			held = c.w.out
		}
		c.w.returnBuffers(c.sc)
		if closes || gone || s.shutdown.Load() {
			c.closeAfterReply(err == nil && !cut && !gone)
			return
		}
		n = copy(buf, buf[end:n])
		n += copy(buf[n:], extra) // a byte the watch read: the next request's
		if n == 0 && release && fresh {
			putScratch(c.sc)
			c.sc, moved = nil, true
			go c.loop(false)
			return
		}
		fresh = false
	}
}

// sent is called once the end of a response held back is written, as
// the wait for the next request starts: the connection is idle from
// then on, and does not wait if the server is shutting down (c.stop).
func (c *conn) sent() bool {
	if c.rec != nil {
		c.rec.dropHeld() // sent: not kept while waiting
	}
	c.idle.Store(true)
	c.stop = c.s.shutdown.Load()
	return !c.stop
}

// smallSize is the buffer a TLS connection waits for a request with.
// Most request heads fit; the rest of a longer one is read on.
const smallSize = 512

// scratch is the space a connection uses only while it reads and answers
// a request: the read buffer, the parsed head and the request's header.
// The response's header stays with the connection: a handler that
// wrongly kept it after its request could then only write into its own
// connection's next response, never another client's. The response
// writer's byte buffers are here, and a writer refuses writes once its
// response is finished.
type scratch struct {
	buf    [bufSize]byte
	head   head
	header http.Header
	vals   []string // backing store of the header's values
	req    http.Request
	url    url.URL // the request's URL
	last   string  // the last request-target parsed, and its URL
	lastU  url.URL
	body   []byte // the response writer's buffers, between responses
	out    []byte
	heads  strings.Builder // the text of the last requests; see text
	lastH  string          // the last head text returned
}

// headsSize is the size of the blocks that request heads are copied
// into; a head of more than half of it gets a string of its own.
const headsSize = 1024

// text returns the request head b as a string, which the request's
// strings (Host, field values) are cut from. Heads are copied one after
// the other into blocks of headsSize bytes, so that a connection's
// requests cost one allocation for their text every few requests rather
// than one each. A block is never written again where it holds a string
// (strings.Builder only appends), and a string keeps its block alive.
//
// A head byte for byte the same as the last one (a client polling the
// same URL, a load balancer's health check, a benchmark) gets the last
// one's string again, which strings being immutable allows: no copy and
// no allocation at all.
func (sc *scratch) text(b []byte) string {
	if string(b) == sc.lastH {
		return sc.lastH
	}
	if len(b) > headsSize/2 {
		sc.lastH = string(b)
		return sc.lastH
	}
	if sc.heads.Cap()-sc.heads.Len() < len(b) {
		sc.heads = strings.Builder{}
		sc.heads.Grow(headsSize)
	}
	n := sc.heads.Len()
	sc.heads.Write(b)
	sc.lastH = sc.heads.String()[n:]
	return sc.lastH
}

// The header map starts small: a map made for more than 8 entries is a
// table whose every slot a range over it or a clear visits, and most
// requests have fewer fields; one with more grows it, for the requests
// after it.
var scratchPool = sync.Pool{New: func() any { return &scratch{header: make(http.Header)} }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

// putScratch returns sc to the pool without the last request's header
// values. The cached request-target stays: it is only ever used for a
// request with the very same target.
func putScratch(sc *scratch) {
	clear(sc.header)
	clear(sc.vals)
	sc.vals = sc.vals[:0]
	sc.req = http.Request{}
	scratchPool.Put(sc)
}

// Kinds of read deadline.
const (
	armNone = iota
	armHeader
	armIdle
	armWrite
	armStale // set by someone else: the next arm sets it, even to none
)

// deadline is a read or write deadline, re-armed lazily: setting one
// costs a timer update per request, so an idle or write deadline is set
// a sixteenth of its duration later than asked, and kept for as long as
// that slack lasts. A timeout is then never shorter than configured and
// at most 1/16 longer. Header deadlines are always set exactly.
type deadline struct {
	kind  int
	armed time.Time // when it was set
	until time.Time // what it was set to
}

func (d *deadline) arm(nc net.Conn, now time.Time, dur time.Duration, kind int) {
	if dur <= 0 {
		if d.kind != armNone {
			d.set(nc, kind, time.Time{})
			d.kind = armNone
		}
		return
	}
	slack := dur / 16
	if kind == armHeader {
		slack = 0
	} else if d.kind == kind && now.Sub(d.armed) < slack {
		return
	}
	d.kind, d.armed, d.until = kind, now, now.Add(dur+slack)
	d.set(nc, kind, d.until)
}

func (d *deadline) set(nc net.Conn, kind int, t time.Time) {
	if kind == armWrite {
		nc.SetWriteDeadline(t)
	} else {
		nc.SetReadDeadline(t)
	}
}

// request builds c.sc.req from the head in b.
func (c *conn) request(b []byte) bool {
	h, sc := &c.sc.head, c.sc
	if !httpguts.ValidHostHeader(string(b[h.host[0]:h.host[1]])) {
		return false
	}
	if string(b[h.target[0]:h.target[1]]) != sc.last {
		u, err := url.ParseRequestURI(string(b[h.target[0]:h.target[1]]))
		if err != nil {
			return false
		}
		sc.last, sc.lastU = string(b[h.target[0]:h.target[1]]), *u
	}
	// One string holds every value of the request.
	hs := sc.text(b)
	clear(sc.header)
	sc.vals = sc.vals[:0]
	for i := range h.n {
		f := &h.fields[i]
		v := hs[f.from:f.to]
		if h.seenBefore(i, sc.header) {
			old := sc.header[f.name]
			sc.header[f.name] = append(old[:len(old):len(old)], v)
			continue
		}
		sc.vals = append(sc.vals, v)
		sc.header[f.name] = sc.vals[len(sc.vals)-1 : len(sc.vals) : len(sc.vals)]
	}
	if h.pragma && !h.cacheCtl {
		sc.header["Cache-Control"] = []string{"no-cache"}
	}
	sc.url = sc.lastU
	proto, minor := "HTTP/1.1", 1
	if h.minor == 0 {
		proto, minor = "HTTP/1.0", 0
	}
	// The context goes in with the request, in one copy of it. The last
	// request's serves again if nothing waited on it (see Answer): most
	// answers never read it, and it would be the one allocation of a
	// redirect.
	if parent := cmp.Or(c.s.BaseContext, context.Background()); c.ctx != nil && c.ctx.reusable() {
		c.ctx.reset(parent)
	} else {
		c.ctx = newRequestContext(parent)
	}
	r := &http.Request{
		Method:     h.method,
		URL:        &sc.url,
		Proto:      proto,
		ProtoMajor: 1,
		ProtoMinor: minor,
		Header:     sc.header,
		Body:       http.NoBody,
		Host:       hs[h.host[0]:h.host[1]],
		RemoteAddr: c.remote,
		RequestURI: sc.last,
		Close:      h.close || minor == 0 && !h.keepAlive,
		TLS:        c.tlsState,
	}
	sc.req = *r.WithContext(c.ctx)
	return true
}

// answer asks the Server's Answer function and reports whether it
// answered.
func (c *conn) answer() (answered bool) {
	c.w.reset(c, &c.sc.req)
	c.wmu.Lock()
	c.active = true
	c.wmu.Unlock()
	c.s.inflight.Add(1)
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				c.s.logger().Error("h1: panic answering a request", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
			// Close without sending more, as net/http does after a
			// handler's panic: a client reading a streamed response
			// sees it cut.
			c.w.broken = true
			answered = true
		}
	}()
	if !c.s.Answer(&c.w, &c.sc.req) {
		if c.w.touched {
			panic("h1: Answer used the ResponseWriter and returned false")
		}
		return false
	}
	return true
}

// endRequest ends the request once Answer returned: it cancels the
// request's context and stops the watch of the client, if one started.
// It returns the byte the watch read, if any (the start of a pipelined
// request), and whether the watch saw the connection end.
func (c *conn) endRequest() (extra []byte, gone bool) {
	c.s.inflight.Add(-1)
	c.wmu.Lock()
	c.active = false
	watching := c.watching
	if watching {
		c.rw.SetReadDeadline(aLongTimeAgo)
	}
	c.liftWrite = false // not applied: the deadline is the one c.wdl armed
	c.wmu.Unlock()
	c.ctx.cancel(nil)
	// A deadline Answer set is set exactly next time.
	if c.wdlTouched.Swap(false) {
		c.wdl = deadline{kind: armStale}
	}
	if c.rdlTouched.Swap(false) {
		c.read = deadline{kind: armStale}
	}
	if !watching {
		return nil, false
	}
	<-c.watchDone
	c.watching, c.read = false, deadline{kind: armStale}
	return c.wb[:c.wn], c.gone
}

// liftLater is how far off the write deadline that the connection armed
// must be for Answer's lift of it to be put off (see setWriteDeadline):
// ten times what the sweeper takes to apply it.
const liftLater = 20 * watchAfter

// setWriteDeadline sets the write deadline for Answer (see
// responseWriter.SetWriteDeadline). While the deadline is still the one
// the connection armed for the request, it spares the timer updates of
// two common cases:
//   - a lift of it (the zero time) is put off while the deadline is at
//     least liftLater away: the sweeper applies it once the request has
//     run for watchAfter, and it is dropped if the request ends first.
//     Until then the deadline armed before the request, never shorter
//     than WriteTimeout, bounds the writes;
//   - a deadline at most a sixteenth of WriteTimeout before the one
//     armed (so, as the armed one is, never earlier than asked and at
//     most that much later) keeps the armed one.
//
// A proxy does both for every exchange: it lifts the deadline at the
// start, because a stream may rightly write for longer, and sets
// WriteTimeout again at the end; most exchanges end within
// milliseconds. That cost a timer update each, and a third to arm the
// connection's deadline again for the next request.
func (c *conn) setWriteDeadline(t time.Time) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.active && c.wdl.kind == armWrite && !c.wdlTouched.Load() {
		switch {
		case t.IsZero():
			if time.Until(c.wdl.until) >= liftLater {
				c.liftWrite = true
				return nil
			}
		case !c.wdl.until.Before(t) && c.wdl.until.Sub(t) <= c.s.WriteTimeout/16:
			c.liftWrite = false
			return nil
		}
	}
	c.liftWrite = false
	c.wdlTouched.Store(true)
	return c.rw.SetWriteDeadline(t)
}

// aLongTimeAgo is a deadline in the past, which ends a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// watchAfter is how long a request runs before the sweeper watches its
// client: a short request pays nothing for the watch, a long one (a
// stream, a long poll, a slow app) learns within about twice this that
// its client went away.
const watchAfter = 100 * time.Millisecond

// errClientGone is the cause of a request's context canceled because its
// client closed the connection.
var errClientGone = errors.New("h1: the client closed the connection")

// sweep starts a watch for every request in Answer for watchAfter or
// more, and applies the lifts of write deadlines put off (see
// setWriteDeadline), until the server stops.
func (s *Server) sweep() {
	t := time.NewTicker(watchAfter)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			if s.inflight.Load() == 0 {
				continue
			}
			s.mu.Lock()
			for c := range s.conns {
				c.watch(now)
			}
			s.mu.Unlock()
		}
	}
}

func (s *Server) stopSweeper() {
	s.stopOnce.Do(func() {
		if s.stop != nil {
			close(s.stop)
		}
	})
}

// watch starts, for a request in Answer since watchAfter or more, a read
// of the connection in the background, as net/http reads during every
// request: a request has no body here, so a read that ends with an error
// means the client went away, and cancels the request's context. A byte
// read is the start of the next request, kept for it. endRequest stops
// the read with a deadline in the past.
func (c *conn) watch(now time.Time) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.active || now.Sub(c.now) < watchAfter {
		return
	}
	if c.liftWrite {
		// A request this long needs the lift for real.
		c.liftWrite = false
		c.wdlTouched.Store(true)
		c.rw.SetWriteDeadline(time.Time{})
	}
	if c.watching {
		return
	}
	c.watching, c.wn, c.gone = true, 0, false
	c.watchDone = make(chan struct{})
	// A request may rightly wait long for its answer: the head's
	// deadline does not bound the wait for the client's next byte.
	c.rw.SetReadDeadline(time.Time{})
	go func() {
		n, err := c.rw.Read(c.wb[:])
		c.wmu.Lock()
		stopped := !c.active
		c.wmu.Unlock()
		c.wn = n
		var ne net.Error
		if n == 0 && err != nil && !(stopped && errors.As(err, &ne) && ne.Timeout()) {
			c.gone = true
			c.ctx.cancel(errClientGone)
		}
		close(c.watchDone)
	}()
}

// closeAfterReply closes the connection after a response, sending FIN
// first and reading what the client still sends for a moment, so that a
// pipelined request does not turn the close into a reset that could
// destroy the response (as net/http does).
func (c *conn) closeAfterReply(graceful bool) {
	if !graceful {
		c.nc.Close()
		return
	}
	if cw, ok := c.rw.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		c.rw.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		var b [512]byte
		for {
			if _, err := c.rw.Read(b[:]); err != nil {
				break
			}
		}
	}
	c.nc.Close()
}

// handOver gives the connection, with the bytes read and not answered, to
// net/http.
func (c *conn) handOver(unread []byte) {
	c.passThrough()
	c.rw.SetDeadline(time.Time{})
	c.give(&handedConn{Conn: c.rw, pre: append([]byte(nil), unread...), tls: c.tlsState})
}

// passThrough makes a TLS connection's recordConn an ordinary
// connection, for net/http.
func (c *conn) passThrough() {
	if c.rec != nil {
		c.rec.pass = true
	}
}

// give passes a connection to net/http, or closes it if net/http stopped
// accepting.
func (c *conn) give(nc net.Conn) {
	l := c.s.ln
	select {
	case l.handoff <- nc:
	case <-l.done:
		c.nc.Close()
	}
}

// handshake runs the TLS handshake, bounded by ReadHeaderTimeout as
// net/http bounds it. A connection that negotiated h2 is served by
// HTTP2 when set, in this goroutine, until it ends. One that negotiated
// another protocol than HTTP/1.1 (h2 without HTTP2, acme-tls/1) goes to
// net/http at once, as a *tls.Conn, so that net/http serves it as it
// would have. It reports whether the connection stays here for HTTP/1.1.
func (c *conn) handshake() bool {
	s := c.s
	var tc *tls.Conn
	if c.rec = newRecordConn(c.nc, c.raw); c.rec != nil {
		tc = tls.Server(c.rec, s.TLSConfig)
	} else {
		tc = tls.Server(c.nc, s.TLSConfig)
	}
	c.idle.Store(true) // a shutdown need not wait for a handshake
	if s.ReadHeaderTimeout > 0 {
		c.nc.SetDeadline(time.Now().Add(s.ReadHeaderTimeout))
	}
	err := tc.Handshake()
	c.idle.Store(false)
	if s.ReadHeaderTimeout > 0 {
		c.nc.SetDeadline(time.Time{}) // the request loop sets its own
	}
	if err != nil {
		s.logger().Debug("h1: TLS handshake error", "remote", c.remote, "error", err)
		c.nc.Close()
		return false
	}
	st := tc.ConnectionState()
	if p := st.NegotiatedProtocol; p == "h2" && s.HTTP2 != nil {
		c.passThrough()
		s.HTTP2.ServeConn(tc)
		return false
	}
	if p := st.NegotiatedProtocol; p != "" && p != "http/1.1" {
		c.passThrough()
		c.give(tc)
		return false
	}
	c.rw, c.tlsState = tc, &st
	return true
}

// handedConn is a connection handed to net/http: it reads the bytes the
// Server read and did not answer before the rest.
type handedConn struct {
	net.Conn
	pre []byte
	tls *tls.ConnectionState // of a TLS connection, for ConnContext
}

func (c *handedConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		if len(c.pre) == 0 {
			c.pre = nil
		}
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite half-closes a TCP connection, which net/http uses before
// closing one.
func (c *handedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// tlsStateKey is the context key of a handed-over connection's TLS state.
type tlsStateKey struct{}

// ConnContext is for http.Server.ConnContext behind a Server with a
// TLSConfig: it records the TLS state of a connection handed over in the
// middle of its life, which net/http, seeing a plain net.Conn, would not
// put in r.TLS.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if hc, ok := c.(*handedConn); ok && hc.tls != nil {
		return context.WithValue(ctx, tlsStateKey{}, hc.tls)
	}
	return ctx
}

// RestoreTLS wraps the handler of the http.Server behind a Server with a
// TLSConfig: it sets r.TLS, from [ConnContext], on the requests of
// connections handed over, before next sees them. It completes what
// net/http builds, as net/http would have on the *tls.Conn.
func RestoreTLS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			r.TLS, _ = r.Context().Value(tlsStateKey{}).(*tls.ConnectionState)
		}
		next.ServeHTTP(w, r)
	})
}

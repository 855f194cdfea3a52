package edge

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/forcehttps/forcehttps"
	"github.com/forcehttps/forcehttps/internal/accesslog"
	"github.com/forcehttps/forcehttps/internal/h1"
)

// Reasons the edge gives in the access log for what it decided itself;
// the others come from the app's [forcehttps.Decision].
const (
	reasonACME        = "acme-http-01"   // the certificate manager answered
	reasonUnknownHost = "unknown-host"   // no app serves the Host
	reasonMisdirected = "sni-mismatch"   // SNI and Host select different apps
	reasonPanic       = "internal-error" // a bug, recovered
	reasonBadHost     = "invalid-host"   // the Host is not a valid host[:port]
)

// Actions in the access log.
const (
	actionProxy    = "proxy"
	actionRedirect = "redirect"
	actionRefuse   = "refuse"
	actionACME     = "acme"
	actionReject   = "reject"
	actionError    = "error"
	actionRespond  = "respond" // a static answer of the app's "respond" list
)

// request is the edge's state for one request: the response writer that
// records what was sent, and what the access log and the proxy need. It
// is pooled; the proxy reaches it through the request context.
type request struct {
	http.ResponseWriter
	s      *Server
	app    *app
	start  time.Time
	id     string
	host   string // the Host, validated and normalized: what the app sees
	secure bool   // the client is on HTTPS (as the app's policy decided)
	tls    bool   // the request reached the edge over TLS

	peer     netip.Addr
	clientIP netip.Addr
	trusted  bool // the peer is a trusted proxy
	action   string
	reason   string

	status       int
	bytes        int64
	hijacked     bool
	appHSTS      bool   // the app sent its own Strict-Transport-Security
	upstreamKind string // the kind of upstream error, if any
	hsts         string // the policy's Strict-Transport-Security value, or ""

	ex          *exchange           // the watch of a proxied exchange, or nil
	fw          http.ResponseWriter // forward's writer while it waits for the app, for its 1xx
	bodyBegun   bool                // a body byte was written
	cut         string              // why the exchange was cut, or ""
	grpcStatus  string              // what a gRPC app answered
	grpcMessage string

	ids requestIDs // kept when the request goes back to the pool
	// The text of the last peer address the request saw, also kept:
	// behind a load balancer, or with a few clients, most requests come
	// from the address the previous one came from.
	lastPeer     netip.Addr
	lastPeerText string
	// And the X-Request-Start value of the last request, for the next
	// one if it starts in the same millisecond (under load, most do).
	lastStartMS   int64
	lastStartText string
}

// startText returns the X-Request-Start value of the request, from the
// pooled request's cache when the last request started in the same
// millisecond.
func (rq *request) startText() string {
	ms := rq.start.UnixMilli()
	if ms != rq.lastStartMS || rq.lastStartText == "" {
		var b [24]byte
		rq.lastStartMS, rq.lastStartText = ms, string(strconv.AppendInt(append(b[:0], "t="...), ms, 10))
	}
	return rq.lastStartText
}

// addrText returns a peer's address as text, from the pooled request's
// cache when it is the address the request saw last.
func (rq *request) addrText(a netip.Addr) string {
	if a != rq.lastPeer || rq.lastPeerText == "" {
		rq.lastPeer, rq.lastPeerText = a, a.String()
	}
	return rq.lastPeerText
}

// requestPool holds requests that are zero but for their IDs and the
// texts they cache for the next request.
var requestPool = sync.Pool{New: func() any { return new(request) }}

type requestKey struct{}

// requestOf returns the edge state of a proxied request, nil once the
// exchange is over.
func requestOf(ctx context.Context) *request {
	if c, ok := ctx.(*exchangeContext); ok {
		return c.rq.Load() // most often: the exchange's own context
	}
	rq, _ := ctx.Value(requestKey{}).(*request)
	return rq
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) { s.serve(w, r, false) }
func (s *Server) serveHTTPS(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil {
		// A request of the HTTPS listener without its TLS state (a
		// connection handed over by the fast path whose state was lost)
		// would be judged plain HTTP: refuse it rather than redirect
		// or forward it with the wrong scheme.
		s.log.Error("edge: HTTPS request without TLS state", "remote", r.RemoteAddr)
		plainError(w, http.StatusInternalServerError, "500 Internal Server Error: the edge lost this connection's TLS state.")
		return
	}
	s.serve(w, r, true)
}

// serve handles a request on either listener.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, overTLS bool) {
	sn := s.snap.Load()
	now := time.Now()
	if r.ProtoMajor == 1 {
		// net/http's ReadTimeout and WriteTimeout bound whole exchanges
		// and are off: an answer of the edge's own gets client_idle to
		// be written, and to have its body read if net/http discards
		// it. A proxied exchange lifts both and watches progress
		// instead (see exchange).
		idle := now.Add(sn.cfg.Timeouts.ClientIdle)
		setWriteDeadline(w, idle)
		if r.Body != nil && r.Body != http.NoBody {
			setReadDeadline(w, idle)
		}
	}
	if s.o.now != nil {
		now = s.now() // the clock of WithClock
	}
	s.answer(w, r, overTLS, now, sn, nil)
}

// routing is what the edge knows of a request before it answers: the app
// the Host selects and what the app's policy decided.
type routing struct {
	host, port string
	hostErr    error
	a          *app
	d          forcehttps.Decision
}

// route parses the Host, finds its app and asks the app's policy.
func route(sn *snapshot, r *http.Request) routing {
	var rt routing
	rt.host, rt.port, rt.hostErr = forcehttps.ParseHost(r.Host)
	if rt.hostErr != nil {
		return rt
	}
	if rt.a = sn.lookup(rt.host); rt.a != nil {
		rt.d = rt.a.mw.Check(r)
	}
	return rt
}

// answerHTTP is the plain-HTTP fast path's answer function (see package
// h1): it answers the requests the edge answers itself (redirects,
// refusals, static answers) exactly as serve would, and leaves the others
// (ACME challenges, invalid or unknown hosts, requests to proxy) to
// net/http, having written and recorded nothing.
func (s *Server) answerHTTP(w http.ResponseWriter, r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, forcehttps.ACMEChallengePrefix) {
		return false
	}
	start, sn := s.received(w), s.snap.Load()
	rt := route(sn, r)
	if rt.hostErr != nil || rt.a == nil {
		return false
	}
	s.holdRedirect(&rt)
	if rt.d.Action == forcehttps.Serve && rt.a.static.get(r.URL.Path) == nil {
		return false // to the proxy
	}
	s.answer(w, r, false, start, sn, &rt)
	return true
}

// answerHTTPS is the HTTPS fast path's answer function: it serves what
// the app's policy lets through (its static answers, and the requests to
// proxy: h1 takes no request with a body or an upgrade, which need the
// connection) on the fast path's connection, and leaves everything else
// to net/http.
func (s *Server) answerHTTPS(w http.ResponseWriter, r *http.Request) bool {
	start, sn := s.received(w), s.snap.Load()
	rt := route(sn, r)
	if rt.hostErr != nil || rt.a == nil || rt.d.Action != forcehttps.Serve {
		return false
	}
	s.answer(w, r, true, start, sn, &rt)
	return true
}

// received returns when the fast path read the request that w answers:
// the time its response's Date is taken from, which saves a clock read
// per request. With a clock of the edge's own (WithClock), it is that
// clock's now.
func (s *Server) received(w http.ResponseWriter) time.Time {
	if s.o.now == nil {
		if t, ok := h1.Received(w); ok {
			return t
		}
	}
	return s.now()
}

// answer handles a request routed (rt) or not yet (nil). rt is given
// by the fast path's answer functions only: a routed request came
// through package h1.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, overTLS bool, start time.Time, sn *snapshot, rt *routing) {
	// A pooled request is zero but its IDs and cached texts (see the
	// deferred function).
	rq := requestPool.Get().(*request)
	rq.ResponseWriter, rq.s, rq.start, rq.tls = w, s, start, overTLS
	idv := rq.ids.next(r.Header["X-Request-Id"])
	rq.id = idv[0]
	w.Header()["X-Request-Id"] = idv
	defer func() {
		p := recover()
		if rq.ex != nil {
			rq.ex.stop()
			if p == http.ErrAbortHandler {
				rq.cut = rq.ex.verdict()
			} else if rq.cut == "" {
				rq.cut = rq.ex.cutReason() // a tunnel cut ends without a panic
			}
		}
		if p != nil && p != http.ErrAbortHandler {
			s.log.Error("edge: panic serving a request", "request_id", rq.id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			rq.action, rq.reason = actionError, reasonPanic
			if rq.status == 0 && !rq.hijacked {
				plainError(rq, http.StatusInternalServerError, "500 Internal Server Error: the edge failed to handle this request. Request ID: "+rq.id)
			}
		}
		s.done(rq, r)
		if rq.ex != nil {
			if released != nil {
				released(rq.id, rq.ex.reusable)
			}
			rq.ex.release()
		}
		*rq = request{ids: rq.ids, lastPeer: rq.lastPeer, lastPeerText: rq.lastPeerText,
			lastStartMS: rq.lastStartMS, lastStartText: rq.lastStartText}
		requestPool.Put(rq)
		if p == http.ErrAbortHandler {
			// The proxy could not finish the response: let net/http abort
			// the connection so that the client sees it was cut.
			panic(p)
		}
	}()

	if rt == nil {
		if !overTLS && s.certs.HandleHTTPChallenge(rq, r) {
			rq.action, rq.reason = actionACME, reasonACME
			return
		}
		v := route(sn, r)
		s.holdRedirect(&v)
		rt = &v
	}
	if rt.hostErr != nil {
		// net/http checks Host syntax loosely, and not at all for the
		// HTTP/2 :authority: the app must never see a Host it cannot
		// trust, in Host or in X-Forwarded-Host.
		rq.action, rq.reason = actionReject, reasonBadHost
		plainError(rq, http.StatusBadRequest, "400 Bad Request: invalid Host header.")
		return
	}
	rq.host = r.Host
	if !sameHostport(r.Host, rt.host, rt.port) {
		rq.host = forcehttps.JoinHost(rt.host, rt.port)
	}
	a, d := rt.a, &rt.d
	if a == nil {
		rq.action, rq.reason = actionReject, reasonUnknownHost
		if overTLS {
			plainError(rq, http.StatusMisdirectedRequest, "421 Misdirected Request: no app serves this host here.")
		} else {
			plainError(rq, http.StatusNotFound, "404 Not Found: no app serves this host here.")
		}
		return
	}
	rq.app = a
	rq.secure, rq.peer, rq.clientIP, rq.trusted, rq.hsts = d.Secure, d.Peer, d.ClientIP, d.TrustedPeer, d.HSTS
	rq.reason = string(d.Reason)
	// An IP address as server name is not allowed (RFC 6066 §3) but some
	// clients send one (wrk does); it names no app, so it counts as absent.
	// The server name is most often the Host itself: no lookup then.
	if overTLS && r.TLS != nil && r.TLS.ServerName != "" && r.TLS.ServerName != rt.host &&
		!isIPLiteral(r.TLS.ServerName) && sn.route(r.TLS.ServerName) != a {
		// Go does not compare SNI with Host. A client reusing a connection
		// whose certificate was chosen for another app (HTTP/2
		// coalescing) must open a new one (RFC 9110 §15.5.20).
		rq.action, rq.reason = actionReject, reasonMisdirected
		a.mw.Handler(http.HandlerFunc(writeMisdirected)).ServeHTTP(rq, r) // rare: made when needed
		return
	}
	switch d.Action {
	case forcehttps.Redirect:
		rq.action = actionRedirect
		a.m.redirect(d.Source)
		a.mw.Serve(rq, r, *d, a.proxy)
		return
	case forcehttps.Refuse:
		rq.action = actionRefuse
		a.mw.Serve(rq, r, *d, a.proxy)
		return
	}
	if sa := a.static.get(r.URL.Path); sa != nil {
		rq.action = actionRespond
		a.mw.Serve(rq, r, *d, sa)
		return
	}
	rq.action = actionProxy
	r2 := rq.startExchange(w, r, rt != nil)
	if r.Body != nil && r.Body != http.NoBody {
		// r2 is our shallow copy: the inbound request keeps its body.
		body := r.Body
		if sn.maxBody > 0 {
			// The reader gets net/http's writer, not the pooled rq: the
			// transport may read the body after the handler returns, and
			// net/http then closes the connection, whose unread body it
			// cannot skip.
			body = http.MaxBytesReader(w, body, sn.maxBody)
		}
		rb := &rq.ex.reqBody
		rb.ReadCloser, rb.ex = body, rq.ex
		r2.Body = rb
		if r.ProtoMajor == 1 {
			// Streams both ways at once (HTTP/2 streams always are):
			// the app's answer may start before the body ends.
			http.NewResponseController(w).EnableFullDuplex()
			rq.ex.body = rb
		}
	}
	a.mw.Serve(rq, r2, *d, a.proxy)
}

// done writes the access log line and counts the request.
func (s *Server) done(rq *request, r *http.Request) {
	var elapsed time.Duration
	if s.o.now == nil {
		// One read of the monotonic clock, where time.Now reads the
		// wall clock too.
		elapsed = time.Since(rq.start)
	} else {
		elapsed = s.now().Sub(rq.start)
	}
	status := rq.status
	if rq.cut != "" && rq.app != nil {
		rq.app.m.cutCount(rq.cut)
	}
	if status == 0 {
		if rq.upstreamKind == kindCanceled || rq.cut == cutClientGone {
			status = 499 // the client went away first (nginx's code)
		} else {
			status = http.StatusOK // net/http sends 200 for an empty response
		}
	}
	name := unknownApp
	am := s.m.unknown
	if rq.app != nil {
		name, am = rq.app.name, rq.app.m
	}
	am.observe(rq.tls, status, elapsed)
	if s.access != nil {
		s.logAccess(rq, r, name, status, elapsed)
	}
}

// logAccess writes the access log line of a request: it decides the
// line's fields, which s.access writes as JSON or through slog. It is a
// function of its own for its frame (the line), which done would
// otherwise take on every request's stack, logged or not.
func (s *Server) logAccess(rq *request, r *http.Request, name string, status int, elapsed time.Duration) {
	scheme := "http"
	if rq.tls {
		scheme = "https"
	}
	peer := rq.peer
	if !peer.IsValid() {
		peer = peerAddr(r.RemoteAddr)
	}
	client := rq.clientIP
	if !client.IsValid() {
		client = peer
	}
	peerText, clientText := rq.addrText(peer), ""
	if client == peer {
		clientText = peerText // most often: one string for both
	} else {
		clientText = client.String()
	}
	s.access.Log(&accesslog.Line{
		App:        name,
		Host:       r.Host,
		Method:     r.Method,
		Path:       r.URL.Path,
		Status:     status,
		Bytes:      rq.bytes,
		DurationMS: float64(elapsed.Microseconds()) / 1000,
		RequestID:  rq.id,
		Scheme:     scheme,
		Peer:       peerText,
		ClientIP:   clientText,
		Action:     rq.action,
		Reason:     rq.reason,
		// Left out when empty:
		UpstreamError: rq.upstreamKind,
		Cut:           rq.cut,
		GRPCStatus:    rq.grpcStatus,
		GRPCMessage:   rq.grpcMessage,
	})
}

const unknownApp = "_unknown"

// peerAddr parses a RemoteAddr.
func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// plainError writes a short plain-text error. No client input goes into
// it.
func plainError(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	h["Cache-Control"] = []string{"no-store"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

// writeMisdirected answers a request whose Host belongs to another app
// than the connection's SNI; it runs inside the Host's app policy, so
// that it gets the app's HSTS.
func writeMisdirected(w http.ResponseWriter, r *http.Request) {
	plainError(w, http.StatusMisdirectedRequest, "421 Misdirected Request: this connection was set up for another host; open a new one.")
}

// WriteHeader records the status and, for HTTPS responses, whether HSTS
// was added by the edge.
func (rq *request) WriteHeader(code int) {
	if rq.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		rq.status = code
		// ReverseProxy clears the response headers after it forwards a
		// 1xx: set the id again if it went.
		if h := rq.ResponseWriter.Header(); len(h["X-Request-Id"]) == 0 {
			h["X-Request-Id"] = []string{rq.id}
		}
		if rq.tls && rq.app != nil && !rq.appHSTS {
			if _, ok := rq.ResponseWriter.Header()["Strict-Transport-Security"]; ok {
				rq.app.m.hstsInjected()
			}
		}
		if rq.ex != nil && code >= 200 {
			h := rq.ResponseWriter.Header()
			if rq.ex.body != nil && rq.ex.body.unfinished() {
				// With full duplex on, net/http does not read what is
				// left of the body before answering, and cannot reuse
				// the connection: tell the client.
				h["Connection"] = []string{"close"}
			}
			rq.ResponseWriter.WriteHeader(code)
			if len(h["Grpc-Status"]) > 0 {
				// A trailers-only gRPC answer: its head must end the
				// stream (HEADERS with END_STREAM), so it is never sent
				// before the handler returns.
				rq.bodyBegun = true
				rq.ex.beginBody()
				return
			}
			// A stream's head goes at once; another's waits a moment
			// for its body, to leave in the same write.
			immediate := isEventStream(h) || rq.grpc()
			rq.bodyBegun = rq.bodyBegun || immediate
			rq.ex.wroteHead(immediate)
			return
		}
	}
	rq.ResponseWriter.WriteHeader(code)
}

// grpc reports whether the response is a gRPC one.
func (rq *request) grpc() bool {
	ct := rq.ResponseWriter.Header()["Content-Type"]
	return len(ct) == 1 && strings.HasPrefix(ct[0], "application/grpc")
}

// grpcFrom records the gRPC status of a response, from its headers (a
// trailers-only response) or its trailers.
func (rq *request) grpcFrom(h http.Header) {
	if v := h["Grpc-Status"]; len(v) == 1 {
		rq.grpcStatus = v[0]
		if m := h["Grpc-Message"]; len(m) == 1 {
			rq.grpcMessage = m[0]
		}
	}
}

// Write counts the bytes of the body.
func (rq *request) Write(p []byte) (int, error) {
	if rq.status == 0 {
		rq.WriteHeader(http.StatusOK)
	}
	var n int
	var err error
	if rq.ex != nil {
		if !rq.bodyBegun {
			rq.bodyBegun = true
			rq.ex.beginBody()
		}
		n, err = rq.ex.write(rq.ResponseWriter, p)
	} else {
		n, err = rq.ResponseWriter.Write(p)
	}
	rq.bytes += int64(n)
	return n, err
}

// Flush sends what is buffered.
func (rq *request) Flush() { _ = rq.FlushError() }

// FlushError is Flush for http.ResponseController.
func (rq *request) FlushError() error {
	if rq.status == 0 {
		rq.WriteHeader(http.StatusOK)
	}
	if rq.ex != nil {
		if !rq.bodyBegun {
			rq.bodyBegun = true
			rq.ex.beginBody() // the watchdog must not flush as well
		}
		return rq.ex.flush(rq.ResponseWriter)
	}
	return flush(rq.ResponseWriter)
}

// Hijack hands the connection over, for protocol upgrades; a proxied
// tunnel is watched for stream_idle.
func (rq *request) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, b, err := http.NewResponseController(rq.ResponseWriter).Hijack()
	if err == nil {
		rq.hijacked = true
		if rq.ex != nil {
			// ReverseProxy writes the app's 101 on the hijacked
			// connection, past WriteHeader. Recorded here rather than
			// when the 101 arrives: ReverseProxy may still refuse it (a
			// switch to another protocol than asked) and answer 502.
			if rq.status == 0 {
				rq.status = http.StatusSwitchingProtocols
			}
			c = rq.ex.startTunnel(c)
		}
	}
	return c, b, err
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (rq *request) Unwrap() http.ResponseWriter { return rq.ResponseWriter }

// bufferPool recycles the proxy's copy buffers.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *(buffers.Get().(*[]byte)) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

// errNoState is reported when the proxy runs without the edge's state,
// which is a bug.
var errNoState = errors.New("edge: proxied request without edge state")

// isIPLiteral reports whether s is an IP address, with or without brackets.
func isIPLiteral(s string) bool {
	_, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	return err == nil
}

// sameHostport reports whether hostport is already the canonical form of
// host and port (the common case), so that it need not be rebuilt.
func sameHostport(hostport, host, port string) bool {
	if !strings.HasPrefix(hostport, host) {
		return false // IPv6 brackets, case, trailing dot, punycode
	}
	rest := hostport[len(host):]
	if port == "" {
		return rest == ""
	}
	return len(rest) == len(port)+1 && rest[0] == ':' && rest[1:] == port
}

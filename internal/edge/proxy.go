package edge

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/forcehttps/forcehttps"
)

// appProxy is what the app's policy wraps (app.proxy): the body limit,
// then the reverse proxy. It is the app itself under another type, so
// that an app costs no handler object.
type appProxy app

// reverseProxy returns the app's reverse proxy, made at its first use:
// in a table of many apps, those that only redirect never make one.
func (a *app) reverseProxy() *httputil.ReverseProxy {
	if p := a.rp.Load(); p != nil {
		return p
	}
	p := &httputil.ReverseProxy{
		Rewrite:   a.rewrite,
		Transport: a.rt,
		// Every write is sent at once (request.Write flushes): an event
		// stream or a slow body reaches the client as it comes, and the
		// bytes the access log counts are the bytes sent. The head is
		// sent by the exchange's watchdog if its body is slow to come.
		// FlushInterval stays 0: -1 would also start, for every
		// response, a timer that flushes the head at once, before its
		// body (ReverseProxy still does for responses without a
		// Content-Length).
		ModifyResponse: a.modifyResponse,
		ErrorHandler:   a.proxyError,
		BufferPool:     bufferPool{},
		ErrorLog:       a.snap.errorLog,
	}
	// Two first requests may make one each: the same, one is kept.
	a.rp.CompareAndSwap(nil, p)
	return a.rp.Load()
}

// ServeHTTP limits the body, then proxies to the app.
func (ap *appProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := (*app)(ap)
	rq := requestOf(r.Context())
	if rq == nil {
		// Only the edge's serve puts requests here; never reached.
		a.s.log.Error(errNoState.Error())
		plainError(w, http.StatusInternalServerError, "500 Internal Server Error")
		return
	}
	if max := a.snap.maxBody; max > 0 && r.ContentLength > max {
		rq.upstreamKind = kindBodyTooLarge
		a.m.upstreamError(kindBodyTooLarge)
		a.writeError(w, r, http.StatusRequestEntityTooLarge, "413 Content Too Large: the request body is larger than "+strconv.FormatInt(max, 10)+" bytes. Request ID: "+rq.id)
		return
	}
	if msg := h2Malformed(r); msg != "" {
		rq.upstreamKind = kindBadBody
		a.writeError(w, r, http.StatusBadRequest, msg+" Request ID: "+rq.id)
		return
	}
	if a.forward(w, r, rq) {
		return
	}
	a.reverseProxy().ServeHTTP(w, guardH2Body(r))
}

// rewrite builds the request to the app. The inbound request is not
// touched: pr.Out is ReverseProxy's copy, from which it has already
// removed the hop-by-hop headers, Forwarded and X-Forwarded-For, -Host and
// -Proto.
func (a *app) rewrite(pr *httputil.ProxyRequest) {
	a.rewriteInto(pr, make([]string, 0, rewriteFields))
}

// rewriteFields is how many fields rewrite sets at most.
const rewriteFields = 7

// rewriteInto is rewrite with the backing array of the values it sets,
// vals (empty, with room for rewriteFields): a new one for ReverseProxy,
// whose transport may hold the request after the handler returned, and
// forward's pooled one, whose request is done with when forward returns.
func (a *app) rewriteInto(pr *httputil.ProxyRequest, vals []string) {
	in, out := pr.In, pr.Out
	rq := requestOf(in.Context())
	out.URL.Scheme = a.target.Scheme
	out.URL.Host = a.target.Host
	// The app sees the Host the client asked for, as behind any PaaS
	// router, validated and normalized; X-Forwarded-Host says it too.
	out.Host = rq.host
	h := out.Header
	// From a client, every forwarding header is a lie. From a trusted
	// proxy, only the canonical ones the edge keeps below are believed:
	// the aliases and other scheme headers a load balancer passes through
	// from its client (X-Forwarded-Ssl: on, X_Forwarded_Proto) would
	// contradict the edge's X-Forwarded-Proto in apps that read them.
	stripForwarding(h, rq.trusted)
	// A client's X-Request-Id aliases could contradict ours.
	stripAliases(h, "x-request-id", "X-Request-Id")
	sn := a.snap

	// The fields set here share one backing array of values: one
	// allocation per request at most rather than one per field. Each
	// field's slice is capped at its own value, so that appending to one
	// cannot overwrite the next.
	set := func(k, v string) {
		vals = append(vals, v)
		n := len(vals)
		h[k] = vals[n-1 : n : n]
	}
	proto := "http"
	if rq.secure {
		proto = "https"
	}
	// One value, always http or https: what the client used, as the edge
	// saw it or as a trusted proxy said (ws and wss count as http and
	// https).
	set("X-Forwarded-Proto", proto)

	peerIP := rq.addrText(rq.peer)
	peer := peerIP
	if rq.trusted {
		if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 {
			peer = strings.Join(prior, ", ") + ", " + peer
		}
		keep(h, in.Header, "Forwarded")
	}
	set("X-Forwarded-For", peer)
	if !rq.trusted || !keep(h, in.Header, "X-Forwarded-Host") {
		set("X-Forwarded-Host", rq.host)
	}
	if !rq.trusted || !keep(h, in.Header, "X-Forwarded-Port") {
		port := sn.httpPort
		if rq.tls {
			port = sn.httpsPort
		}
		set("X-Forwarded-Port", port)
	}
	if !rq.trusted || !keep(h, in.Header, "X-Real-Ip") {
		client := peerIP // the client is most often the peer itself
		if rq.clientIP != rq.peer {
			client = rq.clientIP.String()
		}
		set("X-Real-Ip", client)
	}
	if !rq.trusted || !keep(h, in.Header, "X-Request-Start") {
		set("X-Request-Start", rq.startText())
	}
	set("X-Request-Id", rq.id)
}

// keep copies header k of a trusted proxy's request, reporting whether
// there was one.
func keep(dst, src http.Header, k string) bool {
	v := src[k]
	if len(v) == 0 {
		return false
	}
	dst[k] = v
	return true
}

// managedHeaders are the headers (compared lower-case, with "_" and "."
// read as "-") through which a proxy tells an app about the client. From
// a peer that is not a trusted proxy they are lies, and they are removed
// in every spelling: CGI-style backends read X_Forwarded_Proto as
// X-Forwarded-Proto. Every "x-forwarded-*" header counts too.
var managedHeaders = []string{
	"forwarded",
	"x-real-ip",
	"x-request-start",
	"x-scheme",
	"x-url-scheme",
	"front-end-https",
	"x-arr-ssl",
	"cloudfront-forwarded-proto",
	"cf-visitor",
	"cf-connecting-ip",
	"true-client-ip",
	"x-client-ip",
}

// trustedKept are the headers of a trusted proxy that rewrite keeps, in
// their canonical spelling only.
var trustedKept = map[string]bool{
	"Forwarded": true, "X-Forwarded-For": true, "X-Forwarded-Host": true,
	"X-Forwarded-Port": true, "X-Real-Ip": true, "X-Request-Start": true,
}

// stripForwarding removes every managed header, except, for a trusted
// proxy, the canonical spellings of trustedKept.
func stripForwarding(h http.Header, trusted bool) {
	for k := range h {
		if trusted && trustedKept[k] {
			continue
		}
		if hasPrefixFold(k, "x-forwarded-") {
			delete(h, k)
			continue
		}
		for _, m := range managedHeaders {
			if len(k) == len(m) && hasPrefixFold(k, m) {
				delete(h, k)
				break
			}
		}
	}
}

// stripAliases removes the spellings of name (lower case) other than
// its canonical one, canon (X_Request_Id for X-Request-Id).
func stripAliases(h http.Header, name, canon string) {
	for k := range h {
		if k != canon && len(k) == len(name) && hasPrefixFold(k, name) {
			delete(h, k)
		}
	}
}

// hasPrefixFold reports whether s starts with prefix (lower case),
// ignoring ASCII case and reading "_" and "." in s as "-".
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '_' || c == '.':
			c = '-'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// modifyResponse adjusts the app's response before it is copied to the
// client.
func (a *app) modifyResponse(resp *http.Response) error {
	rq := requestOf(resp.Request.Context())
	h := resp.Header
	if v := h["Strict-Transport-Security"]; len(v) > 0 {
		rq.appHSTS = true
		if len(v) > 1 {
			// Browsers use the first and graders fail the page: send one.
			h["Strict-Transport-Security"] = v[:1]
		}
	}
	// The edge's X-Request-Id replaces the app's (request.WriteHeader
	// sets it).
	delete(h, "X-Request-Id")
	if !rq.secure {
		// Never over plain HTTP (RFC 6797 §7.2). The middleware filters
		// what goes through WriteHeader; a 101 is written by ReverseProxy
		// on the hijacked connection, so it is filtered here.
		delete(h, "Strict-Transport-Security")
	}
	if a.force {
		if loc := h["Location"]; len(loc) == 1 {
			if fixed, ok := a.httpsLocation(loc[0]); ok {
				h["Location"] = []string{fixed}
			}
		}
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// The connection becomes a tunnel (WebSocket): the deadlines,
		// meant for requests, must not cut it; the exchange's watchdog
		// applies stream_idle instead.
		rc := http.NewResponseController(rq)
		rc.SetReadDeadline(time.Time{})
		rc.SetWriteDeadline(time.Time{})
		if rq.hsts != "" && len(h["Strict-Transport-Security"]) == 0 {
			// ReverseProxy writes the 101 itself on the hijacked
			// connection, past the policy's writer: add the policy's
			// HSTS here. rq.hsts is only set for secure requests.
			h["Strict-Transport-Security"] = []string{rq.hsts}
			a.m.hstsInjected()
		}
		return nil
	}
	rq.grpcFrom(h) // a trailers-only answer
	if rq.ex != nil {
		rq.ex.receivedHead()
		if resp.ProtoMajor == 1 && resp.Request.Method != http.MethodHead {
			// An HTTP/1 body of declared length ends with its last
			// byte; an HTTP/2 app's may still wait for END_STREAM.
			rq.ex.remain = resp.ContentLength
		}
		if isEventStream(h) {
			rq.ex.streamResponse()
		}
		if resp.Body != nil && resp.Body != http.NoBody {
			rb := &rq.ex.respBody
			*rb = responseBody{ReadCloser: resp.Body, ex: rq.ex, rq: rq, resp: resp}
			resp.Body = rb
		}
	}
	return nil
}

// httpsLocation turns an absolute http:// Location on one of the app's
// own domains into its https:// twin on the public HTTPS port. Other
// hosts, relative references and https URLs are left alone.
func (a *app) httpsLocation(loc string) (string, bool) {
	if len(loc) < 7 || !strings.EqualFold(loc[:7], "http://") {
		return "", false
	}
	u, err := url.Parse(loc)
	if err != nil || u.Host == "" || u.User != nil {
		return "", false
	}
	if a.snap.route(u.Host) != a {
		return "", false
	}
	host, err := forcehttps.NormalizeHost(u.Hostname())
	if err != nil {
		return "", false
	}
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + host + "]"
	}
	if p := a.snap.httpsPort; p != "443" {
		host += ":" + p
	}
	u.Scheme, u.Host = "https", host
	return u.String(), true
}

// Kinds of upstream errors, for the metric and the access log.
const (
	kindConnect      = "connect"        // the app refused or could not be reached
	kindTimeout      = "timeout"        // no response (headers) in time
	kindResponse     = "response"       // the connection failed or the response was invalid
	kindCanceled     = "canceled"       // the client went away
	kindBodyTooLarge = "body-too-large" // the request body exceeded limits.max_body_bytes
	kindBadBody      = "bad-body"       // an HTTP/2 body that does not match its content-length (h2guard.go)
)

// proxyError answers when the app could not, before any byte of the
// response was sent: 502, 504 or 413, or 408 when the client stopped
// sending its body, with the request ID and no detail of the failure,
// which is logged instead. A gRPC call gets a gRPC status instead.
func (a *app) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	rq := requestOf(r.Context())
	if errors.As(err, new(*bodyLengthError)) {
		// The client's fault, not the app's, and the client is still
		// there: an HTTP/2 body that ended short of its content-length
		// (h2guard.go) also reads as a failed body below, which would
		// leave the client with no answer.
		rq.upstreamKind = kindBadBody
		a.writeError(w, r, http.StatusBadRequest, "400 Bad Request: the request body is shorter than its content-length. Request ID: "+rq.id)
		return
	}
	if ex := rq.ex; ex != nil {
		switch v := ex.verdict(); {
		case v == cutClientIdle || v == cutMaxDuration || v == cutStreamIdle || v == cutUpstreamReadIdle:
			rq.cut = v
			status, msg := http.StatusRequestTimeout, "408 Request Timeout: the request body stopped coming."
			switch {
			case v == cutMaxDuration:
				status, msg = http.StatusGatewayTimeout, "504 Gateway Timeout: the exchange lasted longer than this app allows."
			case ex.cutByApp():
				status, msg = http.StatusGatewayTimeout, "504 Gateway Timeout: the app stopped reading the request."
			}
			if r.ProtoMajor == 1 {
				// The client may still be sending: close the connection.
				w.Header()["Connection"] = []string{"close"}
			}
			a.writeError(w, r, status, msg+" Request ID: "+rq.id)
			return
		case v == cutClientGone && ex.parent.Err() != nil:
			rq.cut, rq.upstreamKind = cutClientGone, kindCanceled
			return // nobody to answer
		case v == cutClientGone && ex.bodyErr != nil:
			// The body could not be read, but the client may still be
			// waiting (a malformed chunked body, a half-closed
			// connection): returning without a word would make net/http
			// send an empty 200. To a client that is gone, the answer
			// costs a failed write.
			rq.upstreamKind = kindBadBody
			if clientDisconnected(ex.bodyErr) {
				rq.cut = cutClientGone
			}
			if r.ProtoMajor == 1 {
				w.Header()["Connection"] = []string{"close"}
			}
			a.writeError(w, r, http.StatusBadRequest, "400 Bad Request: the request body could not be read. Request ID: "+rq.id)
			return
		}
	}
	kind, status := classify(r.Context(), err)
	rq.upstreamKind = kind
	if kind == kindCanceled {
		rq.cut = cutClientGone
		return // nobody to answer
	}
	a.m.upstreamError(kind)
	a.s.log.Warn("edge: upstream error", "app", a.name, "upstream", a.target.Host, "kind", kind, "request_id", rq.id, "error", err.Error())
	var msg string
	switch status {
	case http.StatusGatewayTimeout:
		msg = "504 Gateway Timeout: the app did not answer in time."
	case http.StatusRequestEntityTooLarge:
		msg = "413 Content Too Large: the request body is larger than " + strconv.FormatInt(a.snap.maxBody, 10) + " bytes."
	default:
		msg = "502 Bad Gateway: the app is not answering."
	}
	a.writeError(w, r, status, msg+" Request ID: "+rq.id)
}

// clientDisconnected reports whether an error reading a request body
// means the client's connection ended (rather than a malformed body).
func clientDisconnected(err error) bool {
	var ne net.Error
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.As(err, &ne)
}

// gRPC status codes the edge answers with
// (https://grpc.github.io/grpc/core/md_doc_statuscodes.html).
const (
	grpcDeadlineExceeded  = "4"
	grpcResourceExhausted = "8"
	grpcInternal          = "13" // what gRPC makes of an HTTP 400
	grpcUnavailable       = "14"
)

// writeError writes an error of the edge's: plain text, or for a gRPC
// call a trailers-only gRPC answer (HTTP 200 with grpc-status and
// grpc-message), which gRPC clients understand and an HTML or text page
// would only confuse.
func (a *app) writeError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if !isGRPC(r) {
		plainError(w, status, msg)
		return
	}
	code := grpcUnavailable
	switch status {
	case http.StatusGatewayTimeout, http.StatusRequestTimeout:
		code = grpcDeadlineExceeded
	case http.StatusRequestEntityTooLarge:
		code = grpcResourceExhausted
	case http.StatusBadRequest:
		code = grpcInternal
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/grpc"}
	h["Grpc-Status"] = []string{code}
	h["Grpc-Message"] = []string{grpcEscape(msg)}
	if rq := requestOf(r.Context()); rq != nil {
		rq.grpcStatus, rq.grpcMessage = code, msg
	}
	w.WriteHeader(http.StatusOK)
}

// grpcEscape percent-encodes a grpc-message as the gRPC protocol asks:
// bytes outside printable ASCII, and "%".
func grpcEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '%' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// classify names an upstream error and picks the status for it.
func classify(ctx context.Context, err error) (kind string, status int) {
	var tooLarge *http.MaxBytesError
	var ne net.Error
	var op *net.OpError
	switch {
	case errors.As(err, &tooLarge):
		return kindBodyTooLarge, http.StatusRequestEntityTooLarge
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return kindCanceled, 0
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return kindTimeout, http.StatusGatewayTimeout
	case errors.As(err, &op) && op.Op == "dial", errors.Is(err, syscall.ECONNREFUSED):
		return kindConnect, http.StatusBadGateway
	}
	return kindResponse, http.StatusBadGateway
}

// requestIDs hands out request IDs, each in the one-element slice that
// the X-Request-Id response header holds. A new ID and its slice would
// cost two allocations per request: they are made idBatch at a time
// instead, one allocation of each kind per batch. A request's slice
// ends at its own element (appending to it copies), and every ID and
// slice is handed out once; a batch is kept by a pooled request and
// goes on with it, so that it needs no lock.
type requestIDs struct {
	text  string   // idBatch new IDs of idLen bytes, the first used of them handed out
	used  int      // IDs of text handed out
	slots []string // the slices not handed out yet, one element each
}

const (
	idBatch = 32
	idLen   = 32 // 128 bits in hex
)

// next returns the ID of a request whose X-Request-Id values are client:
// the client's if it is one value of 20 to 128 characters of
// [A-Za-z0-9+/=-], and a new random one otherwise.
func (ids *requestIDs) next(client []string) []string {
	if len(ids.slots) == 0 {
		ids.slots = make([]string, idBatch)
	}
	v := ids.slots[:1:1]
	ids.slots = ids.slots[1:]
	if len(client) == 1 && validRequestID(client[0]) {
		v[0] = client[0]
		return v
	}
	if ids.used == 0 || ids.used == idBatch {
		ids.text, ids.used = newRequestIDs(), 0
	}
	v[0] = ids.text[ids.used*idLen : (ids.used+1)*idLen]
	ids.used++
	return v
}

// newRequestIDs returns idBatch new IDs, one after the other. Each has
// 128 bits from the runtime's per-thread ChaCha8 generator, seeded by
// the system: unique and unguessable enough to correlate log lines,
// which is all a request ID is for, at a fraction of crypto/rand's cost.
func newRequestIDs() string {
	var b [16]byte
	var out [idBatch * idLen]byte
	for i := range idBatch {
		binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
		binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
		hex.Encode(out[i*idLen:], b[:])
	}
	return string(out[:])
}

func validRequestID(s string) bool {
	if len(s) < 20 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '+', c == '/', c == '=', c == '-':
		default:
			return false
		}
	}
	return true
}

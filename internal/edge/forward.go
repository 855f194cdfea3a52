package edge

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/net/http/httpguts"
)

// forward proxies the plainest requests (no body, no upgrade, a query
// ReverseProxy would send unchanged) to an http:// HTTP/1.1 app through
// the lean transport, and reports whether it took r. It does what
// httputil.ReverseProxy does with the edge's rewrite, modifyResponse and
// proxyError, step for step and in the same order, without what costs
// ReverseProxy a dozen allocations per request and the edge does not
// need: a deep copy of the request and its header, the client trace and
// its contexts for 1xx responses (the lean transport calls interim
// instead), and a timer per streamed response (every write the edge
// makes is flushed already). Without that timer, the head of a response
// of unknown length waits a moment for its body, as the edge's other
// heads do, where ReverseProxy's timer races the first body write: an
// empty body then leaves as Content-Length: 0, never as an empty chunked
// body, and the body's first bytes leave with the head, which net/http
// then gives a sniffed Content-Type if the app sent none; through
// ReverseProxy, either, from one request to the next. The differential
// tests (forward_test.go) send the same requests and app answers through
// both, byte for byte.
func (a *app) forward(w http.ResponseWriter, r *http.Request, rq *request) bool {
	lean := a.lean
	// A request of length 0 has no body, whatever its Body: ReverseProxy
	// sends none (an HTTP/2 request's Body is never http.NoBody, even
	// when its HEADERS frame ended the stream).
	if lean == nil || a.s.o.noForward || r.ContentLength != 0 ||
		upgradeType(r.Header) != "" || !plainQuery(r.URL.RawQuery) {
		return false
	}
	f := fwdPool.Get().(*fwdRequest)
	defer f.release()
	out, u, h := &f.req, &f.url, f.h
	for k, v := range r.Header {
		// The values are shared, not copied: the edge never changes a
		// value in place, it sets new slices (rewrite's set, keep).
		h[k] = v
	}
	removeHopByHop(h)
	if httpguts.HeaderValuesContainsToken(r.Header["Te"], "trailers") {
		h["Te"] = []string{"trailers"}
	}
	delete(h, "Forwarded")
	delete(h, "X-Forwarded-For")
	delete(h, "X-Forwarded-Host")
	delete(h, "X-Forwarded-Proto")

	*out = *r // a shallow copy with r's context, as r.WithContext makes
	*u = *r.URL
	out.URL, out.Header, out.Body, out.Close = u, h, nil, false
	a.rewriteInto(&httputil.ProxyRequest{In: r, Out: out}, f.vals[:0])
	if _, ok := h["User-Agent"]; !ok {
		// Not Go's default User-Agent: none, as ReverseProxy sends.
		h["User-Agent"] = noUserAgent
	}
	if !lean.Takes(out) {
		return false // ReverseProxy starts again from r
	}
	if forwarded != nil {
		forwarded(out)
	}

	// Send, not RoundTrip: Takes said yes above. rq.fw is for interim.
	rq.fw = w
	res, err := lean.Send(out)
	rq.fw = nil
	if err != nil {
		a.proxyError(w, out, err)
		return true
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		// The lean transport refuses a 101 to a request that did not
		// ask to switch; ReverseProxy answers 502 to one as well.
		res.Body.Close()
		a.proxyError(w, out, errUnaskedSwitch)
		return true
	}
	removeHopByHop(res.Header)
	if err := a.modifyResponse(res); err != nil {
		res.Body.Close()
		a.proxyError(w, out, err)
		return true
	}
	copyHeader(w.Header(), res.Header)
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		w.Header().Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(res.StatusCode)
	if err := a.copyBody(w, res.Body); err != nil {
		res.Body.Close()
		// The response is cut short: only an aborted connection (or
		// stream) tells the client so.
		panic(http.ErrAbortHandler)
	}
	res.Body.Close() // now, to fill res.Trailer
	if len(res.Trailer) > 0 {
		// Chunked framing, so that the trailers can follow.
		http.NewResponseController(w).Flush()
	}
	if len(res.Trailer) == announced {
		copyHeader(w.Header(), res.Trailer)
		return true
	}
	for k, vv := range res.Trailer {
		k = http.TrailerPrefix + k
		for _, v := range vv {
			w.Header().Add(k, v)
		}
	}
	return true
}

// fwdRequest is what forward builds to send: the request to the app,
// its URL, its header and the values of the fields rewrite sets. It is
// pooled: forward's request is done with when forward returns (the lean
// transport keeps no reference to it once the response body is closed,
// and forward closes it on every path), and these make up two thirds of
// the bytes a proxied request allocates otherwise.
type fwdRequest struct {
	req  http.Request
	url  url.URL
	h    http.Header
	vals [rewriteFields]string
}

// fwdMaxFields is the largest header a pooled fwdRequest keeps: a map
// does not shrink, and one client's huge header should not stay with
// the pool.
const fwdMaxFields = 64

var fwdPool = sync.Pool{New: func() any { return &fwdRequest{h: make(http.Header, 16)} }}

// release clears f and puts it back in the pool. The header's values
// are the inbound request's and the edge's own: clearing drops the
// references, not the values.
func (f *fwdRequest) release() {
	if len(f.h) > fwdMaxFields {
		return
	}
	f.req = http.Request{}
	f.url = url.URL{}
	clear(f.h)
	clear(f.vals[:])
	fwdPool.Put(f)
}

// noUserAgent is the User-Agent of a request that had none, shared: the
// edge never changes a header value in place, and its capacity makes an
// append copy it.
var noUserAgent = []string{""}

// forwarded, when set (by tests, before any request), is called with
// each request forward takes, as it is sent to the app.
var forwarded func(*http.Request)

var errUnaskedSwitch = errors.New("edge: the app switched protocols without being asked to")

// copyBody copies an app's response body to the client, as
// ReverseProxy's copyBuffer does: a read error other than the end is
// logged, and returned after what was read with it is written.
func (a *app) copyBody(w io.Writer, body io.Reader) error {
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	buf := *bp
	for {
		n, rerr := body.Read(buf)
		if rerr != nil && rerr != io.EOF && rerr != context.Canceled {
			a.snap.errorLog.Printf("httputil: ReverseProxy read error during body copy: %v", rerr)
		}
		if n > 0 {
			nw, werr := w.Write(buf[:n])
			if werr != nil {
				return werr
			}
			if nw != n {
				return io.ErrShortWrite
			}
		}
		if rerr != nil {
			if rerr == io.EOF {
				return nil
			}
			return rerr
		}
	}
}

// interim forwards an app's 1xx response (103 Early Hints) to the client
// of a forwarded request, as ReverseProxy's client trace does: with its
// fields, which are then cleared, since a ResponseWriter does not clear
// them after a 1xx.
func interim(req *http.Request, code int, hdr http.Header) error {
	rq := requestOf(req.Context())
	if rq == nil || rq.fw == nil {
		return nil
	}
	h := rq.fw.Header()
	copyHeader(h, hdr)
	rq.fw.WriteHeader(code)
	clear(h)
	return nil
}

// hopHeaders are the fields a proxy never forwards (RFC 9110 §7.6.1),
// the list ReverseProxy removes.
var hopHeaders = [...]string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// removeHopByHop removes the fields named in Connection, then the
// hop-by-hop fields.
func removeHopByHop(h http.Header) {
	for _, f := range h["Connection"] {
		for f != "" {
			name := f
			if i := strings.IndexByte(f, ','); i >= 0 {
				name, f = f[:i], f[i+1:]
			} else {
				f = ""
			}
			if name = textproto.TrimString(name); name != "" {
				delete(h, textproto.CanonicalMIMEHeaderKey(name))
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// upgradeType returns the protocol a request asks to switch to, or "".
func upgradeType(h http.Header) string {
	if !httpguts.HeaderValuesContainsToken(h["Connection"], "Upgrade") {
		return ""
	}
	return textproto.MIMEHeader(h).Get("Upgrade")
}

// copyHeader adds every value of src to dst. A field dst does not have
// takes src's values without a copy, capped so that a later Add copies
// them.
func copyHeader(dst, src http.Header) {
	for k, vv := range src {
		if len(vv) == 0 {
			continue
		}
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if old, ok := dst[ck]; ok {
			dst[ck] = append(old, vv...)
			continue
		}
		dst[ck] = vv[:len(vv):len(vv)]
	}
}

// plainQuery reports whether ReverseProxy would send a query unchanged:
// no ";" and no malformed escape (it re-encodes those).
func plainQuery(q string) bool {
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case ';':
			return false
		case '%':
			if i+2 >= len(q) || !isHex(q[i+1]) || !isHex(q[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

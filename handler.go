package forcehttps

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/forcehttps/forcehttps/internal/lex"
)

// Handler returns a handler that enforces the policy and passes the
// requests it serves to next.
//
// Redirects and refusals are written by the middleware itself, with HSTS
// when the client is on HTTPS and the security headers. For served
// requests, the security headers and HSTS are added when next writes its
// response, and only where next did not set the header itself (a handler,
// or an upstream behind a reverse proxy, keeps its own values; set a header
// to nil in the map to send none). On plain-HTTP responses a
// Strict-Transport-Security header from next is removed, as RFC 6797 §7.2
// requires. Cookies set over HTTPS get the Secure attribute.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return &handler{m: m, next: next}
}

type handler struct {
	m    *Middleware
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.m.Serve(w, r, h.m.Check(r), h.next)
}

// Serve answers r as Handler(next) does, with a decision that [Middleware.Check]
// returned for r. It lets a caller that needs the decision itself (for logs
// or metrics, as the edge does) avoid deciding twice.
func (m *Middleware) Serve(w http.ResponseWriter, r *http.Request, d Decision, next http.Handler) {
	if m.logger.Enabled(r.Context(), slog.LevelDebug) {
		m.logDecision(r, &d)
	}
	if d.Action != Serve {
		m.respond(w, &d)
		return
	}
	// One allocation per served request. The wrapper is not pooled: a
	// handler goroutine that writes after ServeHTTP returned (a common
	// bug that plain net/http tolerates) would otherwise write into
	// another client's response.
	rw := &responseWriter{ResponseWriter: w, m: m, secure: d.Secure}
	if d.HSTS != "" {
		rw.hsts = m.hsts.value(m.now)
	}
	if m.nonceCSP != nil {
		rw.nonce = newNonce()
		r = r.WithContext(context.WithValue(r.Context(), nonceKey{}, rw.nonce))
	}
	next.ServeHTTP(rw, r)
	if !rw.done && !rw.hijacked {
		// next returned without writing: net/http sends the headers now.
		rw.finish()
	}
}

// respond writes a redirect or refusal.
func (m *Middleware) respond(w http.ResponseWriter, d *Decision) {
	h := w.Header()
	for _, hv := range m.headers {
		h[hv.key] = hv.val
	}
	if m.nonceCSP != nil {
		h[m.nonceCSP.key] = []string{m.nonceCSP.render(newNonce())}
	}
	if d.HSTS != "" {
		h["Strict-Transport-Security"] = m.hsts.value(m.now)
	}
	if m.cfg.SoftUpgrade && !d.Secure {
		h.Add("Vary", "Upgrade-Insecure-Requests")
	}
	if d.Action == Redirect {
		h["Location"] = []string{d.Location}
		h["Content-Length"] = zeroLength
		w.WriteHeader(d.Status)
		return
	}
	if d.Status == http.StatusUpgradeRequired {
		h["Upgrade"] = []string{"TLS/1.3, TLS/1.2, HTTP/1.1"}
		h["Connection"] = []string{"Upgrade"}
	}
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	h["Cache-Control"] = []string{"no-store"}
	w.WriteHeader(d.Status)
	io.WriteString(w, d.Message+"\n")
}

// logDecision records a decision at debug level.
func (m *Middleware) logDecision(r *http.Request, d *Decision) {
	m.logger.LogAttrs(r.Context(), slog.LevelDebug, "forcehttps decision",
		slog.String("action", d.Action.String()),
		slog.String("reason", string(d.Reason)),
		slog.String("source", string(d.Source)),
		slog.Bool("secure", d.Secure),
		slog.String("peer", d.Peer.String()),
		slog.String("host", r.Host),
		slog.String("path", r.URL.Path),
		slog.Int("status", d.Status),
		slog.String("location", d.Location))
}

// responseWriter adds the policy's headers when the response starts.
type responseWriter struct {
	http.ResponseWriter
	m        *Middleware
	secure   bool
	hsts     []string
	nonce    string
	done     bool // headers finished
	hijacked bool
}

// finish adds the security headers, HSTS and cookie flags, once.
func (w *responseWriter) finish() {
	if w.done {
		return
	}
	w.done = true
	m := w.m
	h := w.ResponseWriter.Header()
	for _, hv := range m.headers {
		if _, ok := h[hv.key]; !ok {
			h[hv.key] = hv.val
		}
	}
	if m.nonceCSP != nil {
		if _, ok := h[m.nonceCSP.key]; !ok {
			h[m.nonceCSP.key] = []string{m.nonceCSP.render(w.nonce)}
		}
	}
	if w.secure {
		if _, ok := h["Strict-Transport-Security"]; !ok && w.hsts != nil {
			h["Strict-Transport-Security"] = w.hsts
		}
		if m.secureCookie {
			secureCookies(h)
		}
	} else {
		delete(h, "Strict-Transport-Security")
		if m.cfg.SoftUpgrade {
			h.Add("Vary", "Upgrade-Insecure-Requests")
		}
	}
}

// WriteHeader adds the headers before a final status. 101 Switching
// Protocols counts as final (net/http treats it so). Other informational
// responses (103 Early Hints) go out with the handler's headers as they
// are, except that HSTS never goes out over plain HTTP.
func (w *responseWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.finish()
	} else if !w.secure {
		delete(w.ResponseWriter.Header(), "Strict-Transport-Security")
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write adds the headers if the response has not started.
func (w *responseWriter) Write(p []byte) (int, error) {
	w.finish()
	return w.ResponseWriter.Write(p)
}

// ReadFrom keeps the underlying writer's sendfile path.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	w.finish()
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, src)
}

// Flush sends buffered data, adding the headers first.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush with the error, for http.ResponseController.
func (w *responseWriter) FlushError() error {
	w.finish()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands the connection over (WebSocket and the like).
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, b, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, b, err
}

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writerOnly hides ReadFrom so io.Copy does not loop back into it.
type writerOnly struct{ io.Writer }

// secureCookies adds the Secure attribute to every Set-Cookie value that
// lacks it. It copies the slice before changing it: the handler may share it.
func secureCookies(h http.Header) {
	vals := h["Set-Cookie"]
	for i, v := range vals {
		if hasSecureAttr(v) {
			continue
		}
		out := make([]string, len(vals))
		copy(out, vals)
		for j := i; j < len(out); j++ {
			if !hasSecureAttr(out[j]) {
				out[j] = strings.TrimRight(out[j], "; ") + "; Secure"
			}
		}
		h["Set-Cookie"] = out
		return
	}
}

// hasSecureAttr reports whether a Set-Cookie value has the Secure
// attribute (RFC 6265 §5.2.5, case-insensitive, value ignored).
func hasSecureAttr(v string) bool {
	_, attrs, _ := strings.Cut(v, ";")
	for attrs != "" {
		var a string
		a, attrs, _ = strings.Cut(attrs, ";")
		name, _, _ := strings.Cut(a, "=")
		if strings.EqualFold(lex.TrimOWS(name), "secure") {
			return true
		}
	}
	return false
}

// nonceKey is the context key of the CSP nonce.
type nonceKey struct{}

// Nonce returns the CSP nonce of the response to r, for the nonce attribute
// of inline <script> and <style> elements, or "" when the
// Content-Security-Policy has no "{nonce}" placeholder.
func Nonce(r *http.Request) string {
	s, _ := r.Context().Value(nonceKey{}).(string)
	return s
}

// newNonce returns 128 random bits, base64-encoded.
func newNonce() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return an error)
	return base64.StdEncoding.EncodeToString(b[:])
}

// render fills the placeholders with nonce.
func (t *nonceTemplate) render(nonce string) string {
	return strings.Join(t.parts, nonce)
}

// zeroLength is the shared Content-Length of redirects, which have no body.
var zeroLength = []string{"0"}[:1:1]

package edge

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchServer returns a listening (not serving) edge whose handlers the
// benchmarks call in memory, with the access log on and discarded.
func benchServer(b *testing.B, upstream string) *Server {
	b.Helper()
	loadTestCert()
	c := mustParse(b, fmt.Sprintf(`%s
apps:
  - {name: shop, domains: [shop.example.com, "*.shop.example.com"], upstream: %q}
`, base, upstream))
	s, err := New(c, &testCerts{}, WithLogger(slog.New(slog.DiscardHandler)),
		WithAccessLog(slog.New(slog.NewJSONHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmark measures the edge, not a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkRedirect measures a plain-HTTP request answered with a
// redirect: routing, the policy decision, the response, the access log
// line and the metrics.
func BenchmarkRedirect(b *testing.B) {
	s := benchServer(b, "http://127.0.0.1:1")
	r := httptest.NewRequest("GET", "http://shop.example.com/cart?id=7", nil)
	r.RemoteAddr = "192.0.2.1:50000"
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		s.serveHTTP(w, r)
	}
	if w.h.Get("Location") != "https://shop.example.com:"+fmt.Sprint(s.httpsPort)+"/cart?id=7" {
		b.Fatalf("not a redirect: %v", w.h)
	}
}

// BenchmarkProxy measures an HTTPS request proxied to a loopback app:
// the edge's work plus one keep-alive round trip.
func BenchmarkProxy(b *testing.B) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	b.Cleanup(app.Close)
	s := benchServer(b, app.URL)
	r := httptest.NewRequest("GET", "https://shop.example.com/", nil)
	r.RemoteAddr = "192.0.2.1:50000"
	r.TLS = &tls.ConnectionState{ServerName: "shop.example.com", Version: tls.VersionTLS13, HandshakeComplete: true}
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		s.serveHTTPS(w, r)
	}
	if w.h.Get("Strict-Transport-Security") != "max-age=31536000" {
		b.Fatalf("not proxied with HSTS: %v", w.h)
	}
}

package forcehttps

import (
	"log/slog"
	"net/http"
	"testing"
)

// discardWriter is a ResponseWriter whose header map is reused, so a
// benchmark counts the middleware's allocations, not the recorder's.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) reset()                      { clear(w.h) }

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })

func benchServe(b *testing.B, cfg Config, q request) {
	cfg.Logger = slog.New(slog.DiscardHandler)
	m := mustNew(b, cfg)
	h := m.Handler(okHandler)
	r := q.build(b)
	w := &discardWriter{h: make(http.Header, 16)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, r)
	}
}

// BenchmarkPassThroughTLS is a request that reached us over TLS.
func BenchmarkPassThroughTLS(b *testing.B) {
	benchServe(b, Config{AllowedHosts: []string{"example.com"}}, request{tls: true})
}

// BenchmarkPassThroughProxy is an HTTPS request behind a trusted proxy.
func BenchmarkPassThroughProxy(b *testing.B) {
	benchServe(b, Config{AllowedHosts: []string{"example.com"}, TrustedProxies: []string{"10.0.0.0/8"}},
		request{remote: "10.0.0.1:1234", header: []string{"X-Forwarded-Proto", "https", "X-Forwarded-For", "198.51.100.7"}})
}

// BenchmarkRedirect is a plain-HTTP GET redirected to HTTPS.
func BenchmarkRedirect(b *testing.B) {
	benchServe(b, Config{AllowedHosts: []string{"example.com"}}, request{target: "/cart?id=7"})
}

// BenchmarkCheck is the decision alone, for a request behind a proxy.
func BenchmarkCheck(b *testing.B) {
	m := mustNew(b, Config{AllowedHosts: []string{"example.com"}, Trust: PresetCloudRun, Logger: slog.New(slog.DiscardHandler)})
	r := request{header: []string{"X-Forwarded-Proto", "https", "X-Forwarded-For", "198.51.100.7"}}.build(b)
	b.ReportAllocs()
	for b.Loop() {
		m.Check(r)
	}
}

package forcehttps

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// request describes a test request.
type request struct {
	method string
	target string // request target as on the wire; default "/"
	host   string // Host header; default "example.com"
	remote string // RemoteAddr; default "203.0.113.9:1234"
	tls    bool
	header []string // name, value pairs; a name may repeat
}

// build turns the description into an *http.Request.
func (q request) build(t testing.TB) *http.Request {
	t.Helper()
	method, target := q.method, q.target
	if method == "" {
		method = http.MethodGet
	}
	if target == "" {
		target = "/"
	}
	r := httptest.NewRequest(method, target, nil)
	// httptest sets Host from an absolute target; keep that, as net/http
	// does, unless the test names a Host.
	if q.host != "" {
		r.Host = q.host
	} else if r.URL.Host == "" {
		r.Host = "example.com"
	}
	r.RemoteAddr = "203.0.113.9:1234"
	if q.remote != "" {
		r.RemoteAddr = q.remote
	}
	r.TLS = nil
	if q.tls {
		r.TLS = &tls.ConnectionState{HandshakeComplete: true, Version: tls.VersionTLS13}
	}
	if len(q.header)%2 != 0 {
		t.Fatalf("odd header list %q", q.header)
	}
	for i := 0; i < len(q.header); i += 2 {
		r.Header.Add(q.header[i], q.header[i+1])
	}
	return r
}

// mustNew builds a Middleware or fails the test.
func mustNew(t testing.TB, cfg Config) *Middleware {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return m
}

// hosts is the AllowedHosts most tests use.
var hosts = []string{"example.com", "*.example.com", "bücher.example", "2001:db8::1", "192.0.2.10"}

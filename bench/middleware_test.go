package bench

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/forcehttps/forcehttps"
	"github.com/unrolled/secure"
)

// The headers both implementations send, equal to forcehttps' defaults.
var headers = forcehttps.DefaultSecurityHeaders()

func newForceHTTPS(tb testing.TB) http.Handler {
	m, err := forcehttps.New(forcehttps.Config{
		AllowedHosts:   []string{"example.com"},
		TrustedProxies: []string{"10.0.0.0/8"},
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return m.Handler(ok)
}

func newUnrolled(tb testing.TB) http.Handler {
	s := secure.New(secure.Options{
		SSLRedirect:               true,
		AllowedHosts:              []string{"example.com"},
		SSLProxyHeaders:           map[string]string{"X-Forwarded-Proto": "https"},
		STSSeconds:                31536000,
		ContentSecurityPolicy:     headers.Get("Content-Security-Policy"),
		FrameDeny:                 true,
		ContentTypeNosniff:        true,
		ReferrerPolicy:            headers.Get("Referrer-Policy"),
		PermissionsPolicy:         headers.Get("Permissions-Policy"),
		CrossOriginOpenerPolicy:   headers.Get("Cross-Origin-Opener-Policy"),
		CrossOriginResourcePolicy: headers.Get("Cross-Origin-Resource-Policy"),
	})
	return s.Handler(ok)
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

// discardWriter reuses its header map, so that the benchmarks count the
// middleware's allocations, not the test writer's.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

var impls = []struct {
	name string
	new  func(testing.TB) http.Handler
}{
	{"forcehttps", newForceHTTPS},
	{"unrolled", newUnrolled},
}

// requests are the scenarios, with the status each must produce.
var requests = []struct {
	name   string
	status int
	build  func() *http.Request
}{
	{"pass-through-tls", 200, func() *http.Request {
		r := httptest.NewRequest("GET", "https://example.com/cart?id=7", nil)
		r.TLS = &tls.ConnectionState{HandshakeComplete: true}
		return r
	}},
	{"pass-through-proxy", 200, func() *http.Request {
		r := httptest.NewRequest("GET", "http://example.com/cart?id=7", nil)
		r.RemoteAddr = "10.0.0.1:4321"
		r.Header.Set("X-Forwarded-Proto", "https")
		return r
	}},
	{"redirect", 301, func() *http.Request {
		r := httptest.NewRequest("GET", "http://example.com/cart?id=7", nil)
		r.TLS = nil
		return r
	}},
}

func BenchmarkMiddleware(b *testing.B) {
	for _, rq := range requests {
		for _, impl := range impls {
			b.Run("scenario="+rq.name+"/impl="+impl.name, func(b *testing.B) {
				h := impl.new(b)
				r := rq.build()
				// unrolled/secure sets r.URL.Scheme to "https" when it
				// redirects (the request is changed in place), so every
				// iteration restores the URL; this costs no allocation.
				pristine := *r.URL
				w := &discardWriter{h: make(http.Header, 16)}
				b.ReportAllocs()
				for b.Loop() {
					clear(w.h)
					*r.URL = pristine
					h.ServeHTTP(w, r)
				}
				if w.code != rq.status {
					b.Fatalf("status %d, want %d (headers %v)", w.code, rq.status, w.h)
				}
			})
		}
	}
}

// TestSameWork checks that both implementations answer each scenario alike,
// so the benchmark compares like with like.
func TestSameWork(t *testing.T) {
	for _, rq := range requests {
		for _, impl := range impls {
			t.Run(rq.name+"/"+impl.name, func(t *testing.T) {
				rec := httptest.NewRecorder()
				r := rq.build()
				before := r.URL.String()
				impl.new(t).ServeHTTP(rec, r)
				if r.URL.String() != before {
					t.Logf("%s changed the request URL from %s to %s", impl.name, before, r.URL)
					if impl.name == "forcehttps" {
						t.Error("forcehttps must not change the request")
					}
				}
				if rec.Code != rq.status {
					t.Fatalf("status %d, want %d", rec.Code, rq.status)
				}
				if rq.status == 301 {
					if got := rec.Header().Get("Location"); got != "https://example.com/cart?id=7" {
						t.Errorf("Location = %q", got)
					}
					return
				}
				for _, k := range []string{"Strict-Transport-Security", "Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy", "Cross-Origin-Opener-Policy", "Cross-Origin-Resource-Policy"} {
					if rec.Header().Get(k) == "" {
						t.Errorf("%s missing", k)
					}
				}
			})
		}
	}
}

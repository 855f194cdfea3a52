package forcehttps_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/forcehttps/forcehttps"
)

// The middleware behind Google Cloud Run: the front end terminates TLS and
// says the client's scheme in X-Forwarded-Proto.
func Example() {
	m, err := forcehttps.New(forcehttps.Config{
		Trust:        forcehttps.PresetCloudRun,
		AllowedHosts: []string{"example.com", "*.example.com"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	app := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello\n")
	}))

	// A plain-HTTP request, as the front end forwards it.
	r := httptest.NewRequest("GET", "http://shop.example.com/cart?id=7", nil)
	r.Header.Set("X-Forwarded-Proto", "http")
	w := httptest.NewRecorder()
	app.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Location"))

	// The same request over HTTPS.
	r.Header.Set("X-Forwarded-Proto", "https")
	w = httptest.NewRecorder()
	app.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Strict-Transport-Security"))
	// Output:
	// 301 https://shop.example.com/cart?id=7
	// 200 max-age=31536000
}

// Check explains a decision without answering the request: the inspector
// and the logs use it.
func ExampleMiddleware_Check() {
	m, _ := forcehttps.New(forcehttps.Config{
		TrustedProxies: []string{"10.0.0.0/8"},
		AllowedHosts:   []string{"example.com"},
	})
	r := httptest.NewRequest("POST", "http://example.com/form", nil)
	r.RemoteAddr = "198.51.100.7:51000" // not a trusted proxy
	r.Header.Set("X-Forwarded-Proto", "https")
	d := m.Check(r)
	fmt.Println(d.Secure, d.Source, d.Action, d.Status, d.Location)
	// Output: false untrusted-peer redirect 308 https://example.com/form
}

// Revoking HSTS before turning HTTPS off: browsers forget the pin only when
// they see max-age=0.
func ExampleConfig_revoke() {
	m, _ := forcehttps.New(forcehttps.Config{HSTSRevoke: true, AllowAnyHost: true})
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	fmt.Println(m.Check(r).HSTS)
	// Output: max-age=0
}

// Preload without its requirements is refused when the middleware is built,
// with the field named.
func ExampleNew_error() {
	_, err := forcehttps.New(forcehttps.Config{
		HSTSPreload:  true,
		AllowedHosts: []string{"example.com"},
		Logger:       slog.New(slog.DiscardHandler),
	})
	fmt.Println(err)
	// Output: forcehttps: invalid config: HSTSPreload: preload needs max-age of at least one year and includeSubDomains
}

func ExampleParseHSTS() {
	h, err := forcehttps.ParseHSTS(`max-age="63072000"; includeSubdomains; PRELOAD`)
	fmt.Println(h.MaxAge, h.IncludeSubDomains, h.Preload, err)
	fmt.Println(h)
	_, err = forcehttps.ParseHSTS("max-age=1, max-age=2")
	fmt.Println(err)
	// Output:
	// 63072000 true true <nil>
	// max-age=63072000; includeSubDomains; preload
	// invalid Strict-Transport-Security syntax: unexpected "," after directive "max-age"
}

func ExampleRampMaxAge() {
	enabled := mustTime("2026-01-01T00:00:00Z")
	for _, day := range []int{0, 1, 8, 38} {
		fmt.Println(day, forcehttps.RampMaxAge(31536000, enabled, enabled.AddDate(0, 0, day)))
	}
	// Output:
	// 0 300
	// 1 604800
	// 8 2592000
	// 38 31536000
}

// A CSP nonce for inline scripts: the placeholder is filled per response.
func ExampleNonce() {
	m, _ := forcehttps.New(forcehttps.Config{
		AllowAnyHost: true,
		SecurityHeaders: map[string]string{
			"Content-Security-Policy": "script-src 'nonce-{nonce}'",
		},
	})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<script nonce="%s">go()</script>`, forcehttps.Nonce(r))
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "https://example.com/", nil))
	csp := w.Header().Get("Content-Security-Policy")
	fmt.Println(len(csp) == len("script-src 'nonce-'")+24)
	// Output: true
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

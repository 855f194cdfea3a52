package forcehttps

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// serve runs one request through the middleware and returns the response.
func serve(t *testing.T, m *Middleware, next http.Handler, q request) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler(next).ServeHTTP(rec, q.build(t))
	return rec.Result()
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })

// TestHSTSOnEveryResponse checks HSTS presence and absence for every kind of
// response the middleware or the handler can produce.
func TestHSTSOnEveryResponse(t *testing.T) {
	t.Parallel()
	proxies := []string{"10.0.0.0/8"}
	status := func(code int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) })
	}
	silent := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	flusher := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.(http.Flusher).Flush() })
	readFrom := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, strings.NewReader("body"))
	})
	appHSTS := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=600")
		w.WriteHeader(200)
	})
	tests := []struct {
		name   string
		cfg    Config
		next   http.Handler
		req    request
		status int
		hsts   []string
	}{
		{"200 over TLS", Config{}, hello, request{tls: true}, 200, []string{year}},
		{"404 over TLS", Config{}, status(404), request{tls: true}, 404, []string{year}},
		{"500 over TLS", Config{}, status(500), request{tls: true}, 500, []string{year}},
		{"304 over TLS", Config{}, status(304), request{tls: true}, 304, []string{year}},
		{"handler writes nothing", Config{}, silent, request{tls: true}, 200, []string{year}},
		{"handler flushes first", Config{}, flusher, request{tls: true}, 200, []string{year}},
		{"handler uses ReadFrom", Config{}, readFrom, request{tls: true}, 200, []string{year}},
		{"app's own value kept, once", Config{}, appHSTS, request{tls: true}, 200, []string{"max-age=600"}},
		{"trusted proxy https", Config{TrustedProxies: proxies}, hello, request{remote: "10.0.0.1:1", header: []string{"X-Forwarded-Proto", "https"}}, 200, []string{year}},
		{"plain HTTP redirect", Config{AllowedHosts: hosts}, hello, request{}, 301, nil},
		{"plain HTTP exempt", Config{}, hello, request{target: "/.well-known/acme-challenge/t"}, 200, nil},
		{"plain HTTP app value removed", Config{}, appHSTS, request{target: "/.well-known/acme-challenge/t"}, 200, nil},
		{"plain HTTP unknown host", Config{AllowedHosts: hosts}, hello, request{host: "evil.test"}, 400, nil},
		{"plain HTTP untrusted claim", Config{AllowedHosts: hosts}, hello, request{header: []string{"X-Forwarded-Proto", "https"}}, 301, nil},
		{"proxy malformed", Config{TrustedProxies: proxies}, hello, request{remote: "10.0.0.1:1", header: []string{"X-Forwarded-Proto", "gopher"}}, 400, nil},
		{"loop over TLS", Config{TrustedProxies: proxies}, hello, request{tls: true, remote: "10.0.0.1:1", header: []string{"X-Forwarded-Proto", "http"}}, 508, nil},
		{"localhost over TLS", Config{}, hello, request{tls: true, host: "localhost"}, 200, nil},
		{"revoked", Config{HSTSRevoke: true}, status(503), request{tls: true}, 503, []string{"max-age=0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := serve(t, mustNew(t, tt.cfg), tt.next, tt.req)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if diff := cmp.Diff(tt.hsts, resp.Header.Values("Strict-Transport-Security")); diff != "" {
				t.Errorf("Strict-Transport-Security mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	appCSP := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		w.Header()["X-Frame-Options"] = nil // suppress for this response
		w.WriteHeader(200)
	})
	tests := []struct {
		name string
		cfg  Config
		next http.Handler
		req  request
		want map[string][]string // nil value: header absent
	}{
		{"defaults on HTTPS", Config{}, hello, request{tls: true}, map[string][]string{
			"Content-Security-Policy":    {"default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"},
			"X-Frame-Options":            {"DENY"},
			"X-Content-Type-Options":     {"nosniff"},
			"Referrer-Policy":            {"strict-origin-when-cross-origin"},
			"Cross-Origin-Opener-Policy": {"same-origin"},
		}},
		{"defaults on a redirect", Config{AllowedHosts: hosts}, hello, request{}, map[string][]string{
			"X-Frame-Options": {"DENY"}, "Location": {"https://example.com/"},
		}},
		{"override and remove", Config{SecurityHeaders: map[string]string{"x-frame-options": "SAMEORIGIN", "Referrer-Policy": "", "X-Extra": "1"}},
			hello, request{tls: true}, map[string][]string{
				"X-Frame-Options": {"SAMEORIGIN"}, "Referrer-Policy": nil, "X-Extra": {"1"},
			}},
		{"all off", Config{DisableSecurityHeaders: true}, hello, request{tls: true}, map[string][]string{
			"Content-Security-Policy": nil, "X-Frame-Options": nil, "Strict-Transport-Security": {year},
		}},
		{"handler's own values win", Config{}, appCSP, request{tls: true}, map[string][]string{
			"Content-Security-Policy": {"default-src 'none'"}, "X-Frame-Options": nil, "X-Content-Type-Options": {"nosniff"},
		}},
		{"426 names the upgrade", Config{AllowedHosts: hosts, UnsafeMethodStatus: 426}, hello, request{method: "POST"}, map[string][]string{
			"Upgrade": {"TLS/1.3, TLS/1.2, HTTP/1.1"}, "Location": nil,
		}},
		{"soft mode varies on served", Config{AllowedHosts: hosts, SoftUpgrade: true}, hello, request{}, map[string][]string{
			"Vary": {"Upgrade-Insecure-Requests"},
		}},
		{"soft mode varies on redirect", Config{AllowedHosts: hosts, SoftUpgrade: true}, hello, request{header: []string{"Upgrade-Insecure-Requests", "1"}}, map[string][]string{
			"Vary": {"Upgrade-Insecure-Requests"}, "Location": {"https://example.com/"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := serve(t, mustNew(t, tt.cfg), tt.next, tt.req)
			for k, want := range tt.want {
				if diff := cmp.Diff(want, resp.Header.Values(k)); diff != "" {
					t.Errorf("%s mismatch (-want +got):\n%s", k, diff)
				}
			}
		})
	}
}

func TestSecureCookies(t *testing.T) {
	t.Parallel()
	shared := []string{"a=1; Path=/", "b=2; secure", "c=3; HttpOnly;"}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Set-Cookie"] = shared
		http.SetCookie(w, &http.Cookie{Name: "d", Value: "4"})
		w.WriteHeader(204)
	})
	tests := []struct {
		name string
		cfg  Config
		req  request
		want []string
	}{
		{"HTTPS", Config{}, request{tls: true}, []string{"a=1; Path=/; Secure", "b=2; secure", "c=3; HttpOnly; Secure", "d=4; Secure"}},
		{"opt-out", Config{DisableSecureCookies: true}, request{tls: true}, []string{"a=1; Path=/", "b=2; secure", "c=3; HttpOnly;", "d=4"}},
		{"plain HTTP untouched", Config{}, request{target: "/.well-known/acme-challenge/x"}, []string{"a=1; Path=/", "b=2; secure", "c=3; HttpOnly;", "d=4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := serve(t, mustNew(t, tt.cfg), next, tt.req)
			if diff := cmp.Diff(tt.want, resp.Header.Values("Set-Cookie")); diff != "" {
				t.Errorf("Set-Cookie mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if shared[0] != "a=1; Path=/" {
		t.Errorf("the handler's slice was changed in place: %q", shared)
	}
}

func TestHasSecureAttr(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{
		"a=1":                    false,
		"a=1; Secure":            true,
		"a=1;secure":             true,
		"a=1; SECURE=yes":        true,
		"secure=1":               false, // the cookie's name, not an attribute
		"a=secure":               false,
		"a=1; Path=/secure":      false,
		"a=1; HttpOnly; Secure ": true,
	} {
		if got := hasSecureAttr(v); got != want {
			t.Errorf("hasSecureAttr(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestNonce(t *testing.T) {
	t.Parallel()
	m := mustNew(t, Config{SecurityHeaders: map[string]string{
		"Content-Security-Policy": "script-src 'self' 'nonce-{nonce}'; style-src 'nonce-{nonce}'",
	}})
	var seen string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = Nonce(r)
		io.WriteString(w, "<script nonce=\""+seen+"\"></script>")
	})
	resp := serve(t, m, next, request{tls: true})
	if len(seen) != 24 {
		t.Fatalf("Nonce() = %q, want 24 base64 characters", seen)
	}
	want := "script-src 'self' 'nonce-" + seen + "'; style-src 'nonce-" + seen + "'"
	if got := resp.Header.Get("Content-Security-Policy"); got != want {
		t.Errorf("CSP = %q, want %q", got, want)
	}
	first := seen
	resp2 := serve(t, m, next, request{tls: true})
	if seen == first || strings.Contains(resp2.Header.Get("Content-Security-Policy"), first) {
		t.Error("the nonce was reused across responses")
	}
	if got := Nonce(httptest.NewRequest("GET", "/", nil)); got != "" {
		t.Errorf("Nonce without middleware = %q, want empty", got)
	}
}

func TestRefusalBody(t *testing.T) {
	t.Parallel()
	m := mustNew(t, Config{AllowedHosts: hosts})
	resp := serve(t, m, hello, request{host: "<script>.evil.test"})
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || strings.Contains(string(body), "<script>") {
		t.Errorf("got %d %q; want 400 without the host reflected", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	ws := serve(t, m, hello, request{target: "/socket?x=1", header: []string{"Connection", "Upgrade", "Upgrade", "WebSocket"}})
	wsBody, _ := io.ReadAll(ws.Body)
	if !strings.Contains(string(wsBody), "wss://example.com/socket?x=1") {
		t.Errorf("websocket refusal %q does not name the wss URL", wsBody)
	}
}

// TestWriterInterfaces checks that the wrapped writer keeps Flush, Hijack
// and http.ResponseController working.
func TestWriterInterfaces(t *testing.T) {
	t.Parallel()
	m := mustNew(t, Config{IncludeDevHosts: true, AllowedHosts: []string{"127.0.0.1"}})
	srv := httptest.NewUnstartedServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hijack":
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Errorf("Hijack: %v", err)
				return
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
			buf.Flush()
			conn.Close()
		case "/controller":
			rc := http.NewResponseController(w)
			io.WriteString(w, "a")
			if err := rc.Flush(); err != nil {
				t.Errorf("ResponseController.Flush: %v", err)
			}
		}
	})))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	for _, path := range []string{"/hijack", "/controller"} {
		// Hijack needs HTTP/1.1.
		c := srv.Client()
		c.Transport.(*http.Transport).ForceAttemptHTTP2 = path != "/hijack"
		if path == "/hijack" {
			c.Transport.(*http.Transport).TLSClientConfig.NextProtos = []string{"http/1.1"}
		}
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: status %d", path, resp.StatusCode)
		}
		if path == "/controller" && resp.Header.Get("Strict-Transport-Security") != year {
			t.Errorf("GET %s: no HSTS", path)
		}
	}
}

// TestEndToEnd runs the middleware behind real listeners on loopback: plain
// HTTP redirects to the TLS listener, which serves with HSTS.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	tlsSrv := httptest.NewUnstartedServer(nil)
	tlsSrv.EnableHTTP2 = true
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	_, tlsPort, _ := net.SplitHostPort(tlsSrv.Listener.Addr().String())
	port, _ := strconv.Atoi(tlsPort)

	m := mustNew(t, Config{AllowedHosts: []string{"127.0.0.1"}, IncludeDevHosts: true, HTTPSPort: port})
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Method+" "+r.URL.RequestURI()+" "+string(body)+" "+r.Proto)
	})
	tlsSrv.Config.Handler = m.Handler(app)
	plain := httptest.NewServer(m.Handler(app))
	defer plain.Close()

	client := tlsSrv.Client()
	for _, tc := range []struct{ method, body, want string }{
		{"GET", "", "GET /p/a%2Fb?q=%C3%A9&x=1  HTTP/2.0"},
		{"POST", "data=1", "POST /p/a%2Fb?q=%C3%A9&x=1 data=1 HTTP/2.0"},
		{"PUT", "x", "PUT /p/a%2Fb?q=%C3%A9&x=1 x HTTP/2.0"},
	} {
		req, _ := http.NewRequest(tc.method, plain.URL+"/p/a%2Fb?q=%C3%A9&x=1", strings.NewReader(tc.body))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.method, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != tc.want {
			t.Errorf("%s: body %q, want %q", tc.method, body, tc.want)
		}
		if got := resp.Header.Values("Strict-Transport-Security"); len(got) != 1 || got[0] != year {
			t.Errorf("%s: HSTS %q, want exactly %q", tc.method, got, year)
		}
		if resp.TLS == nil {
			t.Errorf("%s: final response not over TLS", tc.method)
		}
	}

	// The first hop, seen without following it.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(plain.URL + "/x?y=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 301 || loc.Scheme != "https" || loc.Host != "127.0.0.1:"+tlsPort || loc.RequestURI() != "/x?y=1" {
		t.Errorf("first hop: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent over plain HTTP")
	}

	// A raw request with a hostile Host over a real connection.
	conn, err := net.Dial("tcp", plain.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET http://evil.test/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	raw, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw.Body.Close()
	if raw.StatusCode != 400 || raw.Header.Get("Location") != "" {
		t.Errorf("absolute-form to evil.test: %d Location %q, want 400 and none", raw.StatusCode, raw.Header.Get("Location"))
	}
	_ = tls.VersionTLS13
}

func TestMiddlewareSecurityHeaders(t *testing.T) {
	t.Parallel()
	m := mustNew(t, Config{SecurityHeaders: map[string]string{
		"referrer-policy":         "",
		"X-Extra":                 "1",
		"Content-Security-Policy": "script-src 'nonce-{nonce}'",
	}})
	got := m.SecurityHeaders()
	want := DefaultSecurityHeaders()
	want.Del("Referrer-Policy")
	want.Set("X-Extra", "1")
	want.Set("Content-Security-Policy", "script-src 'nonce-{nonce}'")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SecurityHeaders() mismatch (-want +got):\n%s", diff)
	}
	// The response carries the same set, with the nonce filled in.
	resp := serve(t, m, hello, request{tls: true})
	for k := range want {
		if resp.Header.Get(k) == "" {
			t.Errorf("response lacks %s", k)
		}
	}
	got.Set("X-Frame-Options", "changed")
	if m.SecurityHeaders().Get("X-Frame-Options") != "DENY" {
		t.Error("SecurityHeaders() returned shared state")
	}
}

package edge

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/forcehttps/forcehttps"
	"github.com/forcehttps/forcehttps/internal/config"
	"github.com/forcehttps/forcehttps/internal/testutil"
)

// appsConfig is the configuration of most tests: several apps, each
// behind its own echo backend.
func appsConfig(t testing.TB) string {
	t.Helper()
	b := func(name string) string { return echoBackend(t, name).URL }
	return fmt.Sprintf(`
apps:
  - name: shop
    domains: [shop.example.com, "*.shop.example.com"]
    upstream: %s
    exempt_paths: [/healthz, /ping]
    respond:
      - {path: /ping, body: "pong\n"}
      - {path: /gone, status: 410, body: "gone\n"}
  - name: web
    domains: [web.example.com]
    upstream: %s
  - name: temp
    domains: [temp.example.com]
    upstream: %s
    redirect: {temporary: true}
  - name: custom
    domains: [custom.example.com]
    upstream: %s
    redirect: {status: 308, unsafe_status: 307}
    hsts: {max_age: 600, include_subdomains: true}
  - name: blog
    domains: [blog.example.com]
    upstream: %s
    force_https: false
    hsts: {revoke: true}
    respond:
      - {path: /static, body: "<p>hi</p>", content_type: text/html}
      - {path: /empty, status: 204}
  - name: plain
    domains: [plain.example.com, 127.0.0.1]
    upstream: %s
    force_https: false
`, b("shop"), b("web"), b("temp"), b("custom"), b("blog"), b("plain"))
}

func TestRedirects(t *testing.T) {
	t.Parallel()
	h := startEdge(t, appsConfig(t))
	c := h.client(false)
	port := h.httpsPort()
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	policies := []struct {
		host       string
		safe, rest int
	}{
		{"shop.example.com", 301, 308},
		{"a.shop.example.com", 301, 308},
		{"temp.example.com", 302, 307},
		{"custom.example.com", 308, 307},
	}
	for _, p := range policies {
		for _, m := range methods {
			t.Run(p.host+"/"+m, func(t *testing.T) {
				resp, _ := h.do(c, m, httpURL(p.host, "/a/b?x=1&y=%2F"), nil, strings.NewReader("body"))
				want := p.rest
				if m == "GET" || m == "HEAD" {
					want = p.safe
				}
				if resp.StatusCode != want {
					t.Errorf("%s http://%s: status %d, want %d", m, p.host, resp.StatusCode, want)
				}
				wantLoc := "https://" + p.host + ":" + port + "/a/b?x=1&y=%2F"
				if got := resp.Header.Get("Location"); got != wantLoc {
					t.Errorf("%s http://%s: Location %q, want %q", m, p.host, got, wantLoc)
				}
				if v := resp.Header.Values("Strict-Transport-Security"); len(v) != 0 {
					t.Errorf("%s http://%s: Strict-Transport-Security %q on plain HTTP", m, p.host, v)
				}
				if id := resp.Header.Get("X-Request-Id"); len(id) != 32 {
					t.Errorf("%s http://%s: X-Request-Id %q, want 32 hex digits", m, p.host, id)
				}
			})
		}
	}
	// The host in the Location is the normalized one, never the raw Host.
	resp, _ := h.do(c, "GET", httpURL("shop.example.com", "/"), http.Header{"Host": {"SHOP.Example.COM.:80"}}, nil)
	if got, want := resp.Header.Get("Location"), "https://shop.example.com:"+port+"/"; got != want {
		t.Errorf("GET Host SHOP.Example.COM.:80: Location %q, want %q", got, want)
	}
}

func TestRedirectPublicPort(t *testing.T) {
	t.Parallel()
	h := startEdge(t, "listen: {http: \"127.0.0.1:0\", https: \"127.0.0.1:0\", https_public_port: 443}\n"+appsConfig(t))
	resp, _ := h.get(h.client(false), httpURL("shop.example.com", "/cart?id=7"))
	if got, want := resp.Header.Get("Location"), "https://shop.example.com/cart?id=7"; resp.StatusCode != 301 || got != want {
		t.Errorf("GET with https_public_port 443: %d %q, want 301 %q", resp.StatusCode, got, want)
	}
}

func TestNoRedirect(t *testing.T) {
	t.Parallel()
	h := startEdge(t, appsConfig(t))
	c := h.client(false)
	tests := []struct {
		name   string
		url    string
		status int
		body   string // a substring
		reason string
	}{
		{"acme challenge answered by the manager", httpURL("shop.example.com", "/.well-known/acme-challenge/"+acmeToken), 200, acmeKeyAuth, reasonACME},
		{"acme challenge for an unknown host too", httpURL("nobody.example", "/.well-known/acme-challenge/"+acmeToken), 200, acmeKeyAuth, reasonACME},
		{"other acme path goes to the app over http", httpURL("shop.example.com", "/.well-known/acme-challenge/other"), 200, `"backend":"shop"`, "exempt:acme"},
		{"exempt path", httpURL("shop.example.com", "/healthz"), 200, `"backend":"shop"`, "exempt:path"},
		{"below an exempt path", httpURL("shop.example.com", "/healthz/db"), 200, `"backend":"shop"`, "exempt:path"},
		{"force_https off", httpURL("blog.example.com", "/post"), 200, `"backend":"blog"`, "redirect-disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.get(c, tt.url)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.body) {
				t.Errorf("GET %s = %d %q, want %d with %q", tt.url, resp.StatusCode, body, tt.status, tt.body)
			}
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Errorf("GET %s: Location %q", tt.url, loc)
			}
			if v := resp.Header.Values("Strict-Transport-Security"); len(v) != 0 {
				t.Errorf("GET %s: Strict-Transport-Security %q on plain HTTP", tt.url, v)
			}
		})
	}
	// Not exempt: a sibling of the exempt path, and a dot-segment trick.
	for _, p := range []string{"/healthzx", "/healthz/../admin"} {
		req, _ := http.NewRequest("GET", httpURL("shop.example.com", "/"), nil)
		req.URL.Opaque = p // sent as is, without cleaning
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 301 {
			t.Errorf("GET %s = %d, want 301", p, resp.StatusCode)
		}
	}
	// The access log says why. A proxied response reaches the client
	// before its log line is written: wait for one line per request.
	var reasons []string
	for _, l := range h.access.waitLines(t, len(tests)+2) {
		reasons = append(reasons, l["reason"].(string))
	}
	for _, tt := range tests {
		if !contains(reasons, tt.reason) {
			t.Errorf("access log reasons %q lack %q", reasons, tt.reason)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestHSTS(t *testing.T) {
	t.Parallel()
	h := startEdge(t, appsConfig(t))
	tests := []struct {
		name string
		url  string
		want []string // Strict-Transport-Security values
	}{
		{"force https", httpsURL("shop.example.com", "/"), []string{"max-age=31536000"}},
		{"wildcard domain", httpsURL("x.shop.example.com", "/"), []string{"max-age=31536000"}},
		{"app policy", httpsURL("custom.example.com", "/"), []string{"max-age=600; includeSubDomains"}},
		{"app's own value kept", httpsURL("shop.example.com", "/hsts/max-age=5"), []string{"max-age=5"}},
		{"app's duplicates reduced to one", httpsURL("shop.example.com", "/hsts2"), []string{"max-age=100"}},
		{"force off: none", httpsURL("plain.example.com", "/"), nil},
		{"force off: the app's own passes", httpsURL("plain.example.com", "/hsts/max-age=9"), []string{"max-age=9"}},
		{"force off with revoke", httpsURL("blog.example.com", "/"), []string{"max-age=0"}},
		{"dev host without include_dev_hosts", "https://127.0.0.1/", nil},
		{"never on http, even the app's", httpURL("plain.example.com", "/hsts/max-age=9"), nil},
		{"never on http, exempt path", httpURL("shop.example.com", "/healthz"), nil},
	}
	for _, h2 := range []bool{false, true} {
		c := h.client(h2)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/h2=%v", tt.name, h2), func(t *testing.T) {
				resp, _ := h.get(c, tt.url)
				if resp.StatusCode != 200 {
					t.Fatalf("GET %s = %d, want 200", tt.url, resp.StatusCode)
				}
				if diff := cmp.Diff(tt.want, resp.Header.Values("Strict-Transport-Security")); diff != "" {
					t.Errorf("GET %s: Strict-Transport-Security mismatch (-want +got):\n%s", tt.url, diff)
				}
			})
		}
	}
	// Injected HSTS is counted; the app's own is not.
	if got := h.metric(`forcehttps_edge_hsts_injected_total{app="shop"}`); got != 4 {
		t.Errorf("hsts_injected_total{app=shop} = %v, want 4 (2 requests without the app's own header, 2 protocols)", got)
	}
}

func TestForwardingHeadersStripped(t *testing.T) {
	t.Parallel()
	h := startEdge(t, appsConfig(t))
	c := h.client(false)
	lies := http.Header{
		"X-Forwarded-Proto": {"https"},
		"X_forwarded_proto": {"https"},
		"X.Forwarded.For":   {"6.6.6.6"},
		"X-Forwarded-For":   {"6.6.6.6"},
		"X-Forwarded-Host":  {"evil.example"},
		"X-Forwarded-Port":  {"443"},
		"X-Forwarded-Ssl":   {"on"},
		"Forwarded":         {"for=6.6.6.6;proto=https"},
		"X-Real-Ip":         {"6.6.6.6"},
		"X_real_ip":         {"6.6.6.6"},
		"X-Request-Start":   {"t=1"},
		"Cf-Visitor":        {`{"scheme":"https"}`},
		"X_request_id":      {"aliased-request-id-0123456789"},
		"Front-End-Https":   {"on"},
	}
	// A client claiming https over plain HTTP is still redirected.
	for _, k := range []string{"X-Forwarded-Proto", "X_forwarded_proto", "Forwarded", "X-Forwarded-Ssl"} {
		resp, _ := h.do(c, "GET", httpURL("shop.example.com", "/x"), http.Header{k: lies[k]}, nil)
		if resp.StatusCode != 301 {
			t.Errorf("GET http with %s: %v = %d, want 301", k, lies[k], resp.StatusCode)
		}
	}
	// The policy does not read the underscore spelling at all: that
	// request counts as plain-http, the three others as untrusted-peer.
	if got := h.metric(`forcehttps_edge_redirects_total{app="shop",reason="untrusted-peer"}`); got != 3 {
		t.Errorf(`redirects_total{reason="untrusted-peer"} = %v, want 3`, got)
	}

	check := func(t *testing.T, s seen, proto, port string) {
		t.Helper()
		want := map[string]string{
			"X-Forwarded-Proto": proto,
			"X-Forwarded-For":   "127.0.0.1",
			"X-Forwarded-Host":  s.Host,
			"X-Forwarded-Port":  port,
			"X-Real-Ip":         "127.0.0.1",
		}
		for k, v := range want {
			if got := s.Header.Values(k); len(got) != 1 || got[0] != v {
				t.Errorf("app saw %s: %q, want %q", k, got, v)
			}
		}
		for k := range s.Header {
			switch strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(k)) {
			case "forwarded", "x-forwarded-ssl", "cf-visitor", "front-end-https":
				t.Errorf("app saw the client's %s: %q", k, s.Header[k])
			}
			if k != "X-Request-Id" && strings.EqualFold(strings.NewReplacer("_", "-", ".", "-").Replace(k), "x-request-id") {
				t.Errorf("app saw the alias %s", k)
			}
			if k != "X-Forwarded-Proto" && k != "X-Forwarded-For" && k != "X-Forwarded-Host" && k != "X-Forwarded-Port" &&
				strings.HasPrefix(strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(k)), "x-forwarded-") {
				t.Errorf("app saw the client's %s: %q", k, s.Header[k])
			}
		}
		if v := s.Header.Get("X-Request-Start"); !regexp.MustCompile(`^t=1[0-9]{12}$`).MatchString(v) {
			t.Errorf("app saw X-Request-Start %q, want t=<unix ms>", v)
		}
	}
	t.Run("http", func(t *testing.T) {
		// An exempt path is proxied over plain HTTP: the app sees http.
		_, body := h.do(c, "GET", httpURL("shop.example.com", "/healthz"), lies, nil)
		_, httpPort, _ := net.SplitHostPort(h.addrs.HTTP)
		check(t, decodeSeen(t, body), "http", httpPort)
	})
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("https/h2=%v", h2), func(t *testing.T) {
			_, body := h.do(h.client(h2), "GET", httpsURL("shop.example.com", "/"), lies, nil)
			s := decodeSeen(t, body)
			check(t, s, "https", h.httpsPort())
			if s.Proto != "HTTP/1.1" || s.Host != "shop.example.com" {
				t.Errorf("app saw %s with Host %q, want HTTP/1.1 and the client's Host", s.Proto, s.Host)
			}
		})
	}
}

func TestTrustedProxy(t *testing.T) {
	t.Parallel()
	h := startEdge(t, "trusted_proxies: [127.0.0.1]\n"+appsConfig(t))
	c := h.client(false)
	hdr := http.Header{
		"X-Forwarded-Proto": {"https"},
		"X-Forwarded-For":   {"203.0.113.7"},
		"X-Forwarded-Host":  {"shop.example.com"},
		"X-Forwarded-Port":  {"443"},
		"X-Real-Ip":         {"203.0.113.7"},
		"Forwarded":         {"for=203.0.113.7;proto=https"},
		"X-Request-Start":   {"t=1700000000000"},
	}
	// The proxy in front says the client used https: no redirect.
	resp, body := h.do(c, "GET", httpURL("shop.example.com", "/"), hdr, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET from a trusted proxy saying https = %d, want 200", resp.StatusCode)
	}
	if v := resp.Header.Values("Strict-Transport-Security"); len(v) != 1 {
		t.Errorf("HSTS %q, want one: the client is on https", v)
	}
	s := decodeSeen(t, body)
	want := http.Header{
		"X-Forwarded-Proto": {"https"},
		"X-Forwarded-For":   {"203.0.113.7, 127.0.0.1"},
		"X-Forwarded-Host":  {"shop.example.com"},
		"X-Forwarded-Port":  {"443"},
		"X-Real-Ip":         {"203.0.113.7"},
		"Forwarded":         {"for=203.0.113.7;proto=https"},
		"X-Request-Start":   {"t=1700000000000"},
	}
	for k, v := range want {
		if diff := cmp.Diff(v, s.Header.Values(k)); diff != "" {
			t.Errorf("app saw %s mismatch (-want +got):\n%s", k, diff)
		}
	}
	// The proxy names the client only in X-Forwarded-For: the edge's own
	// fields say who the client is, each with one value of its own.
	resp, body = h.do(c, "GET", httpURL("shop.example.com", "/"), http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-For": {"203.0.113.9"}}, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET from a trusted proxy naming its client = %d, want 200", resp.StatusCode)
	}
	s = decodeSeen(t, body)
	want = http.Header{
		"X-Forwarded-Proto": {"https"},
		"X-Forwarded-For":   {"203.0.113.9, 127.0.0.1"},
		"X-Forwarded-Host":  {"shop.example.com"},
		"X-Real-Ip":         {"203.0.113.9"},
		"X-Request-Id":      {resp.Header.Get("X-Request-Id")},
	}
	for k, v := range want {
		if diff := cmp.Diff(v, s.Header.Values(k)); diff != "" {
			t.Errorf("app saw %s mismatch (-want +got):\n%s", k, diff)
		}
	}
	if v := s.Header.Values("X-Request-Start"); len(v) != 1 || !regexp.MustCompile(`^t=[0-9]{13}$`).MatchString(v[0]) {
		t.Errorf("app saw X-Request-Start %q, want one t=<milliseconds>", v)
	}
	// The proxy says http: redirect, counted by its header.
	resp, _ = h.do(c, "GET", httpURL("shop.example.com", "/"), http.Header{"X-Forwarded-Proto": {"http"}}, nil)
	if resp.StatusCode != 301 {
		t.Errorf("GET from a trusted proxy saying http = %d, want 301", resp.StatusCode)
	}
	if got := h.metric(`forcehttps_edge_redirects_total{app="shop",reason="trusted-proxy:x-forwarded-proto"}`); got != 1 {
		t.Errorf("redirects_total{reason=trusted-proxy:x-forwarded-proto} = %v, want 1", got)
	}
	// Over TLS while the proxy says http: a loop, refused with 508.
	resp, _ = h.do(c, "GET", httpsURL("shop.example.com", "/"), http.Header{"X-Forwarded-Proto": {"http"}}, nil)
	if resp.StatusCode != http.StatusLoopDetected {
		t.Errorf("GET over TLS from a trusted proxy saying http = %d, want 508", resp.StatusCode)
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	h := startEdge(t, appsConfig(t))
	c := h.client(true)
	valid20 := "abcdefghij0123456789"
	valid128 := strings.Repeat("aB3+/=-x", 16)
	tests := []struct {
		name string
		ids  []string
		keep bool
	}{
		{"none", nil, false},
		{"20 chars", []string{valid20}, true},
		{"128 chars", []string{valid128}, true},
		{"19 chars", []string{valid20[:19]}, false},
		{"129 chars", []string{valid128 + "a"}, false},
		{"underscore", []string{"abcdefghij_0123456789"}, false},
		{"space", []string{"abcdefghij 0123456789"}, false},
		{"two values", []string{valid20, valid20 + "x"}, false},
	}
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seenIDs := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr http.Header
			if tt.ids != nil {
				hdr = http.Header{"X-Request-Id": tt.ids}
			}
			resp, body := h.do(c, "GET", httpsURL("shop.example.com", "/"), hdr, nil)
			got := resp.Header.Values("X-Request-Id")
			if len(got) != 1 {
				t.Fatalf("response X-Request-Id %q, want one value", got)
			}
			if tt.keep && got[0] != tt.ids[0] {
				t.Errorf("X-Request-Id %q, want the client's %q", got[0], tt.ids[0])
			}
			if !tt.keep && !hex32.MatchString(got[0]) {
				t.Errorf("X-Request-Id %q, want a new one of 32 hex digits", got[0])
			}
			if app := decodeSeen(t, body).Header.Values("X-Request-Id"); len(app) != 1 || app[0] != got[0] {
				t.Errorf("app saw X-Request-Id %q, want %q", app, got[0])
			}
			if !tt.keep {
				if seenIDs[got[0]] {
					t.Errorf("X-Request-Id %q generated twice", got[0])
				}
				seenIDs[got[0]] = true
			}
		})
	}
}

func TestUnknownHost(t *testing.T) {
	t.Parallel()
	h := startEdge(t, appsConfig(t))
	c := h.client(false)
	for _, tt := range []struct {
		url    string
		status int
	}{
		{httpURL("nobody.example", "/"), 404},
		{httpURL("localhost", "/"), 404},
		{"https://localhost/", 421},
	} {
		resp, body := h.get(c, tt.url)
		if resp.StatusCode != tt.status || resp.Header.Get("Location") != "" {
			t.Errorf("GET %s = %d (Location %q), want %d and no redirect", tt.url, resp.StatusCode, resp.Header.Get("Location"), tt.status)
		}
		if !strings.Contains(body, "no app serves this host") || strings.Contains(body, "nobody") {
			t.Errorf("GET %s: body %q", tt.url, body)
		}
		if v := resp.Header.Values("Strict-Transport-Security"); len(v) != 0 {
			t.Errorf("GET %s: Strict-Transport-Security %q for an unknown host", tt.url, v)
		}
	}
	if got := h.metric(`forcehttps_edge_requests_total{app="_unknown",code="404",scheme="http"}`); got != 2 {
		t.Errorf(`requests_total{app="_unknown",code="404"} = %v, want 2`, got)
	}
}

func TestSNIMismatch(t *testing.T) {
	t.Parallel()
	h := startEdge(t, appsConfig(t))
	tests := []struct {
		name   string
		sni    string
		host   string
		status int
		hsts   []string
	}{
		{"same app", "shop.example.com", "shop.example.com", 200, []string{"max-age=31536000"}},
		{"same app through the wildcard", "a.shop.example.com", "b.shop.example.com", 200, []string{"max-age=31536000"}},
		{"other app", "web.example.com", "shop.example.com", 421, []string{"max-age=31536000"}},
		{"other app, Host's policy", "shop.example.com", "custom.example.com", 421, []string{"max-age=600; includeSubDomains"}},
		{"unknown SNI", "nobody.example", "shop.example.com", 421, []string{"max-age=31536000"}},
		{"no SNI", "", "shop.example.com", 200, []string{"max-age=31536000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, h2 := range []bool{false, true} {
				c := h.client(h2)
				tr := c.Transport.(*http.Transport)
				// The certificate does not cover an unknown name or an
				// absent one; what matters here is what the edge does.
				tr.TLSClientConfig = &tls.Config{RootCAs: testRoot, ServerName: tt.sni, InsecureSkipVerify: tt.sni == "" || tt.sni == "nobody.example"}
				url := httpsURL(tt.host, "/")
				if tt.sni == "" {
					url = "https://127.0.0.1/" // Go sends no SNI for an IP address
				}
				resp, body := h.do(c, "GET", url, http.Header{"Host": {tt.host}}, nil)
				if resp.StatusCode != tt.status {
					t.Errorf("h2=%v SNI %q Host %q: %d %q, want %d", h2, tt.sni, tt.host, resp.StatusCode, body, tt.status)
				}
				if diff := cmp.Diff(tt.hsts, resp.Header.Values("Strict-Transport-Security")); diff != "" {
					t.Errorf("h2=%v SNI %q Host %q: HSTS mismatch (-want +got):\n%s", h2, tt.sni, tt.host, diff)
				}
			}
		})
	}
}

func TestHTTP2EndToEnd(t *testing.T) {
	t.Parallel()
	h := startEdge(t, appsConfig(t))
	resp, body := h.do(h.client(true), "POST", httpsURL("shop.example.com", "/submit?q=1"), http.Header{"Content-Type": {"text/plain"}}, strings.NewReader("hello"))
	if resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" {
		t.Fatalf("POST over h2 = %d %s, want 200 HTTP/2.0", resp.StatusCode, resp.Proto)
	}
	s := decodeSeen(t, body)
	if s.Proto != "HTTP/1.1" || s.Method != "POST" || s.URI != "/submit?q=1" {
		t.Errorf("app saw %s %s %s, want POST /submit?q=1 HTTP/1.1", s.Method, s.URI, s.Proto)
	}
	if v := resp.Header.Values("Strict-Transport-Security"); len(v) != 1 {
		t.Errorf("HSTS %q, want exactly one", v)
	}
}

func TestLocationRewrite(t *testing.T) {
	t.Parallel()
	h := startEdge(t, appsConfig(t))
	c := h.client(false)
	port := h.httpsPort()
	tests := []struct {
		host, to, want string
	}{
		{"shop.example.com", "http://shop.example.com/login?next=%2F", "https://shop.example.com:" + port + "/login?next=%2F"},
		{"shop.example.com", "http://a.shop.example.com:9000/x", "https://a.shop.example.com:" + port + "/x"},
		{"shop.example.com", "HTTP://Shop.Example.com/y", "https://shop.example.com:" + port + "/y"},
		{"shop.example.com", "http://web.example.com/", "http://web.example.com/"},
		{"shop.example.com", "http://elsewhere.example/", "http://elsewhere.example/"},
		{"shop.example.com", "/relative", "/relative"},
		{"shop.example.com", "https://shop.example.com/already", "https://shop.example.com/already"},
		{"plain.example.com", "http://plain.example.com/", "http://plain.example.com/"},
	}
	for _, tt := range tests {
		resp, _ := h.get(c, httpsURL(tt.host, "/redirect?to="+urlQueryEscape(tt.to)))
		if got := resp.Header.Get("Location"); resp.StatusCode != 302 || got != tt.want {
			t.Errorf("app on %s redirecting to %q: %d %q, want 302 %q", tt.host, tt.to, resp.StatusCode, got, tt.want)
		}
	}
}

func urlQueryEscape(s string) string {
	r := strings.NewReplacer("%", "%25", "&", "%26", "?", "%3F", "#", "%23", "+", "%2B", " ", "%20")
	return r.Replace(s)
}

func TestWebSocket(t *testing.T) {
	t.Parallel()
	// A minimal upgrade: the backend answers 101 and echoes every byte.
	backend := newUpgradeEcho(t)
	h := startEdge(t, fmt.Sprintf(`
timeouts: {client_idle: 1s}
apps:
  - name: ws
    domains: [shop.example.com]
    upstream: %s
`, backend))
	conn, br, resp := wsHandshake(t, h, "/chat")
	if resp.StatusCode != 101 || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		t.Fatalf("upgrade answered %d %v, want 101 with Upgrade: websocket", resp.StatusCode, resp.Header)
	}
	// The tunnel outlives the server's 1s read and write timeouts.
	for i, msg := range []string{"ping", "pong", "bye"} {
		if i == 1 {
			time.Sleep(1500 * time.Millisecond)
		}
		io.WriteString(conn, msg)
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(br, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %d: %q, %v; want %q", i, buf, err, msg)
		}
	}

	// Over plain HTTP the handshake is refused, naming the wss:// URL.
	hc, err := net.Dial("tcp", h.addrs.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	hc.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(hc, "GET /chat HTTP/1.1\r\nHost: shop.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	resp, err = http.ReadResponse(bufio.NewReader(hc), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || !strings.Contains(string(body), "wss://shop.example.com:"+h.httpsPort()+"/chat") {
		t.Errorf("plain-HTTP upgrade = %d %q, want 403 naming the wss:// URL", resp.StatusCode, body)
	}
}

// newUpgradeEcho starts a backend that accepts any Upgrade and echoes.
func newUpgradeEcho(t *testing.T) string {
	t.Helper()
	srv := echoUpgrade()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func echoUpgrade() *http.Server {
	return &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "want an upgrade", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		io.Copy(conn, brw)
	})}
}

func TestReloadUnderLoad(t *testing.T) {
	t.Parallel()
	a := appsConfig(t)
	// B differs in the HSTS policy, the backend and the upstream timeouts
	// (so that the transport is replaced too).
	bCfg := "timeouts: {upstream_dial: 4s}\n" + strings.Replace(a, "exempt_paths: [/healthz, /ping]", "exempt_paths: [/healthz, /ping]\n    hsts: {max_age: 86400}", 1)
	bBackend := echoBackend(t, "shop-b").URL
	bCfg = regexp.MustCompile(`(name: shop\n    domains: \[[^\]]*\]\n    upstream: )(\S+)`).ReplaceAllString(bCfg, "${1}"+bBackend)
	invalid := a + "  - name: shop\n    domains: [shop.example.com]\n    upstream: ftp://x\n"
	h := startEdge(t, a)

	// Load: a few clients looping over both protocols until stopped,
	// bounded by count and time.
	var total, failed atomic.Int64
	var failures sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := h.client(i%2 == 0)
			deadline := time.Now().Add(20 * time.Second)
			for n := 0; n < 20000 && time.Now().Before(deadline); n++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Get(httpsURL("shop.example.com", "/"))
				total.Add(1)
				if err != nil {
					failed.Add(1)
					failures.Store(err.Error(), true)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || len(resp.Header.Values("Strict-Transport-Security")) != 1 {
					failed.Add(1)
					failures.Store(fmt.Sprintf("status %d hsts %q", resp.StatusCode, resp.Header.Values("Strict-Transport-Security")), true)
				}
			}
		}()
	}

	hsts := func() string {
		resp, _ := h.get(h.client(false), httpsURL("shop.example.com", "/"))
		return resp.Header.Get("Strict-Transport-Security")
	}
	configs := []struct {
		cfg  string
		ok   bool
		hsts string
	}{
		{bCfg, true, "max-age=86400"}, {a, true, "max-age=31536000"}, {bCfg, true, "max-age=86400"},
		{a, true, "max-age=31536000"}, {invalid, false, "max-age=31536000"}, {bCfg, true, "max-age=86400"},
		{a, true, "max-age=31536000"}, {bCfg, true, "max-age=86400"}, {a, true, "max-age=31536000"},
		{bCfg, true, "max-age=86400"},
	}
	for i, c := range configs {
		before := total.Load()
		if err := writeFile(h.file, base+c.cfg); err != nil {
			t.Fatal(err)
		}
		err := h.srv.ReloadFile(context.Background())
		if (err == nil) != c.ok {
			t.Fatalf("reload %d: error %v, want ok=%v", i, err, c.ok)
		}
		if got := hsts(); got != c.hsts {
			t.Errorf("after reload %d: HSTS %q, want %q", i, got, c.hsts)
		}
		// Let the load run across each configuration.
		waitFor(t, "requests between reloads", func() bool { return total.Load() >= before+50 })
	}
	close(stop)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		var msgs []string
		failures.Range(func(k, _ any) bool { msgs = append(msgs, k.(string)); return true })
		t.Errorf("%d of %d requests failed during reloads: %q", n, total.Load(), msgs)
	}
	t.Logf("%d requests during 10 reloads", total.Load())
	if got := h.metric(`forcehttps_edge_config_reloads_total{result="success"}`); got != 9 {
		t.Errorf("config_reloads_total{success} = %v, want 9", got)
	}
	if got := h.metric(`forcehttps_edge_config_reloads_total{result="failure"}`); got != 1 {
		t.Errorf("config_reloads_total{failure} = %v, want 1", got)
	}
	if !strings.Contains(h.logs.String(), `apps[6].domains[0]: \"shop.example.com\" is also a domain of app \"shop\" (apps[0])`) {
		t.Errorf("the refused configuration's errors are not logged:\n%s", h.logs.String())
	}
	// The certificate manager was told the domains of each new config.
	if got := h.certs.lastManaged(); !contains(got, "*.shop.example.com") {
		t.Errorf("ManageDomains last got %q", got)
	}
}

func writeFile(path, content string) error {
	return osWriteFile(path, []byte(content))
}

// TestReloadInFlight checks that a request in flight during a reload
// finishes with the configuration it started with.
func TestReloadInFlight(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	arrived := make(chan struct{})
	slow := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		io.WriteString(w, "old")
	}))
	fast := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "new") }))
	cfg := "apps:\n  - {name: shop, domains: [shop.example.com], upstream: %q}\n"
	h := startEdge(t, fmt.Sprintf(cfg, slow))
	res := make(chan string, 1)
	go func() {
		resp, err := h.client(true).Get(httpsURL("shop.example.com", "/"))
		if err != nil {
			res <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	<-arrived
	if err := h.srv.Reload(context.Background(), mustParse(t, base+fmt.Sprintf(cfg, fast))); err != nil {
		t.Fatal(err)
	}
	if _, body := h.get(h.client(false), httpsURL("shop.example.com", "/")); body != "new" {
		t.Errorf("after the reload: %q, want the new upstream", body)
	}
	close(release)
	if got := <-res; got != "200 old" {
		t.Errorf("request in flight during the reload: %q, want 200 old", got)
	}
}

func TestReloadRefusedByManager(t *testing.T) {
	t.Parallel()
	h := startEdge(t, appsConfig(t))
	h.certs.mu.Lock()
	h.certs.fail = errTest
	h.certs.mu.Unlock()
	if err := h.srv.Reload(context.Background(), mustParse(t, base+strings.Replace(appsConfig(t), "max_age: 600", "max_age: 700", 1))); err == nil {
		t.Fatal("Reload with a failing certificate manager = nil error")
	}
	resp, _ := h.get(h.client(false), httpsURL("custom.example.com", "/"))
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=600; includeSubDomains" {
		t.Errorf("after a refused reload: HSTS %q, want the old policy", got)
	}
}

func TestWatchConfigFile(t *testing.T) {
	t.Parallel()
	a := appsConfig(t)
	h := startEdgeWatching(t, a, 10*time.Millisecond)
	hsts := func() string {
		resp, _ := h.get(h.client(false), httpsURL("custom.example.com", "/"))
		return resp.Header.Get("Strict-Transport-Security")
	}
	if got := hsts(); got != "max-age=600; includeSubDomains" {
		t.Fatalf("before: HSTS %q", got)
	}
	if err := writeFile(h.file, base+strings.Replace(a, "max_age: 600", "max_age: 700", 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the changed file to be reloaded", func() bool { return hsts() == "max-age=700; includeSubDomains" })
	// A broken file is refused once, and the last good one keeps serving.
	if err := writeFile(h.file, base+a+"oops: true\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the broken file to be refused", func() bool {
		return h.metric(`forcehttps_edge_config_reloads_total{result="failure"}`) == 1
	})
	if got := hsts(); got != "max-age=700; includeSubDomains" {
		t.Errorf("after a broken file: HSTS %q, want the last good policy", got)
	}
	if !strings.Contains(h.logs.String(), "oops: unknown key") {
		t.Errorf("the broken file's error was not logged")
	}
}

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	slow, arrived, release := slowServer(t, "finished")
	h := startEdge(t, fmt.Sprintf("apps:\n  - {name: slow, domains: [shop.example.com], upstream: %q}\n", slow))
	res := getAsync(h.client(false), httpsURL("shop.example.com", "/"))
	<-arrived
	stopped := make(chan error, 1)
	go func() { stopped <- h.stop() }()
	// New connections are refused once shutdown has begun.
	waitFor(t, "the listeners to close", func() bool {
		conn, err := net.Dial("tcp", h.addrs.HTTPS)
		if err != nil {
			return true
		}
		conn.Close()
		return false
	})
	close(release)
	r := <-res
	if r.err != nil || r.status != 200 || r.body != "finished" {
		t.Errorf("in-flight request during shutdown: %d %q %v, want 200 finished", r.status, r.body, r.err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve after a graceful shutdown = %v, want nil", err)
	}
}

func TestUpstreamFailures(t *testing.T) {
	t.Parallel()
	hang := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	}))
	h := startEdge(t, fmt.Sprintf(`
timeouts: {upstream_response_header: 200ms}
apps:
  - {name: down, domains: [shop.example.com], upstream: "http://%s"}
  - {name: hang, domains: [web.example.com], upstream: %q}
`, testutil.ClosedAddr(t), hang))
	tests := []struct {
		name, url string
		status    int
		text      string
		kind      string
	}{
		{"down", httpsURL("shop.example.com", "/"), 502, "502 Bad Gateway", kindConnect},
		{"hang", httpsURL("web.example.com", "/"), 504, "504 Gateway Timeout", kindTimeout},
	}
	for _, h2 := range []bool{false, true} {
		c := h.client(h2)
		for _, tt := range tests {
			resp, body := h.get(c, tt.url)
			id := resp.Header.Get("X-Request-Id")
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.text) || id == "" || !strings.Contains(body, "Request ID: "+id) {
				t.Errorf("%s h2=%v: %d %q (X-Request-Id %q), want %d with %q and the request ID", tt.name, h2, resp.StatusCode, body, id, tt.status, tt.text)
			}
			if strings.Contains(body, "127.0.0.1") || strings.Contains(body, "dial") {
				t.Errorf("%s: the body %q leaks internals", tt.name, body)
			}
			if v := resp.Header.Values("Strict-Transport-Security"); len(v) != 1 {
				t.Errorf("%s: HSTS %q on the edge's error, want one", tt.name, v)
			}
		}
	}
	for _, tt := range tests {
		if got := h.metric(fmt.Sprintf(`forcehttps_edge_upstream_errors_total{app=%q,kind=%q}`, tt.name, tt.kind)); got != 2 {
			t.Errorf("upstream_errors_total{%s,%s} = %v, want 2", tt.name, tt.kind, got)
		}
	}
	if !strings.Contains(h.logs.String(), `"msg":"edge: upstream error","app":"down"`) {
		t.Errorf("upstream failure not logged")
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	h := startEdge(t, "timeouts: {read_header: 200ms}\nlimits: {max_header_bytes: 4096, max_body_bytes: 10}\n"+appsConfig(t))
	c := h.client(false)

	t.Run("huge header", func(t *testing.T) {
		resp, _ := h.do(c, "GET", httpsURL("shop.example.com", "/"), http.Header{"X-Big": {strings.Repeat("a", 16<<10)}}, nil)
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("16 KiB header = %d, want 431", resp.StatusCode)
		}
	})
	t.Run("body announced", func(t *testing.T) {
		resp, body := h.do(c, "POST", httpsURL("shop.example.com", "/"), nil, strings.NewReader(strings.Repeat("x", 100)))
		if resp.StatusCode != 413 || len(resp.Header.Values("Strict-Transport-Security")) != 1 {
			t.Errorf("100-byte body = %d %q (HSTS %q), want 413 with HSTS", resp.StatusCode, body, resp.Header.Values("Strict-Transport-Security"))
		}
	})
	t.Run("body streamed", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() { io.WriteString(pw, strings.Repeat("x", 100)); pw.Close() }()
		resp, body := h.do(c, "POST", httpsURL("shop.example.com", "/"), nil, pr)
		if resp.StatusCode != 413 {
			t.Errorf("streamed 100-byte body = %d %q, want 413", resp.StatusCode, body)
		}
	})
	t.Run("small body", func(t *testing.T) {
		resp, _ := h.do(c, "POST", httpsURL("shop.example.com", "/"), nil, strings.NewReader("small"))
		if resp.StatusCode != 200 {
			t.Errorf("5-byte body = %d, want 200", resp.StatusCode)
		}
	})
	t.Run("slow headers", func(t *testing.T) {
		dials := map[string]func() (net.Conn, error){
			"http": func() (net.Conn, error) { return net.Dial("tcp", h.addrs.HTTP) },
			"https": func() (net.Conn, error) {
				return tls.Dial("tcp", h.addrs.HTTPS, &tls.Config{RootCAs: testRoot, ServerName: "shop.example.com", NextProtos: []string{"http/1.1"}})
			},
		}
		for name, dial := range dials {
			conn, err := dial()
			if err != nil {
				t.Fatal(err)
			}
			// Half a request, then silence: the server must hang up after
			// read_header (200ms); the 10s deadline means it never did.
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(conn, "GET / HTTP/1.1\r\nHost: shop.exa")
			_, err = io.ReadAll(conn)
			conn.Close()
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Errorf("%s: a client sending headers slowly was not cut off", name)
			}
		}
	})
}

func TestPanicIsRecovered(t *testing.T) {
	t.Parallel()
	h := startEdge(t, appsConfig(t))
	resp, body := h.get(h.client(false), httpURL("shop.example.com", panicPath))
	if resp.StatusCode != 500 || strings.Contains(body, "test:") || !strings.Contains(body, resp.Header.Get("X-Request-Id")) {
		t.Errorf("panic: %d %q, want 500 with the request ID and no detail", resp.StatusCode, body)
	}
	if !strings.Contains(h.logs.String(), "the certificate manager failed") {
		t.Errorf("the panic was not logged")
	}
	// The server goes on.
	if resp, _ := h.get(h.client(false), httpsURL("shop.example.com", "/")); resp.StatusCode != 200 {
		t.Errorf("after a panic: %d, want 200", resp.StatusCode)
	}
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	h := startEdge(t, appsConfig(t))
	c := h.client(false)
	h.get(c, httpURL("shop.example.com", "/a"))
	h.get(c, httpsURL("shop.example.com", "/b"))
	lines := h.access.waitLines(t, 2)
	if len(lines) != 2 {
		t.Fatalf("access log has %d lines, want 2:\n%s", len(lines), h.access.String())
	}
	keys := []string{"time", "level", "msg", "app", "host", "method", "path", "status", "bytes", "duration_ms", "request_id", "scheme", "peer", "client_ip", "action", "reason"}
	for i, l := range lines {
		for _, k := range keys {
			if _, ok := l[k]; !ok {
				t.Errorf("line %d lacks %q: %v", i, k, l)
			}
		}
	}
	want := []map[string]any{
		{"app": "shop", "path": "/a", "status": 301.0, "scheme": "http", "action": "redirect", "reason": "redirect", "peer": "127.0.0.1"},
		{"app": "shop", "path": "/b", "status": 200.0, "scheme": "https", "action": "proxy", "reason": "secure", "client_ip": "127.0.0.1"},
	}
	for i, w := range want {
		for k, v := range w {
			if lines[i][k] != v {
				t.Errorf("line %d: %s = %v, want %v", i, k, lines[i][k], v)
			}
		}
	}
}

func TestMetricsExposed(t *testing.T) {
	t.Parallel()
	expiry := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	h := startEdge(t, appsConfig(t), WithCertificateInfo(func() []CertificateInfo {
		return []CertificateInfo{
			{Names: []string{"shop.example.com", "*.shop.example.com"}, NotAfter: expiry, Source: "acme"},
			{Names: []string{"shop.example.com"}, NotAfter: expiry.Add(-time.Hour), Source: "acme"},
		}
	}))
	c := h.client(false)
	before := h.metric(`forcehttps_edge_requests_total{app="shop",code="301",scheme="http"}`)
	h.get(c, httpURL("shop.example.com", "/"))
	h.get(c, httpURL("shop.example.com", "/"))
	h.get(c, httpsURL("shop.example.com", "/"))
	checks := map[string]float64{
		`forcehttps_edge_requests_total{app="shop",code="301",scheme="http"}`:                           2,
		`forcehttps_edge_requests_total{app="shop",code="200",scheme="https"}`:                          1,
		`forcehttps_edge_redirects_total{app="shop",reason="plain-http"}`:                               2,
		`forcehttps_edge_hsts_injected_total{app="shop"}`:                                               1,
		`forcehttps_edge_request_duration_seconds_count{app="shop",scheme="http"}`:                      2,
		`forcehttps_edge_config_reloads_total{result="success"}`:                                        0,
		`forcehttps_edge_certificate_expiry_timestamp_seconds{name="shop.example.com",source="acme"}`:   float64(expiry.Unix()),
		`forcehttps_edge_certificate_expiry_timestamp_seconds{name="*.shop.example.com",source="acme"}`: float64(expiry.Unix()),
	}
	if before > 0 {
		t.Fatalf("requests_total before any request = %v", before)
	}
	for series, want := range checks {
		if got := h.metric(series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	resp, err := http.Get("http://" + h.addrs.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`forcehttps_build_info\{goversion="go[^"]+",version="[^"]+"\} 1`).Match(b) {
		t.Errorf("no build_info in /metrics")
	}
	if resp, err := http.Get("http://" + h.addrs.Admin + "/other"); err != nil || resp.StatusCode != 404 {
		t.Errorf("admin /other = %v %v, want 404", resp, err)
	}
}

func TestBuiltin(t *testing.T) {
	t.Parallel()
	var secure atomic.Bool
	h := startEdge(t, `
apps:
  - {name: inspector, domains: [builtin.example.com], upstream: "builtin:inspector"}
`, WithBuiltin("inspector", func(m *forcehttps.Middleware) (http.Handler, error) {
		return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d := m.Check(r)
			secure.Store(d.Secure && d.TrustedPeer)
			fmt.Fprintf(w, "proto=%s secure=%v source=%s", r.Header.Get("X-Forwarded-Proto"), d.Secure, d.Source)
		})), nil
	}))
	resp, body := h.get(h.client(true), httpsURL("builtin.example.com", "/headers"))
	if resp.StatusCode != 200 || body != "proto=https secure=true source=trusted-proxy:x-forwarded-proto" {
		t.Errorf("builtin: %d %q", resp.StatusCode, body)
	}
	if v := resp.Header.Values("Strict-Transport-Security"); len(v) != 1 {
		t.Errorf("builtin: HSTS %q, want one", v)
	}
	if resp, _ := h.get(h.client(false), httpURL("builtin.example.com", "/headers")); resp.StatusCode != 301 {
		t.Errorf("builtin over http: %d, want 301", resp.StatusCode)
	}
	if !secure.Load() {
		t.Errorf("the builtin did not see a secure request from a trusted proxy")
	}
}

// TestAccessLogFile logs to a file, as access_log.output names one:
// requests made at once all get their line, whole, and every line is in
// the file once Serve has returned.
func TestAccessLogFile(t *testing.T) {
	t.Parallel()
	loadTestCert()
	path := filepath.Join(t.TempDir(), "access.log")
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: {http: "127.0.0.1:0", https: "127.0.0.1:0"}
tls: {self_signed: [shop.example.com]}
apps:
  - {name: shop, domains: [shop.example.com], upstream: "http://127.0.0.1:9"}
access_log: {output: %q}
`, path)), config.YAML)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, &testCerts{}, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx) }()
	client := newClient(srv.Addrs(), false)
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// The path has characters JSON escapes (not invalid UTF-8,
			// which checkSlogJSON could not read back as it was).
			resp, err := client.Get(fmt.Sprintf("http://shop.example.com/r%d%%22%%5C%%3C%%E2%%80%%A8%%09", i))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	client.CloseIdleConnections()
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		var rec struct {
			Msg    string
			Path   string
			Status int
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Msg != "request" || rec.Status != 301 {
			t.Fatalf("line %d: %q (%v): want a request's line", i, line, err)
		}
		seen[rec.Path] = true
		if i < 3 {
			checkSlogJSON(t, line)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d requests logged, want %d", len(seen), n)
	}
}

// checkSlogJSON fails the test unless line, an access log line written
// by accesslog's JSON appender, has the fields of a redirect's line in
// their order, and is what slog.NewJSONHandler writes for its time and
// values.
func checkSlogJSON(t *testing.T, line string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	token := func() json.Token {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		return tok
	}
	token() // {
	var keys []string
	var at time.Time
	var attrs []slog.Attr
	for dec.More() {
		key, val := token().(string), token()
		keys = append(keys, key)
		switch key {
		case "time":
			var err error
			if at, err = time.Parse(time.RFC3339Nano, val.(string)); err != nil {
				t.Fatal(err)
			}
		case "level", "msg":
		case "status", "bytes":
			n, err := val.(json.Number).Int64()
			if err != nil {
				t.Fatal(err)
			}
			attrs = append(attrs, slog.Int64(key, n))
		case "duration_ms":
			f, err := val.(json.Number).Float64()
			if err != nil {
				t.Fatal(err)
			}
			attrs = append(attrs, slog.Float64(key, f))
		default:
			attrs = append(attrs, slog.String(key, val.(string)))
		}
	}
	wantKeys := []string{"time", "level", "msg", "app", "host", "method", "path", "status", "bytes", "duration_ms",
		"request_id", "scheme", "peer", "client_ip", "action", "reason"}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Fatalf("keys of %q (-want +got):\n%s", line, diff)
	}
	var buf strings.Builder
	r := slog.NewRecord(at, slog.LevelInfo, "request", 0)
	r.AddAttrs(attrs...)
	if err := slog.NewJSONHandler(&buf, nil).Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if buf.String() != line+"\n" {
		t.Fatalf("access log line mismatch:\n got %q\nwant %q (slog)", line+"\n", buf.String())
	}
}

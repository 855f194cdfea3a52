package inspect

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/forcehttps/forcehttps"
	"github.com/google/go-cmp/cmp"
)

func TestNewRequiresMiddleware(t *testing.T) {
	t.Parallel()
	if _, err := New(Options{}); !errors.Is(err, ErrNoMiddleware) {
		t.Errorf("New(Options{}) error = %v, want ErrNoMiddleware", err)
	}
}

// TestGolden renders the page and the JSON report of typical requests and
// compares them with the files under testdata/.
func TestGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  forcehttps.Config
		req  request
	}{
		{
			name: "trusted-proxy",
			cfg:  forcehttps.Config{TrustedProxies: []string{"203.0.113.0/24"}, AllowedHosts: []string{"example.com"}},
			req: request{header: []string{
				"X-Forwarded-Proto", "https",
				"X-Forwarded-For", "198.51.100.7, 203.0.113.5",
				"Via", "1.1 google",
				"X-Cloud-Trace-Context", "105445aa7843bc8bf206b12000100000/1;o=1",
				"Accept", "text/html",
				"User-Agent", "Mozilla/5.0 (golden)",
				"Cookie", "sid=s3cr3t; theme=dark",
				"X-Multi", "one",
				"X-Multi", "two",
			}},
		},
		{
			name: "untrusted-peer",
			cfg:  forcehttps.Config{AllowedHosts: []string{"example.com"}},
			req: request{host: "127.0.0.1:8080", remote: "127.0.0.1:50000", header: []string{
				"X-Forwarded-Proto", "https",
				"User-Agent", "curl/8.0",
				"Authorization", "Bearer eyJhbGciOi.payload.sig",
			}},
		},
		{
			name: "tls",
			cfg:  forcehttps.Config{AllowedHosts: []string{"example.com"}, HSTSIncludeSubDomains: true},
			req:  request{tls: true, header: []string{"User-Agent", "curl/8.0"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			insp, m := newInspector(t, tt.cfg, Options{})
			h := m.Handler(insp)

			res, body := serve(t, h, tt.req.build(t))
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET /headers: status %d, body %q", res.StatusCode, body)
			}
			golden(t, tt.name+".html", body)

			jreq := tt.req
			jreq.target = "/headers.json"
			res, body = serve(t, h, jreq.build(t))
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET /headers.json: status %d, body %q", res.StatusCode, body)
			}
			golden(t, tt.name+".json", body)
		})
	}
}

// TestDecision checks the decision panel, in the JSON report and on the
// page, for trusted and untrusted peers and the other outcomes. The
// inspector is served directly, not behind the middleware, so that
// redirects and refusals reach it too.
func TestDecision(t *testing.T) {
	t.Parallel()
	hosts := []string{"example.com"}
	tests := []struct {
		name string
		cfg  forcehttps.Config
		req  request
		want DecisionInfo // compared on the fields below
	}{
		{
			name: "untrusted peer claims https",
			cfg:  forcehttps.Config{AllowedHosts: hosts},
			req:  request{header: []string{"X-Forwarded-Proto", "https"}},
			want: DecisionInfo{Source: "untrusted-peer", Action: "redirect", Reason: "redirect", Peer: "203.0.113.9", ClientIP: "203.0.113.9",
				Host: "example.com", Status: 301, Location: "https://example.com/headers"},
		},
		{
			name: "trusted proxy says https",
			cfg:  forcehttps.Config{AllowedHosts: hosts, TrustedProxies: []string{"203.0.113.9"}},
			req:  request{header: []string{"X-Forwarded-Proto", "https", "X-Forwarded-For", "198.51.100.7"}},
			want: DecisionInfo{Secure: true, Source: "trusted-proxy:x-forwarded-proto", Header: "X-Forwarded-Proto", Action: "serve", Reason: "secure",
				Peer: "203.0.113.9", TrustedPeer: true, ClientIP: "198.51.100.7", HSTS: "max-age=31536000"},
		},
		{
			name: "trusted proxy says http",
			cfg:  forcehttps.Config{AllowedHosts: hosts, Trust: forcehttps.PresetCloudRun, Temporary: true},
			req:  request{target: "/headers?a=1", header: []string{"X-Forwarded-Proto", "http"}},
			want: DecisionInfo{Source: "trusted-proxy:x-forwarded-proto", Header: "X-Forwarded-Proto", Action: "redirect", Reason: "redirect",
				Peer: "203.0.113.9", TrustedPeer: true, ClientIP: "203.0.113.9", Host: "example.com", Status: 302, Location: "https://example.com/headers?a=1"},
		},
		{
			name: "tls",
			cfg:  forcehttps.Config{AllowedHosts: hosts},
			req:  request{tls: true},
			want: DecisionInfo{Secure: true, Source: "tls", Action: "serve", Reason: "secure", Peer: "203.0.113.9", ClientIP: "203.0.113.9", HSTS: "max-age=31536000"},
		},
		{
			name: "malformed header from trusted proxy",
			cfg:  forcehttps.Config{AllowedHosts: hosts, TrustedProxies: []string{"203.0.113.0/24"}},
			req:  request{header: []string{"X-Forwarded-Proto", "htp s"}},
			want: DecisionInfo{Source: "proxy-malformed", Header: "X-Forwarded-Proto", Action: "refuse", Reason: "proxy-malformed",
				Peer: "203.0.113.9", TrustedPeer: true, ClientIP: "203.0.113.9", Status: 400},
		},
		{
			name: "unknown host",
			cfg:  forcehttps.Config{AllowedHosts: hosts},
			req:  request{host: "evil.example"},
			want: DecisionInfo{Source: "plain-http", Action: "refuse", Reason: "unknown-host", Peer: "203.0.113.9", ClientIP: "203.0.113.9",
				Host: "evil.example", Status: 400},
		},
		{
			name: "dev host",
			cfg:  forcehttps.Config{AllowedHosts: hosts},
			req:  request{host: "localhost:8080", remote: "127.0.0.1:4000"},
			want: DecisionInfo{Source: "plain-http", Action: "serve", Reason: "dev-host", Peer: "127.0.0.1", ClientIP: "127.0.0.1", Host: "localhost"},
		},
		{
			name: "exempt health check",
			cfg:  forcehttps.Config{AllowedHosts: hosts, ExemptPaths: []string{"/healthz"}},
			req:  request{target: "/healthz"},
			want: DecisionInfo{Source: "plain-http", Action: "serve", Reason: "exempt:path", Peer: "203.0.113.9", ClientIP: "203.0.113.9"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			insp, _ := newInspector(t, tt.cfg, Options{})
			got := insp.Report(tt.req.build(t)).Decision
			opt := cmp.FilterPath(func(p cmp.Path) bool {
				switch p.Last().String() {
				case ".SourceExplanation", ".ReasonExplanation", ".Message", ".HSTSNote", ".SecurityHeaders":
					return true
				}
				return false
			}, cmp.Ignore())
			if diff := cmp.Diff(tt.want, got, opt); diff != "" {
				t.Errorf("Report(%s).Decision mismatch (-want +got):\n%s", tt.name, diff)
			}
			if got.SourceExplanation == "" || got.ReasonExplanation == "" {
				t.Errorf("Report(%s): missing explanation: source %q, reason %q", tt.name, got.SourceExplanation, got.ReasonExplanation)
			}
			if (got.HSTS == "") == (got.HSTSNote == "") {
				t.Errorf("Report(%s): hsts %q, hsts_note %q: want exactly one", tt.name, got.HSTS, got.HSTSNote)
			}

			// The page shows the same codes.
			if tt.req.target != "" && !strings.HasPrefix(tt.req.target, "/headers") {
				return // the decision is about another path
			}
			_, body := serve(t, insp, tt.req.build(t))
			for _, want := range []string{
				`<code id="source">` + tt.want.Source + `</code>`,
				`<code id="reason">` + tt.want.Reason + `</code>`,
				`<code id="action">` + tt.want.Action + `</code>`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("GET /headers (%s): page lacks %q", tt.name, want)
				}
			}
			trusted := "not a trusted proxy"
			if tt.want.TrustedPeer {
				trusted = "trusted proxy"
			}
			if !regexp.MustCompile(`id="trusted-peer"[^>]*>` + trusted + `<`).MatchString(body) {
				t.Errorf("GET /headers (%s): page lacks trusted-peer %q", tt.name, trusted)
			}
			if tt.want.Location != "" && !strings.Contains(body, tt.want.Location) {
				t.Errorf("GET /headers (%s): page lacks the redirect target %q", tt.name, tt.want.Location)
			}
		})
	}
}

// TestSecurityHeaders checks the headers the panel lists against those the
// middleware actually sends, so the computation from Config cannot drift.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  forcehttps.Config
	}{
		{"defaults", forcehttps.Config{}},
		{"overrides", forcehttps.Config{SecurityHeaders: map[string]string{
			"x-frame-options":    "",
			"Referrer-Policy":    "no-referrer",
			"X-Custom-Protected": "yes",
		}}},
		{"disabled", forcehttps.Config{DisableSecurityHeaders: true, SecurityHeaders: map[string]string{"X-Only": "1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.AllowedHosts = []string{"example.com"}
			insp, m := newInspector(t, tt.cfg, Options{})
			res, body := serve(t, m.Handler(insp), request{tls: true, target: "/headers.json"}.build(t))
			listed := decodeReport(t, body).Decision.SecurityHeaders
			// What the middleware sent: the listed names, and the names
			// it could send that the list might have missed.
			names := []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options",
				"Referrer-Policy", "Permissions-Policy", "Cross-Origin-Opener-Policy",
				"Cross-Origin-Resource-Policy", "X-Custom-Protected", "X-Only"}
			for k := range listed {
				names = append(names, k)
			}
			sent := map[string]string{}
			for _, k := range names {
				if v := res.Header.Get(k); v != "" {
					sent[k] = v
				}
			}
			if diff := cmp.Diff(sent, listed); diff != "" {
				t.Errorf("security_headers mismatch (-sent +listed):\n%s", diff)
			}
		})
	}
}

// TestNonce: with a "{nonce}" in the CSP, the stylesheet link carries the
// nonce of this very response, and the panel shows the CSP as sent.
func TestNonce(t *testing.T) {
	t.Parallel()
	insp, m := newInspector(t, forcehttps.Config{SecurityHeaders: map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'nonce-{nonce}'",
	}}, Options{})
	res, body := serve(t, m.Handler(insp), request{tls: true}.build(t))
	csp := res.Header.Get("Content-Security-Policy")
	nonce := strings.TrimSuffix(strings.TrimPrefix(csp, "default-src 'none'; style-src 'nonce-"), "'")
	if nonce == "" || nonce == csp {
		t.Fatalf("Content-Security-Policy = %q: no nonce", csp)
	}
	// html/template escapes "+" and "=" in attributes; browsers decode them.
	m1 := regexp.MustCompile(`<link rel="stylesheet" href="/headers.css" nonce="([^"]*)">`).FindStringSubmatch(body)
	if m1 == nil || html.UnescapeString(m1[1]) != nonce {
		t.Errorf("stylesheet link %q, want nonce %q", m1, nonce)
	}
	if !strings.Contains(html.UnescapeString(body), "<code>"+csp+"</code>") {
		t.Errorf("panel does not show the CSP as sent (%q)", csp)
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	insp, m := newInspector(t, forcehttps.Config{AllowedHosts: []string{"example.com"}, ExemptPaths: []string{"/healthz"}}, Options{})
	h := m.Handler(insp)
	tests := []struct {
		name        string
		req         request
		status      int
		contentType string
		body        string // a substring of the body
		header      map[string]string
	}{
		{"index", request{tls: true, target: "/"}, 200, "text/html; charset=utf-8", `<a href="/headers.json">`, nil},
		{"page", request{tls: true}, 200, "text/html; charset=utf-8", `<h2 id="decision-title">What forcehttps decided</h2>`,
			map[string]string{"Vary": "Accept", "Cache-Control": "no-store"}},
		{"page asks for json", request{tls: true, header: []string{"Accept", "application/json"}}, 200, "application/json; charset=utf-8", `"schema_version": 1`,
			map[string]string{"Vary": "Accept", "Cache-Control": "no-store"}},
		{"browser accept", request{tls: true, header: []string{"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}}, 200, "text/html; charset=utf-8", "<!DOCTYPE html>", nil},
		{"json", request{tls: true, target: "/headers.json"}, 200, "application/json; charset=utf-8", `"decision": {`, map[string]string{"Cache-Control": "no-store"}},
		{"css", request{tls: true, target: "/headers.css"}, 200, "text/css; charset=utf-8", "overflow-wrap: anywhere", nil},
		{"healthz over plain http", request{target: "/healthz"}, 200, "text/plain; charset=utf-8", "ok\n", nil},
		{"not found", request{tls: true, target: "/nope"}, 404, "text/plain; charset=utf-8", "404", nil},
		{"trailing slash is another path", request{tls: true, target: "/headers/"}, 404, "text/plain; charset=utf-8", "404", nil},
		{"post", request{tls: true, method: http.MethodPost}, 405, "text/plain; charset=utf-8", "405", map[string]string{"Allow": "GET, HEAD"}},
		{"delete healthz", request{tls: true, method: http.MethodDelete, target: "/healthz"}, 405, "text/plain; charset=utf-8", "405", map[string]string{"Allow": "GET, HEAD"}},
		{"plain http is redirected", request{target: "/headers?x=1"}, 301, "", "", map[string]string{"Location": "https://example.com/headers?x=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, body := serve(t, h, tt.req.build(t))
			if res.StatusCode != tt.status {
				t.Errorf("%s %s: status %d, want %d", tt.req.method, tt.req.target, res.StatusCode, tt.status)
			}
			if got := res.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("%s %s: Content-Type %q, want %q", tt.req.method, tt.req.target, got, tt.contentType)
			}
			if !strings.Contains(body, tt.body) {
				t.Errorf("%s %s: body lacks %q:\n%.300s", tt.req.method, tt.req.target, tt.body, body)
			}
			for k, v := range tt.header {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s %s: %s = %q, want %q", tt.req.method, tt.req.target, k, got, v)
				}
			}
		})
	}
}

// TestHead: HEAD gets the headers of GET, Content-Length included.
func TestHead(t *testing.T) {
	t.Parallel()
	insp, _ := newInspector(t, forcehttps.Config{}, Options{})
	for _, target := range []string{"/", "/headers", "/headers.json", "/headers.css", "/healthz"} {
		get, body := serve(t, insp, request{tls: true, target: target}.build(t))
		head, _ := serve(t, insp, request{tls: true, target: target, method: http.MethodHead}.build(t))
		if head.StatusCode != 200 || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
			t.Errorf("HEAD %s: status %d, Content-Type %q; GET: %q", target, head.StatusCode, head.Header.Get("Content-Type"), get.Header.Get("Content-Type"))
		}
		if got, want := get.Header.Get("Content-Length"), fmt.Sprint(len(body)); got != want {
			t.Errorf("GET %s: Content-Length %s, body is %s bytes", target, got, want)
		}
	}
}

// TestEscaping: markup in header names' values, the request target and the
// Host is shown as text, never interpreted.
func TestEscaping(t *testing.T) {
	t.Parallel()
	insp, _ := newInspector(t, forcehttps.Config{}, Options{})
	const payload = `<script>alert(1)</script>`
	r := request{
		tls:    true,
		target: "/headers?q=%22%3E%3Cscript%3E&raw=\"><img>",
		header: []string{
			"X-Evil", payload,
			"X-Forwarded-Proto", `"><script>alert(2)</script>`,
			"User-Agent", "</td></tr></table><h1>broken</h1>",
		},
	}.build(t)
	r.RequestURI = `/headers?raw="><script>alert(3)</script>`
	_, body := serve(t, insp, r)
	lower := strings.ToLower(body)
	if strings.Contains(lower, "<script") || strings.Contains(lower, "<img") || strings.Contains(lower, "<h1>broken") {
		t.Errorf("page contains raw markup from the request:\n%s", body)
	}
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		"&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;h1&gt;broken&lt;/h1&gt;",
		"&lt;script&gt;alert(3)&lt;/script&gt;",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks the escaped text %q", want)
		}
	}
	if got, want := strings.Count(body, "<tr"), strings.Count(body, "</tr>"); got != want {
		t.Errorf("page has %d <tr and %d </tr>: the table is broken", got, want)
	}
}

// TestLargeRequest: 100 headers and an 8 KiB value render in full without
// breaking the page.
func TestLargeRequest(t *testing.T) {
	t.Parallel()
	insp, _ := newInspector(t, forcehttps.Config{}, Options{})
	long := strings.Repeat("0123456789abcdef", 512) // 8 KiB, no break opportunity
	var hdr []string
	for i := range 100 {
		hdr = append(hdr, fmt.Sprintf("X-Header-%03d", i), fmt.Sprintf("value %d <&>", i))
	}
	hdr = append(hdr, "X-Long", long)
	req := request{tls: true, header: hdr}

	res, body := serve(t, insp, req.build(t))
	if res.StatusCode != 200 {
		t.Fatalf("GET /headers: status %d", res.StatusCode)
	}
	if !strings.HasSuffix(body, "</html>\n") {
		t.Errorf("page does not end with </html>: %q", body[max(0, len(body)-100):])
	}
	for i := range 100 {
		if want := fmt.Sprintf(`<span class="hname">X-Header-%03d</span>`, i); !strings.Contains(body, want) {
			t.Errorf("page lacks the row of %q", want)
		}
		if want := fmt.Sprintf("value %d &lt;&amp;&gt;", i); !strings.Contains(body, want) {
			t.Errorf("page lacks the value %q", want)
		}
	}
	if !strings.Contains(body, `<div class="v">`+long+`</div>`) {
		t.Error("page lacks the 8 KiB value, whole")
	}
	// 100 headers, X-Long and Host, plus the security headers table.
	if got, want := strings.Count(body, "<tr"), 1+102+len(forcehttps.DefaultSecurityHeaders()); got != want {
		t.Errorf("page has %d rows, want %d", got, want)
	}

	req.target = "/headers.json"
	_, body = serve(t, insp, req.build(t))
	rep := decodeReport(t, body)
	if len(rep.Headers) != 102 || rep.Headers["X-Long"][0] != long {
		t.Errorf("JSON report: %d headers (want 102), X-Long of %d bytes", len(rep.Headers), len(rep.Headers["X-Long"][0]))
	}
}

func TestRedaction(t *testing.T) {
	t.Parallel()
	hdr := []string{
		"Authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.payload.signature",
		"Proxy-Authorization", "Basic dXNlcjpwYXNz",
		"Cookie", "sid=s3cr3t; theme=dark",
		"Cookie", "other=xyz",
		"X-Serverless-Authorization", "opaque-token",
		"X-Api-Key", "k-123",
		"X-Forwarded-Proto", "https",
	}
	tests := []struct {
		name string
		show bool
		want map[string][]string
	}{
		{"redacted", false, map[string][]string{
			"Authorization":              {"Bearer [redacted, 45 bytes]"},
			"Proxy-Authorization":        {"Basic [redacted, 18 bytes]"},
			"Cookie":                     {"sid=[redacted]; theme=[redacted] (22 bytes)", "other=[redacted] (9 bytes)"},
			"X-Serverless-Authorization": {"[redacted, 12 bytes]"},
			"X-Api-Key":                  {"[redacted, 5 bytes]"},
			"X-Forwarded-Proto":          {"https"},
			"Host":                       {"example.com"},
		}},
		{"shown", true, map[string][]string{
			"Authorization":              {"Bearer eyJhbGciOiJSUzI1NiJ9.payload.signature"},
			"Proxy-Authorization":        {"Basic dXNlcjpwYXNz"},
			"Cookie":                     {"sid=s3cr3t; theme=dark", "other=xyz"},
			"X-Serverless-Authorization": {"opaque-token"},
			"X-Api-Key":                  {"k-123"},
			"X-Forwarded-Proto":          {"https"},
			"Host":                       {"example.com"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			insp, _ := newInspector(t, forcehttps.Config{}, Options{ShowCredentials: tt.show})
			rep := insp.Report(request{tls: true, header: hdr}.build(t))
			if diff := cmp.Diff(tt.want, rep.Headers); diff != "" {
				t.Errorf("Report().Headers mismatch (-want +got):\n%s", diff)
			}
			_, body := serve(t, insp, request{tls: true, header: hdr}.build(t))
			if leaked := strings.Contains(body, "s3cr3t") || strings.Contains(body, "signature"); leaked == !tt.show {
				t.Errorf("page shows the secrets: %v, want %v", leaked, tt.show)
			}
		})
	}
}

// TestRequestUnchanged: the inspector never changes the request.
func TestRequestUnchanged(t *testing.T) {
	t.Parallel()
	insp, _ := newInspector(t, forcehttps.Config{}, Options{})
	r := request{header: []string{"Cookie", "a=1", "X-Forwarded-Proto", "https"}}.build(t)
	before := r.Header.Clone()
	host, uri := r.Host, r.URL.String()
	serve(t, insp, r)
	if diff := cmp.Diff(before, r.Header); diff != "" || r.Host != host || r.URL.String() != uri {
		t.Errorf("request changed: header (-before +after):\n%s\nhost %q -> %q, url %q -> %q", diff, host, r.Host, uri, r.URL)
	}
}

// TestInvalidUTF8: bytes that are not UTF-8 become U+FFFD in both forms.
func TestInvalidUTF8(t *testing.T) {
	t.Parallel()
	insp, _ := newInspector(t, forcehttps.Config{}, Options{})
	hdr := []string{"X-Latin1", "caf\xe9"}
	_, page := serve(t, insp, request{tls: true, header: hdr}.build(t))
	_, js := serve(t, insp, request{tls: true, target: "/headers.json", header: hdr}.build(t))
	for name, body := range map[string]string{"page": page, "json": js} {
		if !utf8.ValidString(body) {
			t.Errorf("%s is not valid UTF-8", name)
		}
	}
	if got := decodeReport(t, js).Headers["X-Latin1"]; !slices.Equal(got, []string{"caf\uFFFD"}) {
		t.Errorf("X-Latin1 = %q, want [\"caf\\uFFFD\"]", got)
	}
}

func TestDetectionHeaders(t *testing.T) {
	t.Parallel()
	// Written independently of the code, in the spelling people use.
	want := []string{
		"Cf-Visitor", "Cloudfront-Forwarded-Proto", "Forwarded", "Upgrade-Insecure-Requests", "Via",
		"X-Arr-Ssl", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Proto",
		"X-Forwarded-Ssl", "X-Real-Ip", "X-Request-Id", "X-Request-Start",
	}
	if diff := cmp.Diff(want, DetectionHeaders()); diff != "" {
		t.Errorf("DetectionHeaders() mismatch (-want +got):\n%s", diff)
	}
	// Every header a preset can read is highlighted.
	for _, h := range forcehttps.ProtoHeaders() {
		if !isHighlighted(h) {
			t.Errorf("isHighlighted(%q) = false for a scheme header", h)
		}
	}
}

func BenchmarkHeaders(b *testing.B) {
	insp, m := newInspector(b, forcehttps.Config{TrustedProxies: []string{"203.0.113.0/24"}}, Options{})
	h := m.Handler(insp)
	for _, target := range []string{"/headers", "/headers.json"} {
		b.Run(strings.TrimPrefix(target, "/"), func(b *testing.B) {
			r := request{target: target, header: []string{
				"X-Forwarded-Proto", "https", "X-Forwarded-For", "198.51.100.7",
				"User-Agent", "Mozilla/5.0", "Accept", "text/html",
			}}.build(b)
			w := discardWriter{http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header       { return w.h }
func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (discardWriter) WriteHeader(int)             {}

// TestHSTSNote: when no HSTS is added, the report says why.
func TestHSTSNote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  forcehttps.Config
		req  request
		hsts string
		note string // substring
	}{
		{"tls", forcehttps.Config{}, request{tls: true}, "max-age=31536000", ""},
		{"revoked", forcehttps.Config{HSTSRevoke: true}, request{tls: true}, "max-age=0", ""},
		{"plain http", forcehttps.Config{}, request{host: "localhost"}, "", "never sent over plain HTTP"},
		{"disabled", forcehttps.Config{DisableHSTS: true}, request{tls: true}, "", "disabled"},
		{"dev host over tls", forcehttps.Config{}, request{tls: true, host: "localhost:8443"}, "", "development hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			insp, _ := newInspector(t, tt.cfg, Options{})
			d := insp.Report(tt.req.build(t)).Decision
			if d.HSTS != tt.hsts || !strings.Contains(d.HSTSNote, tt.note) || (tt.note == "") != (d.HSTSNote == "") {
				t.Errorf("Report(%s): hsts %q, note %q; want %q, note with %q", tt.name, d.HSTS, d.HSTSNote, tt.hsts, tt.note)
			}
		})
	}
}

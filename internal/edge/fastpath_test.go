package edge

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/forcehttps/forcehttps/internal/testutil"
	"github.com/google/go-cmp/cmp"
)

// withoutFastPath serves plain HTTP with net/http alone.
func withoutFastPath() Option { return func(o *options) { o.noFastPath = true } }

// fastRequests are raw plain-HTTP requests: those the fast path answers
// and those it leaves to net/http.
var fastRequests = []struct {
	name    string
	raw     string
	methods []string
	fast    bool // answered by the fast path
	h1      bool // declined by package h1 before the edge sees it
}{
	{"redirect", raw("GET /a/b?x=1&y=%2F HTTP/1.1", "Host: shop.example.com"), []string{"GET"}, true, false},
	{"redirect head", raw("HEAD / HTTP/1.1", "Host: shop.example.com"), []string{"HEAD"}, true, false},
	{"redirect post", raw("POST /f HTTP/1.1", "Host: shop.example.com", "Content-Length: 0"), []string{"POST"}, true, false},
	{"redirect post with body", "POST /f HTTP/1.1\r\nHost: shop.example.com\r\nContent-Length: 4\r\n\r\nbody", []string{"POST"}, false, true},
	{"wildcard", raw("GET / HTTP/1.1", "Host: a.shop.example.com"), []string{"GET"}, true, false},
	{"temporary", raw("GET / HTTP/1.1", "Host: temp.example.com"), []string{"GET"}, true, false},
	{"custom statuses", raw("DELETE /x HTTP/1.1", "Host: custom.example.com"), []string{"DELETE"}, true, false},
	{"normalized host", raw("GET / HTTP/1.1", "Host: SHOP.Example.COM.:80"), []string{"GET"}, true, false},
	{"idna host", raw("GET / HTTP/1.1", "Host: xn--bcher-kva.shop.example.com"), []string{"GET"}, true, false},
	{"escapes", raw("GET /%7e/%e2%82%ac/a%2Fb?q=<x>&r=\"y\" HTTP/1.1", "Host: shop.example.com"), []string{"GET"}, true, false},
	{"double slash", raw("GET //evil.example/%2F.. HTTP/1.1", "Host: shop.example.com"), []string{"GET"}, true, false},
	{"request id kept", raw("GET / HTTP/1.1", "Host: shop.example.com", "X-Request-Id: 0123456789abcdefghij"), []string{"GET"}, true, false},
	{"http/1.0", raw("GET / HTTP/1.0", "Host: shop.example.com"), []string{"GET"}, true, false},
	{"close", raw("GET / HTTP/1.1", "Host: shop.example.com", "Connection: close"), []string{"GET"}, true, false},
	{"forwarding headers from a stranger", raw("GET / HTTP/1.1", "Host: shop.example.com", "X-Forwarded-Proto: https", "Forwarded: proto=https"), []string{"GET"}, true, false},
	{"pipelined", raw("GET /1 HTTP/1.1", "Host: shop.example.com") + raw("GET /2 HTTP/1.1", "Host: blog.example.com") + raw("GET /3 HTTP/1.1", "Host: shop.example.com"), []string{"GET", "GET", "GET"}, true, true},

	{"static answer, exempt path", raw("GET /ping HTTP/1.1", "Host: shop.example.com"), []string{"GET"}, true, false},
	{"static answer, redirected", raw("GET /gone HTTP/1.1", "Host: shop.example.com"), []string{"GET"}, true, false},
	{"static answer, force https off", raw("GET /static HTTP/1.1", "Host: blog.example.com"), []string{"GET"}, true, false},
	{"static answer, head", raw("HEAD /static HTTP/1.1", "Host: blog.example.com"), []string{"HEAD"}, true, false},
	{"static answer, no content", raw("GET /empty HTTP/1.1", "Host: blog.example.com"), []string{"GET"}, true, false},
	{"static answer, other path", raw("GET /static/x HTTP/1.1", "Host: blog.example.com"), []string{"GET"}, false, false},
	{"exempt path", raw("GET /healthz HTTP/1.1", "Host: shop.example.com"), []string{"GET"}, false, false},
	{"force https off", raw("GET /x HTTP/1.1", "Host: blog.example.com"), []string{"GET"}, false, false},
	{"dev host", raw("GET / HTTP/1.1", "Host: 127.0.0.1"), []string{"GET"}, false, false},
	{"acme challenge", raw("GET /.well-known/acme-challenge/token HTTP/1.1", "Host: shop.example.com"), []string{"GET"}, false, false},
	{"unknown host", raw("GET / HTTP/1.1", "Host: other.example.com"), []string{"GET"}, false, false},
	{"invalid host", raw("GET / HTTP/1.1", "Host: shop.example.com:99999"), []string{"GET"}, false, false},
	{"host with underscore", raw("GET / HTTP/1.1", "Host: a_b.shop.example.com"), []string{"GET"}, true, false},
	{"no host", raw("GET / HTTP/1.0"), []string{"GET"}, false, true},
	{"absolute form", raw("GET http://evil.example/ HTTP/1.1", "Host: shop.example.com"), []string{"GET"}, false, true},
	{"websocket", raw("GET /ws HTTP/1.1", "Host: shop.example.com", "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="), []string{"GET"}, false, true},
	{"bare lf", "GET / HTTP/1.1\nHost: shop.example.com\n\n", []string{"GET"}, false, true},
}

func raw(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n\r\n" }

var (
	maskDate = regexp.MustCompile(`Date: [^\r]*`)
	maskID   = regexp.MustCompile(`[0-9a-f]{32}`)
	maskPort = regexp.MustCompile(`127\.0\.0\.1:\d+|"X-Forwarded-Port":\["\d+"\]|t=\d+`)
)

// exchangeRaw sends raw to addr and returns the responses to methods,
// their dates, request ids and loopback ports masked. With a server name,
// it speaks TLS (HTTP/1.1) first.
func exchangeRaw(t *testing.T, addr, raw string, methods []string, serverName ...string) string {
	t.Helper()
	var c net.Conn
	var err error
	if len(serverName) > 0 {
		c, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: testRoot, ServerName: serverName[0], NextProtos: []string{"http/1.1"}})
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out := testutil.Exchange(t, c, raw, methods...)
	out = maskDate.ReplaceAllString(out, "Date: <date>")
	out = maskID.ReplaceAllString(out, "<id>")
	return maskPort.ReplaceAllString(out, "<varies>")
}

// TestFastPathSameAsNetHTTP runs the same configuration with and without
// the fast path and wants the same answers, access log lines and metrics.
func TestFastPathSameAsNetHTTP(t *testing.T) {
	t.Parallel()
	cfg := "listen: {http: \"127.0.0.1:0\", https: \"127.0.0.1:0\", https_public_port: 443}\n" + appsConfig(t)
	fast := startEdge(t, cfg)
	slow := startEdge(t, cfg, withoutFastPath())
	if fast.srv.fast.http == nil || fast.srv.fast.https == nil || slow.srv.fast.http != nil {
		t.Fatal("fast path not on in one edge and off in the other")
	}
	for _, rq := range fastRequests {
		want := exchangeRaw(t, slow.addrs.HTTP, rq.raw, rq.methods)
		got := exchangeRaw(t, fast.addrs.HTTP, rq.raw, rq.methods)
		if want == "" {
			t.Errorf("%s: no response from net/http", rq.name)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: response mismatch (-net/http +fast path):\n%s", rq.name, diff)
		}
	}
	// Same access log, but for durations, ids and ports, and for order:
	// a proxied response reaches the client before its line is written,
	// so the line of the next request may come first. Both logs are read
	// once they have as many lines.
	waitFor(t, "both access logs", func() bool {
		return len(slow.access.lines(t)) == len(fast.access.lines(t))
	})
	norm := func(h *harness) []map[string]any {
		var out []map[string]any
		for _, l := range h.access.lines(t) {
			for _, k := range []string{"time", "duration_ms", "request_id"} {
				delete(l, k)
			}
			out = append(out, l)
		}
		slices.SortStableFunc(out, func(a, b map[string]any) int {
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			return strings.Compare(string(ja), string(jb))
		})
		return out
	}
	if diff := cmp.Diff(norm(slow), norm(fast)); diff != "" {
		t.Errorf("access log mismatch (-net/http +fast path):\n%s", diff)
	}
	for _, series := range []string{
		`forcehttps_edge_redirects_total{app="shop",source="plain-http"}`,
		`forcehttps_edge_redirects_total{app="shop",source="untrusted-peer"}`,
		`forcehttps_edge_requests_total{app="shop",code="301",scheme="http"}`,
		`forcehttps_edge_requests_total{app="_unknown",code="404",scheme="http"}`,
	} {
		if a, b := slow.metric(series), fast.metric(series); a != b {
			t.Errorf("%s: %v with net/http, %v with the fast path", series, a, b)
		}
	}
}

// TestFastPathSameAsNetHTTPOverTLS is TestFastPathSameAsNetHTTP on the
// HTTPS listener: static answers from the fast path, and requests on
// connections it handed over (proxied, misdirected, unknown) still seen
// as HTTPS: HSTS, X-Forwarded-Proto https.
func TestFastPathSameAsNetHTTPOverTLS(t *testing.T) {
	t.Parallel()
	cfg := "listen: {http: \"127.0.0.1:0\", https: \"127.0.0.1:0\", https_public_port: 443}\n" + appsConfig(t)
	fast := startEdge(t, cfg)
	slow := startEdge(t, cfg, withoutFastPath())
	requests := []struct {
		name, sni, raw string
		methods        []string
	}{
		{"static", "shop.example.com", raw("GET /ping HTTP/1.1", "Host: shop.example.com"), []string{"GET"}},
		{"static head", "shop.example.com", raw("HEAD /gone HTTP/1.1", "Host: shop.example.com"), []string{"HEAD"}},
		{"static, revoke", "blog.example.com", raw("GET /static HTTP/1.1", "Host: blog.example.com"), []string{"GET"}},
		{"proxied", "shop.example.com", raw("GET /a?b=c HTTP/1.1", "Host: shop.example.com"), []string{"GET"}},
		{"static then proxied then static", "shop.example.com", raw("GET /ping HTTP/1.1", "Host: shop.example.com") +
			raw("GET /x HTTP/1.1", "Host: shop.example.com") + raw("GET /ping HTTP/1.1", "Host: shop.example.com"), []string{"GET", "GET", "GET"}},
		{"proxied with body", "shop.example.com", "POST /f HTTP/1.1\r\nHost: shop.example.com\r\nContent-Length: 2\r\n\r\nhi", []string{"POST"}},
		{"misdirected", "web.example.com", raw("GET /ping HTTP/1.1", "Host: shop.example.com"), []string{"GET"}},
		{"unknown host", "shop.example.com", raw("GET / HTTP/1.1", "Host: other.example.com"), []string{"GET"}},
		{"forged proto from a stranger", "shop.example.com", raw("GET /x HTTP/1.1", "Host: shop.example.com", "X-Forwarded-Proto: http"), []string{"GET"}},
	}
	for _, rq := range requests {
		want := exchangeRaw(t, slow.addrs.HTTPS, rq.raw, rq.methods, rq.sni)
		got := exchangeRaw(t, fast.addrs.HTTPS, rq.raw, rq.methods, rq.sni)
		if want == "" {
			t.Errorf("%s: no response from net/http", rq.name)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: response mismatch (-net/http +fast path):\n%s", rq.name, diff)
		}
		if strings.Contains(got, `"backend"`) && !strings.Contains(got, `"X-Forwarded-Proto":["https"]`) {
			t.Errorf("%s: proxied without X-Forwarded-Proto https:\n%s", rq.name, got)
		}
	}
}

// TestAnswerHTTP checks which requests the fast path takes, and that it
// leaves the others untouched.
func TestAnswerHTTP(t *testing.T) {
	t.Parallel()
	h := startEdge(t, appsConfig(t))
	for _, rq := range fastRequests {
		if rq.h1 {
			continue
		}
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(rq.raw)))
		if err != nil {
			t.Fatalf("%s: %v", rq.name, err)
		}
		r.RemoteAddr = "192.0.2.1:1234"
		w := &recordingWriter{h: http.Header{}}
		got := h.srv.answerHTTP(w, r)
		if got != rq.fast {
			t.Errorf("%s: answerHTTP = %v, want %v", rq.name, got, rq.fast)
		}
		if !got && (w.touched || len(w.h) != 0) {
			t.Errorf("%s: declined after writing %v", rq.name, w.h)
		}
	}
	lines := h.access.lines(t)
	if len(lines) == 0 {
		t.Fatal("no access log line for the requests answered")
	}
	for _, l := range lines {
		if a := l["action"]; a != "redirect" && a != "refuse" && a != "respond" {
			b, _ := json.Marshal(l)
			t.Errorf("access log line for a request the fast path declined: %s", b)
		}
	}
}

// recordingWriter notes whether a handler used it.
type recordingWriter struct {
	h       http.Header
	touched bool
}

func (w *recordingWriter) Header() http.Header         { w.touched = true; return w.h }
func (w *recordingWriter) Write(p []byte) (int, error) { w.touched = true; return len(p), nil }
func (w *recordingWriter) WriteHeader(int)             { w.touched = true }

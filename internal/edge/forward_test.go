package edge

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

// withoutForward proxies every request through httputil.ReverseProxy.
func withoutForward() Option { return func(o *options) { o.noForward = true } }

// withHeadGrace sets how long a response head waits for its body's first
// bytes before it is sent alone (headGrace otherwise).
func withHeadGrace(d time.Duration) Option { return func(o *options) { o.headGrace = d } }

// forwardedIDs holds the request IDs of the requests forward took, of
// those whose ID starts with "forward-" (the other requests, those of
// the benchmarks among them, cost no allocation more).
var forwardedIDs sync.Map

func init() {
	forwarded = func(r *http.Request) {
		if id := r.Header["X-Request-Id"]; len(id) == 1 && strings.HasPrefix(id[0], "forward-") {
			forwardedIDs.Store(id[0], true)
		}
	}
}

// diffApp is an app on loopback that records the raw head of each
// request it reads and answers it with the raw bytes of answer, closing
// the connection after it when it ends with "<close>".
type diffApp struct {
	addr   string
	answer atomic.Pointer[string]
	heads  chan string
}

func newDiffApp(t *testing.T) *diffApp {
	t.Helper()
	a := &diffApp{heads: make(chan string, 16)}
	a.addr, _ = scriptedApp(t, func(head string) string {
		a.heads <- head
		return *a.answer.Load()
	})
	return a
}

// received returns the heads the app has read since the last call, one
// after the other.
func (a *diffApp) received() string {
	var all []string
	for {
		select {
		case h := <-a.heads:
			all = append(all, h)
		default:
			return strings.Join(all, "--- next request ---\r\n")
		}
	}
}

// App answers of the differential tests.
const (
	ansOK          = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
	ansHead        = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1234\r\n\r\n"
	ansChunked     = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"
	ansTrailer     = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 42\r\n\r\n"
	ansLateTrailer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Late: 1\r\n\r\n"
)

// diffCase is a request and the app's answer to it.
type diffCase struct {
	name      string
	method    string   // GET if empty
	target    string   // "/" if empty
	proto     string   // HTTP/1.1 if empty; over HTTP/1 only
	fields    []string // request header lines, after Host and X-Request-Id
	body      string   // the request body as sent over HTTP/1 (chunked if fields say so)
	answer    string   // the app's raw answer; ansOK if empty
	host      string   // "dead": the app that refuses connections
	absolute  bool     // the target in absolute form; over HTTP/1 only
	upperHost bool     // Host in upper case with a final dot; over HTTP/1 only
	declined  string   // the protocols over which forward leaves it to ReverseProxy, or "all"
	// The app's answer has an empty body of unknown length. Through
	// ReverseProxy, an HTTP/1.1 client then gets either "Content-Length:
	// 0" or an empty chunked body, whichever of the handler's end and
	// ReverseProxy's flush timer (started at once for a response
	// without a length) comes first; forward does not start the timer
	// and the client gets "Content-Length: 0", unless the edge's own
	// watchdog sends the head first. Both framings are compared as one.
	emptyUnknownLength bool
}

// The app's answers of unknown length with a body carry a Content-Type.
// Without one, through ReverseProxy, its flush timer (started at once
// for a response without a length) races the first write of the body:
// when the body's first bytes leave with the head, net/http sniffs a
// Content-Type; when the head leaves first, there is none. Forward
// starts no timer: the head waits a moment for the body (the edge's
// headGrace), as it does after ReverseProxy's timer lost the race.
var diffCases = []diffCase{
	// Requests.
	{name: "get"},
	{name: "head", method: "HEAD", answer: ansHead},
	{name: "options", method: "OPTIONS", target: "/opt"},
	{name: "delete", method: "DELETE", target: "/items/1"},
	{name: "connection keep-alive", fields: []string{"Connection: keep-alive"}},
	{name: "connection close", fields: []string{"Connection: close"}},
	{name: "connection names fields", fields: []string{"Connection: X-Foo, x-bar", "X-Foo: 1", "X-Bar: 2", "X-Baz: 3"}},
	{name: "te trailers", fields: []string{"Te: trailers"}, answer: ansTrailer},
	{name: "te trailers and gzip", fields: []string{"Te: gzip, trailers"}},
	{name: "te gzip", fields: []string{"Te: gzip"}},
	{name: "hop-by-hop fields", fields: []string{"Keep-Alive: timeout=5", "Proxy-Connection: keep-alive", "Proxy-Authorization: Basic eDp5"}},
	{name: "forwarding fields", fields: []string{
		"X-Forwarded-For: 203.0.113.9", "X-Forwarded-Host: evil.example", "X-Forwarded-Proto: https",
		"X-Forwarded-Port: 1", "Forwarded: for=203.0.113.9;proto=https", "X-Real-Ip: 203.0.113.9",
		"X-Request-Start: t=1", "X_Forwarded_Proto: https", "X-Request_Id: other"}},
	{name: "forwarding fields twice", fields: []string{
		"X-Forwarded-For: 203.0.113.9, 198.51.100.1", "X-Forwarded-For: 198.51.100.7", "X-Forwarded-Host: a.example",
		"X-Forwarded-Host: b.example", "Forwarded: for=203.0.113.9", "Forwarded: for=198.51.100.7", "X-Real-Ip: 203.0.113.9"}},
	{name: "user-agent empty", fields: []string{"User-Agent:"}},
	{name: "user-agent", fields: []string{"User-Agent: curl/8.5.0"}},
	{name: "query plain", target: "/s?q=a+b&x=1&y=%C3%A9"},
	{name: "query with %2F", target: "/s?path=%2Fa%2Fb"},
	{name: "query with ;", target: "/s?a=1;b=2", declined: "all"},
	{name: "query with a bad escape", target: "/s?a=%zz", declined: "all"},
	{name: "query with a short escape", target: "/s?a=%2", declined: "all"},
	{name: "query empty", target: "/s?"},
	{name: "encoded path", target: "/a%2Fb/%7e/%E2%82%AC/c%20d"},
	{name: "double slash path", target: "//x/../y"},
	{name: "duplicate fields", fields: []string{"X-Dup: a", "x-dup: b", "Accept: text/html", "Accept: */*", "Cookie: a=1", "Cookie: b=2"}},
	{name: "long field", fields: []string{"X-Long: " + strings.Repeat("v", 7000)}},
	{name: "many fields", fields: manyFields(60)},
	{name: "non-ascii field value", fields: []string{"X-Name: caf\xc3\xa9", "X-Latin1: caf\xe9"}},
	{name: "field name with underscore", fields: []string{"X_Custom: 1", "x-lower: 2"}},
	{name: "connection upgrade without upgrade", fields: []string{"Connection: upgrade"}},
	{name: "upgrade without connection", fields: []string{"Upgrade: websocket"}},
	{name: "trailer field in a request", fields: []string{"Trailer: X-T"}, declined: "h2"}, // an HTTP/2 request's Trailer is announced
	{name: "te trailers in another case", fields: []string{"TE: Trailers;q=0.5"}},
	{name: "get with content-length 0", fields: []string{"Content-Length: 0"}},
	{name: "post with content-length 0", method: "POST", target: "/form", fields: []string{"Content-Length: 0"}},
	{name: "put without length", method: "PUT", target: "/item"},
	{name: "patch with content-length 0", method: "PATCH", target: "/item", fields: []string{"Content-Length: 0"}},
	{name: "delete with content-length 0", method: "DELETE", target: "/item", fields: []string{"Content-Length: 0"}},
	{name: "extension method", method: "PURGE", target: "/cache"},
	{name: "post with a body", method: "POST", target: "/form", fields: []string{"Content-Type: text/plain", "Content-Length: 5"}, body: "hello", declined: "all"},
	{name: "post with a chunked body", method: "POST", target: "/form", fields: []string{"Transfer-Encoding: chunked"}, body: "5\r\nhello\r\n0\r\n\r\n", declined: "all"},
	{name: "post with an empty chunked body", method: "POST", target: "/form", fields: []string{"Transfer-Encoding: chunked"}, body: "0\r\n\r\n", declined: "all"},
	{name: "get with a body", fields: []string{"Content-Length: 3"}, body: "abc", declined: "all"},
	{name: "expect without a body", fields: []string{"Expect: 100-continue", "Content-Length: 0"}, declined: "h1 http"}, // Go's HTTP/2 client drops Expect without a body
	{name: "host in another case", upperHost: true},
	{name: "absolute form", target: "/abs?x=1", absolute: true},
	{name: "http/1.0", proto: "HTTP/1.0"},
	{name: "http/1.0 keep-alive", proto: "HTTP/1.0", fields: []string{"Connection: keep-alive"}},
	{name: "query with + = & and %2B", target: "/s?a=b+c&&d==e&f=%2B"},
	{name: "query non-ascii", target: "/s?q=caf\xc3\xa9"},
	{name: "query lone %", target: "/s?a=%", declined: "all"},
	{name: "query escape at the end", target: "/s?a=%41"},

	// Answers.
	{name: "chunked", answer: ansChunked},
	{name: "chunked empty", answer: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", emptyUnknownLength: true},
	{name: "close-delimited empty", answer: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n<close>", emptyUnknownLength: true},
	{name: "trailer announced", answer: ansTrailer},
	{name: "trailer not announced", answer: ansLateTrailer},
	{name: "close-delimited", answer: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close<close>"},
	{name: "no content", answer: "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"},
	{name: "not modified", answer: "HTTP/1.1 304 Not Modified\r\nEtag: \"x\"\r\nContent-Length: 5\r\n\r\n"},
	{name: "early hints", answer: "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" + ansOK},
	{name: "continue", answer: "HTTP/1.1 100 Continue\r\n\r\n" + ansOK},
	{name: "hop-by-hop answer", answer: "HTTP/1.1 200 OK\r\nConnection: X-Foo\r\nX-Foo: 1\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nContent-Length: 2\r\n\r\nok"},
	{name: "connection close answer", answer: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok<close>"},
	{name: "location own domain", answer: "HTTP/1.1 302 Found\r\nLocation: http://shop.example.com/next?a=1\r\nContent-Length: 0\r\n\r\n"},
	{name: "location other host", answer: "HTTP/1.1 302 Found\r\nLocation: http://other.example.org/x\r\nContent-Length: 0\r\n\r\n"},
	{name: "hsts", answer: "HTTP/1.1 200 OK\r\nStrict-Transport-Security: max-age=60\r\nContent-Length: 2\r\n\r\nok"},
	{name: "hsts twice", answer: "HTTP/1.1 200 OK\r\nStrict-Transport-Security: max-age=60\r\nStrict-Transport-Security: max-age=90\r\nContent-Length: 2\r\n\r\nok"},
	{name: "request id from the app", answer: "HTTP/1.1 200 OK\r\nX-Request-Id: from-the-app\r\nContent-Length: 2\r\n\r\nok"},
	{name: "event stream", answer: "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n0\r\n\r\n"},
	{name: "dies mid-body", answer: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nonly ten b<close>"},
	{name: "dies mid-chunk", answer: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n<close>"},
	{name: "bad status line", answer: "HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok<close>"},
	{name: "differing content-lengths", answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok<close>"},
	{name: "obs-fold", answer: "HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 2\r\n\r\nok<close>"},
	{name: "no answer", answer: "<close>"},
	{name: "content-length and chunked", answer: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n<close>"},
	{name: "unasked switching protocols", answer: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n<close>"},
	{name: "http/1.0 answer", answer: "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold style<close>"},
	{name: "status without reason", answer: "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"},
	{name: "status 500", answer: "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops"},
	{name: "set-cookies", answer: "HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Secure\r\nSet-Cookie: b=2; HttpOnly\r\nContent-Length: 2\r\n\r\nok"},
	{name: "two locations", answer: "HTTP/1.1 302 Found\r\nLocation: http://shop.example.com/a\r\nLocation: http://shop.example.com/b\r\nContent-Length: 0\r\n\r\n"},
	{name: "location in upper case", answer: "HTTP/1.1 301 Moved Permanently\r\nLocation: HTTP://SHOP.EXAMPLE.COM/x\r\nContent-Length: 0\r\n\r\n"},
	{name: "keep-alive answer", answer: "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=1, max=5\r\nContent-Length: 2\r\n\r\nok"},
	{name: "transfer-encoding gzip, chunked", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n<close>"},
	{name: "head answered chunked", method: "HEAD", answer: "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"},
	{name: "head answered without length", method: "HEAD", answer: "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"},
	{name: "content-length 0", answer: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
	{name: "large body", answer: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("0123456789", 10000)},
	{name: "large chunked body", answer: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n186a0\r\n" + strings.Repeat("0123456789", 10000) + "\r\n0\r\n\r\n"},
	{name: "trailer with a forbidden field", answer: "HTTP/1.1 200 OK\r\nTrailer: Content-Length\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nContent-Length: 9\r\n\r\n"},
	{name: "many early hints", answer: strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", 3) + ansOK},
	{name: "connection refused", host: "dead"},

	// Answers that come in parts: the head is sent before the body.
	{name: "body after a pause", answer: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n<pause>hel<pause>lo"},
	{name: "chunks after a pause", answer: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n<pause>3\r\nabc\r\n<pause>3\r\ndef\r\n0\r\n\r\n"},
	{name: "trailer after a pause", answer: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n<pause>0\r\nX-Sum: 42\r\n\r\n"},
	{name: "empty chunked body after a pause", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n<pause>0\r\n\r\n", emptyUnknownLength: true},
	{name: "events after a pause", answer: "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n<pause>data: 1\n\n<pause>data: 2\n\n<close>"},
	{name: "early hints, a pause, then the answer", answer: "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n<pause>" + ansOK},
	{name: "dies mid-body after a pause", answer: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly<pause> ten b<close>"},
}

// manyFields returns n request header lines.
func manyFields(n int) []string {
	f := make([]string, n)
	for i := range f {
		f[i] = fmt.Sprintf("X-Field-%d: value %d", i, i)
	}
	return f
}

// startDiffEdges starts an edge with forward and one without, in front
// of the same app.
func startDiffEdges(t *testing.T, app, extra string) (fwd, rp *harness) {
	t.Helper()
	dead := testutil.ClosedAddr(t)
	// The same public port in both, for X-Forwarded-Port and redirects.
	cfg := fmt.Sprintf(`listen: {http: "127.0.0.1:0", https: "127.0.0.1:0", https_public_port: 8443}
%[3]sapps:
  - name: shop
    domains: [shop.example.com]
    upstream: "http://%[1]s"
    force_https: true
    respond: [{path: /probe, body: "probe"}]
  - name: plain
    domains: [plain.example.com]
    upstream: "http://%[1]s"
    force_https: false
    respond: [{path: /probe, body: "probe"}]
  - name: dead
    domains: [dead.shop.example.com, dead.example.com]
    upstream: "http://%[2]s"
    force_https: false
    respond: [{path: /probe, body: "probe"}]
`, app, dead, extra)
	// A fixed clock: X-Request-Start is the same through both.
	clock := WithClock(func() time.Time { return time.Unix(1700000000, 0) })
	// A head waits for its body longer than a loaded machine can stall
	// between the two: otherwise, once in a while, the head of a body
	// without Content-Type leaves alone through one edge and gets no
	// sniffed type, and with the body through the other, which does.
	grace := withHeadGrace(5 * time.Second)
	return startEdge(t, cfg, clock, grace), startEdge(t, cfg, clock, grace, withoutForward())
}

// hostOf returns the Host a case is sent to, over TLS or not.
func (c diffCase) hostOf(secure bool) string {
	switch {
	case c.host == "dead" && secure:
		return "dead.shop.example.com"
	case c.host == "dead":
		return "dead.example.com"
	case secure:
		return "shop.example.com"
	}
	return "plain.example.com"
}

func (c diffCase) methodOf() string {
	if c.method == "" {
		return "GET"
	}
	return c.method
}

func (c diffCase) targetOf() string {
	if c.target == "" {
		return "/"
	}
	return c.target
}

// raw returns the case's request as HTTP/1.1 bytes.
func (c diffCase) raw(host, id string, secure bool) string {
	target := c.targetOf()
	switch {
	case c.absolute && secure:
		target = "https://" + host + target
	case c.absolute:
		target = "http://" + host + target
	}
	proto := c.proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	hostField := host
	if c.upperHost {
		hostField = strings.ToUpper(host) + "."
	}
	lines := append([]string{c.methodOf() + " " + target + " " + proto, "Host: " + hostField, "X-Request-Id: " + id}, c.fields...)
	return raw(lines...) + c.body
}

// exchangeH1 sends req on conn and returns the raw bytes of the answer
// (1xx included), how its body ended, and whether the connection then
// still served a request. Only Date is masked.
func exchangeH1(t *testing.T, conn net.Conn, req, method, host string) string {
	t.Helper()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	var got bytes.Buffer
	br := bufio.NewReader(io.TeeReader(conn, &got))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	var outcome string
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			outcome = "no response: " + err.Error()
			break
		}
		if resp.StatusCode/100 == 1 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		outcome = "body complete"
		if err != nil {
			outcome = "body cut: " + err.Error()
		}
		break
	}
	raw := maskDate.ReplaceAllString(got.String(), "Date: <date>")
	// Is the connection still open? A request the edge answers itself
	// tells.
	then := "then closed"
	if _, err := io.WriteString(conn, "GET /probe HTTP/1.1\r\nHost: "+host+"\r\n\r\n"); err == nil {
		if resp, err := http.ReadResponse(br, nil); err == nil {
			resp.Body.Close()
			then = "then kept open"
		}
	}
	return raw + "\n=== " + outcome + ", " + then
}

// exchangeH2 sends the case over HTTP/2 with Go's client and returns
// what it decoded: interim responses, status, fields (Date masked),
// body, trailers, and how the body ended.
func exchangeH2(t *testing.T, c *http.Client, dc diffCase, id string) string {
	t.Helper()
	target := dc.targetOf()
	path, query, hasQuery := strings.Cut(target, "?")
	u, err := url.Parse("https://" + dc.hostOf(true) + path)
	if err != nil {
		t.Fatal(err)
	}
	u.RawQuery, u.ForceQuery = query, hasQuery && query == ""
	req := &http.Request{Method: dc.methodOf(), URL: u, Host: u.Host, Header: http.Header{"X-Request-Id": {id}, "User-Agent": nil}}
	for _, f := range dc.fields {
		k, v, _ := strings.Cut(f, ":")
		k, v = textproto.CanonicalMIMEHeaderKey(k), strings.TrimSpace(v)
		switch k {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade":
			continue // HTTP/2 has none of these (Go's client refuses them)
		case "Content-Length":
			continue // the client's own
		case "Te":
			if v != "trailers" {
				continue
			}
		}
		req.Header[k] = append(req.Header[k], v)
	}
	if dc.body != "" {
		// The body as HTTP/2 sends it: without its chunked framing, and
		// then without a length.
		body, length := dc.body, int64(len(dc.body))
		if slices.Contains(dc.fields, "Transfer-Encoding: chunked") {
			b, err := io.ReadAll(httputil.NewChunkedReader(strings.NewReader(dc.body)))
			if err != nil {
				t.Fatal(err)
			}
			body, length = string(b), -1
		}
		req.Body, req.ContentLength = io.NopCloser(strings.NewReader(body)), length
	}
	var out strings.Builder
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		fmt.Fprintf(&out, "interim %d %v\n", code, h)
		return nil
	}}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := c.Do(req)
	if err != nil {
		return out.String() + "no response: " + err.Error()
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Fprintf(&out, "%s %s\n", resp.Proto, resp.Status)
	resp.Header.Del("Date")
	writeSorted(&out, resp.Header)
	fmt.Fprintf(&out, "\n%q\n", body)
	if err != nil {
		// The stream's number is the client's count, not the edge's.
		fmt.Fprintf(&out, "body cut: %v\n", streamID.ReplaceAllString(err.Error(), "stream ID <n>"))
	}
	out.WriteString("trailers:\n")
	writeSorted(&out, resp.Trailer)
	return out.String()
}

var streamID = regexp.MustCompile(`stream ID \d+`)

func writeSorted(w io.Writer, h http.Header) {
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(w, "%s: %q\n", k, h[k])
	}
}

// TestForwardSameAsReverseProxy sends the same requests, answered the
// same way by the app, through an edge that forwards the plainest
// requests itself and one that leaves every request to
// httputil.ReverseProxy, over HTTPS with HTTP/1.1 (the h1 fast path),
// plain HTTP (net/http) and HTTP/2, and wants the same bytes at the app
// and at the client.
func TestForwardSameAsReverseProxy(t *testing.T) {
	t.Parallel()
	t.Run("untrusted peer", func(t *testing.T) {
		t.Parallel()
		diffForward(t, "")
	})
	t.Run("trusted peer", func(t *testing.T) {
		// The forwarding fields the client sends are kept.
		t.Parallel()
		diffForward(t, "trusted_proxies: [127.0.0.1]\n")
	})
}

// diffForward runs the differential corpus through an edge with forward
// and one without, both with the given configuration lines.
func diffForward(t *testing.T, cfg string) {
	app := newDiffApp(t)
	fwd, rp := startDiffEdges(t, app.addr, cfg)
	prefix := "forward-diff-case-"
	if cfg != "" {
		prefix = "forward-diff-trusted-"
	}
	_, fwdHTTPPort, _ := net.SplitHostPort(fwd.addrs.HTTP)
	_, rpHTTPPort, _ := net.SplitHostPort(rp.addrs.HTTP)
	h2 := map[*harness]*http.Client{fwd: fwd.client(true), rp: rp.client(true)}
	var ids []string

	for i, dc := range diffCases {
		answer := dc.answer
		if answer == "" {
			answer = ansOK
		}
		app.answer.Store(&answer)
		for _, proto := range []string{"h1", "http", "h2"} {
			if proto == "h2" && (dc.absolute || dc.upperHost || dc.proto != "") {
				continue // a form HTTP/2 does not have
			}
			id := fmt.Sprintf("%s%03d-%s", prefix, i, proto)
			var atApp, atClient [2]string
			for j, h := range []*harness{fwd, rp} {
				switch proto {
				case "h1":
					conn, err := tls.Dial("tcp", h.addrs.HTTPS, &tls.Config{RootCAs: testRoot, ServerName: dc.hostOf(true), NextProtos: []string{"http/1.1"}})
					if err != nil {
						t.Fatal(err)
					}
					atClient[j] = exchangeH1(t, conn, dc.raw(dc.hostOf(true), id, true), dc.methodOf(), dc.hostOf(true))
					conn.Close()
				case "http":
					conn, err := net.Dial("tcp", h.addrs.HTTP)
					if err != nil {
						t.Fatal(err)
					}
					atClient[j] = exchangeH1(t, conn, dc.raw(dc.hostOf(false), id, false), dc.methodOf(), dc.hostOf(false))
					conn.Close()
				case "h2":
					atClient[j] = exchangeH2(t, h2[h], dc, id)
				}
				atApp[j] = app.received()
			}
			if proto == "http" {
				// X-Forwarded-Port is the port of each edge's own plain
				// HTTP listener: the one field that must differ.
				atApp[0] = strings.Replace(atApp[0], "X-Forwarded-Port: "+fwdHTTPPort+"\r\n", "X-Forwarded-Port: <port>\r\n", 1)
				atApp[1] = strings.Replace(atApp[1], "X-Forwarded-Port: "+rpHTTPPort+"\r\n", "X-Forwarded-Port: <port>\r\n", 1)
			}
			if dc.emptyUnknownLength {
				for j := range atClient {
					atClient[j] = strings.Replace(atClient[j], "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "Content-Length: 0\r\n\r\n", 1)
					// Over HTTP/2: a head sent before the end has no
					// content-length.
					atClient[j] = strings.Replace(atClient[j], "Content-Length: [\"0\"]\n", "", 1)
				}
			}
			if atApp[0] != atApp[1] {
				t.Errorf("%s over %s: the app received\n%s\nthrough forward, and\n%s\nthrough ReverseProxy", dc.name, proto, atApp[0], atApp[1])
			}
			if atClient[0] != atClient[1] {
				t.Errorf("%s over %s: the client received\n%s\nthrough forward, and\n%s\nthrough ReverseProxy", dc.name, proto, atClient[0], atClient[1])
			}
			if testing.Verbose() {
				t.Logf("%s over %s: app received\n%s\nclient received\n%s", dc.name, proto, atApp[0], atClient[0])
			}
			_, took := forwardedIDs.Load(id)
			if declined := dc.declined == "all" || slices.Contains(strings.Fields(dc.declined), proto); took == declined {
				t.Errorf("%s over %s: forward took it: %v, want %v", dc.name, proto, took, !declined)
			}
			ids = append(ids, id)
		}
	}

	// The access log lines of the same requests are the same, but for
	// their time.
	var logged [2]map[string]string
	for j, h := range []*harness{fwd, rp} {
		logged[j] = map[string]string{}
		waitFor(t, "the access log lines", func() bool {
			for _, l := range h.access.lines(t) {
				if id, _ := l["request_id"].(string); strings.HasPrefix(id, prefix) {
					delete(l, "time")
					logged[j][id] = fmt.Sprint(l)
				}
			}
			return len(logged[j]) >= len(ids)
		})
	}
	for _, id := range ids {
		if logged[0][id] != logged[1][id] {
			t.Errorf("access log of %s:\n%s through forward, and\n%s through ReverseProxy", id, logged[0][id], logged[1][id])
		}
	}
}

// TestForwardInterimBeforeFinal checks that an app's 103 Early Hints
// reaches the client through forward while the app still holds its
// final response back, which it sends only once the client has the 103.
func TestForwardInterimBeforeFinal(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	hinted := make(chan struct{}, 1) // the client has the 103
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				br := bufio.NewReader(c)
				for {
					if _, err := readHead(br); err != nil {
						return
					}
					io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
					select {
					case <-hinted:
					case <-time.After(10 * time.Second):
						return // the client never saw the 103: it fails
					}
					io.WriteString(c, ansOK)
				}
			}()
		}
	}()
	h := startEdge(t, streamApp("http://"+ln.Addr().String(), "client_idle: 20s, upstream_read_idle: 20s"))

	t.Run("h1", func(t *testing.T) {
		const id = "forward-interim-test-h1"
		c := dialH1(t, h)
		io.WriteString(c, "GET /hinted HTTP/1.1\r\nHost: shop.example.com\r\nX-Request-Id: "+id+"\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusEarlyHints || resp.Header.Get("Link") != "</a.css>; rel=preload" {
			t.Fatalf("first response: %d %v, want the 103 with its Link", resp.StatusCode, resp.Header)
		}
		hinted <- struct{}{}
		resp, err = http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 || string(b) != "hello" || resp.Header.Get("Link") != "" {
			t.Errorf("final response: %d %q %v, %v; want 200 hello without the 103's Link", resp.StatusCode, b, resp.Header, err)
		}
		if _, ok := forwardedIDs.Load(id); !ok {
			t.Error("the request did not go through forward")
		}
	})
	t.Run("h2", func(t *testing.T) {
		const id = "forward-interim-test-h2"
		var links []string
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, hdr textproto.MIMEHeader) error {
			if code == http.StatusEarlyHints {
				links = append(links, hdr.Get("Link"))
				hinted <- struct{}{}
			}
			return nil
		}}
		req, _ := http.NewRequest("GET", httpsURL("shop.example.com", "/hinted"), nil)
		req.Header.Set("X-Request-Id", id)
		resp, err := h.client(true).Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || string(b) != "hello" || !slices.Equal(links, []string{"</a.css>; rel=preload"}) {
			t.Errorf("got %d %q, %v, after 103s with Link %q; want 200 hello after one 103", resp.StatusCode, b, err, links)
		}
		if _, ok := forwardedIDs.Load(id); !ok {
			t.Error("the request did not go through forward")
		}
	})
}

// roundTripFunc is a RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzPlainQuery checks plainQuery against httputil.ReverseProxy itself:
// a query is plain exactly when ReverseProxy sends it unchanged.
func FuzzPlainQuery(f *testing.F) {
	for _, q := range []string{"", "a=1", "a=1&b=2", "a=1;b=2", ";", "a=%zz", "a=%2", "%", "a=%41", "%%41", "a=%4g",
		"x=%2F&y=+", "q=caf\xc3\xa9", "a==b&&c", "%41%42", "a=%41;"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		sent := "<not sent>"
		rp := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) { pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "app.test" },
			Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				sent = r.URL.RawQuery
				return &http.Response{StatusCode: http.StatusNoContent, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
			}),
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.RawQuery = q
		rp.ServeHTTP(httptest.NewRecorder(), r)
		if sent == "<not sent>" {
			t.Fatalf("ReverseProxy did not send the request with query %q", q)
		}
		if plain, same := plainQuery(q), sent == q; plain != same {
			t.Errorf("plainQuery(%q) = %v, but ReverseProxy sends %q", q, plain, sent)
		}
	})
}

// TestForwardClientGoneSameAsReverseProxy closes the client's connection
// while the app is still answering, before its head and in the middle of
// its body, through forward and through ReverseProxy: the access log
// says the same (but for the time).
func TestForwardClientGoneSameAsReverseProxy(t *testing.T) {
	t.Parallel()
	app := newDiffApp(t)
	fwd, rp := startDiffEdges(t, app.addr, "")
	// The app waits 240ms: longer than the h1 server waits before it
	// watches an idle client's connection (watchAfter).
	wait := strings.Repeat("<pause>", 8)
	for i, tt := range []struct {
		name, answer string
		body         bool // the client waits for the head and the first body bytes
	}{
		{"before the head", wait + ansOK, false},
		{"mid-body", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nhello" + wait + "world", true},
	} {
		app.answer.Store(&tt.answer)
		id := fmt.Sprintf("forward-gone-case-%03d-h1", i)
		var logged [2]string
		for j, h := range []*harness{fwd, rp} {
			c := dialH1(t, h)
			io.WriteString(c, "GET /gone HTTP/1.1\r\nHost: shop.example.com\r\nX-Request-Id: "+id+"\r\n\r\n")
			select {
			case <-app.heads:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: the request did not reach the app", tt.name)
			}
			if tt.body {
				br := bufio.NewReader(c)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				if _, err := io.ReadFull(resp.Body, make([]byte, 5)); err != nil {
					t.Fatalf("%s: reading the first body bytes: %v", tt.name, err)
				}
			}
			c.Close()
			waitFor(t, "the access log line", func() bool {
				for _, l := range h.access.lines(t) {
					if l["request_id"] == id {
						delete(l, "time")
						logged[j] = fmt.Sprint(l)
						return true
					}
				}
				return false
			})
		}
		if logged[0] != logged[1] {
			t.Errorf("%s: access log\n%s through forward, and\n%s through ReverseProxy", tt.name, logged[0], logged[1])
		}
		if !strings.Contains(logged[0], "cut:"+cutClientGone) {
			t.Errorf("%s: access log %s, want cut %s", tt.name, logged[0], cutClientGone)
		}
		if _, ok := forwardedIDs.Load(id); !ok {
			t.Errorf("%s: the request did not go through forward", tt.name)
		}
	}
}

// TestForwardConcurrentRequestsKeepTheirOwn sends many requests at once
// through forward, each with fields of its own, over HTTP/1.1 and
// HTTP/2, and checks that the app saw each request with exactly its own
// fields and the client got the answer to its own request: forward's
// pooled requests and headers must never mix two requests.
func TestForwardConcurrentRequestsKeepTheirOwn(t *testing.T) {
	t.Parallel()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The answer names what the app received.
		fmt.Fprintf(w, "%s %s tag=%s n=%d extra=%q", r.Method, r.URL.RequestURI(),
			r.Header.Get("X-Tag"), len(r.Header), r.Header.Values("X-Extra"))
	}))
	t.Cleanup(app.Close)
	h := startEdge(t, streamApp(app.URL, "client_idle: 20s, upstream_read_idle: 20s"))
	both(t, func(t *testing.T, h2 bool) {
		c := h.client(h2)
		const workers, each = 8, 40
		var wg sync.WaitGroup
		errs := make(chan string, workers*each)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					tag := fmt.Sprintf("w%d-%d", w, i)
					req, err := http.NewRequest(http.MethodGet, "https://shop.example.com/p/"+tag+"?q="+tag, nil)
					if err != nil {
						errs <- err.Error()
						return
					}
					req.Header.Set("X-Request-Id", "forward-concurrent-"+tag)
					req.Header.Set("X-Tag", tag)
					// A varying number of fields, so that pooled headers
					// of other sizes are reused.
					for j := range i % 5 {
						req.Header.Add("X-Extra", fmt.Sprintf("%s-%d", tag, j))
					}
					resp, err := c.Do(req)
					if err != nil {
						errs <- err.Error()
						return
					}
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					var extra []string
					for j := range i % 5 {
						extra = append(extra, fmt.Sprintf("%s-%d", tag, j))
					}
					want := fmt.Sprintf("GET /p/%s?q=%s tag=%s ", tag, tag, tag)
					wantExtra := fmt.Sprintf("extra=%q", extra)
					if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(string(b), want) || !strings.HasSuffix(string(b), wantExtra) {
						errs <- fmt.Sprintf("%s: %d %q, %v; want %q...%s", tag, resp.StatusCode, b, err, want, wantExtra)
					}
					if _, ok := forwardedIDs.Load("forward-concurrent-" + tag); !ok {
						errs <- tag + ": not sent through forward"
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		n := 0
		for e := range errs {
			if n++; n <= 5 {
				t.Error(e)
			}
		}
		if n > 5 {
			t.Errorf("and %d errors more", n-5)
		}
	})
}

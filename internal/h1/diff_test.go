package h1

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// requests are raw requests, each sent on its own connection. Those
// outside the fast path's rules are here too: net/http must then answer
// them exactly as if it were alone.
var requests = []struct {
	name    string
	raw     string
	methods []string // of the responses to read
	fast    int      // how many the fast path answers
}{
	{"get", req("GET /a/b?x=1&y=%20 HTTP/1.1", "Host: example.com"), get, 1},
	{"head", req("HEAD / HTTP/1.1", "Host: example.com"), []string{"HEAD"}, 1},
	{"post no body", req("POST /form HTTP/1.1", "Host: example.com", "Content-Length: 0"), []string{"POST"}, 1},
	{"options", req("OPTIONS /x HTTP/1.1", "Host: example.com"), []string{"OPTIONS"}, 1},
	{"http/1.0", req("GET / HTTP/1.0"), get, 1},
	{"http/1.0 host", req("GET / HTTP/1.0", "Host: example.com"), get, 1},
	{"http/1.0 keep-alive", req("GET / HTTP/1.0", "Host: example.com", "Connection: keep-alive") + req("GET /2 HTTP/1.0", "Host: example.com"), get2, 2},
	{"close", req("GET / HTTP/1.1", "Host: example.com", "Connection: close"), get, 1},
	{"close keep-alive list", req("GET / HTTP/1.1", "Host: example.com", "Connection: keep-alive, Close"), get, 1},
	{"pragma", req("GET / HTTP/1.1", "Host: example.com", "Pragma: no-cache"), get, 1},
	{"pragma twice", req("GET / HTTP/1.1", "Host: example.com", "Pragma: x", "Pragma: no-cache"), get, 1},
	{"pragma and cache-control", req("GET / HTTP/1.1", "Host: example.com", "Pragma: no-cache", "Cache-Control: max-age=5"), get, 1},
	{"repeated fields", req("GET / HTTP/1.1", "Host: example.com", "Accept: a", "accept: b", "X-Y: 1", "x-y: 2"), get, 1},
	{"repeated fields, many", req("GET / HTTP/1.1", "Host: example.com", "A: 1", "B: 1", "C: 1", "D: 1", "E: 1", "F: 1",
		"G: 1", "H: 1", "I: 1", "J: 1", "K: 1", "L: 1", "M: 1", "N: 1", "O: 1", "A: 2", "P: 1", "b: 2", "Q: 1", "A: 3"), get, 1},
	{"odd names", req("GET / HTTP/1.1", "host: Example.COM:8080", "x_under: 1", "X-lower-CASE: 2", "content-TYPE: x", "!#$%&'*+-.^_`|~: 3"), get, 1},
	{"whitespace", req("GET / HTTP/1.1", "Host:example.com", "X-A:\t v \t", "X-B:", "X-C: a  b"), get, 1},
	{"obs-text", req("GET / HTTP/1.1", "Host: example.com", "X-A: caf\xc3\xa9 \xff"), get, 1},
	{"escapes", req("GET /%7Euser/a%2Fb/%E2%82%AC?q=%ZZ&r=a+b HTTP/1.1", "Host: example.com"), get, 1},
	{"double slash", req("GET //evil.example/x HTTP/1.1", "Host: example.com"), get, 1},
	{"fragment", req("GET /a#frag HTTP/1.1", "Host: example.com"), get, 1},
	{"ipv6 host", req("GET / HTTP/1.1", "Host: [::1]:80"), get, 1},
	{"pipelined", req("GET /1 HTTP/1.1", "Host: example.com") + req("HEAD /2 HTTP/1.1", "Host: example.com") + req("GET /3 HTTP/1.1", "Host: example.com"), []string{"GET", "HEAD", "GET"}, 3},
	{"request id", req("GET / HTTP/1.1", "Host: example.com", "X-Request-Id: abc"), get, 1},
	// Around the buffer a TLS connection waits for a request with.
	{"head of the idle buffer's size", sized(smallSize), get, 1},
	{"head one byte longer", sized(smallSize + 1), get, 1},
	{"head three times longer", sized(3 * smallSize), get, 1},
	{"pipelined past the idle buffer", sized(smallSize-100) + sized(300) + sized(smallSize+7), []string{"GET", "GET", "GET"}, 3},

	// Declined: net/http reads these.
	{"no host", req("GET / HTTP/1.1"), get, 0},
	{"two hosts", req("GET / HTTP/1.1", "Host: a.example", "Host: b.example"), get, 0},
	{"empty host", req("GET / HTTP/1.1", "Host:"), get, 1}, // net/http takes it too
	{"bad host", req("GET / HTTP/1.1", "Host: a b"), get, 0},
	{"host with userinfo", req("GET / HTTP/1.1", "Host: user@example.com"), get, 0},
	{"absolute form", req("GET http://other.example/x HTTP/1.1", "Host: example.com"), get, 0},
	{"asterisk", req("OPTIONS * HTTP/1.1", "Host: example.com"), []string{"OPTIONS"}, 0},
	{"connect", req("CONNECT example.com:443 HTTP/1.1", "Host: example.com:443"), []string{"CONNECT"}, 0},
	{"extension method", req("PURGE / HTTP/1.1", "Host: example.com"), []string{"PURGE"}, 0},
	{"lower-case method", req("get / HTTP/1.1", "Host: example.com"), get, 0},
	{"http/2 line", req("GET / HTTP/2.0", "Host: example.com"), get, 0},
	{"http/1.2", req("GET / HTTP/1.2", "Host: example.com"), get, 0},
	{"body", "POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello", []string{"POST"}, 0},
	{"chunked", "POST / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", []string{"POST"}, 0},
	{"two lengths", req("POST / HTTP/1.1", "Host: example.com", "Content-Length: 0", "Content-Length: 0"), []string{"POST"}, 0},
	{"expect", req("POST / HTTP/1.1", "Host: example.com", "Content-Length: 0", "Expect: 100-continue"), []string{"POST"}, 0},
	{"upgrade", req("GET / HTTP/1.1", "Host: example.com", "Connection: Upgrade", "Upgrade: websocket"), get, 0},
	{"connection option", req("GET / HTTP/1.1", "Host: example.com", "Connection: X-Foo"), get, 0},
	{"obs-fold", req("GET / HTTP/1.1", "Host: example.com", "X-A: a", " b"), get, 0},
	{"space before colon", req("GET / HTTP/1.1", "Host: example.com", "X-A : a"), get, 0},
	{"bare lf", "GET / HTTP/1.1\nHost: example.com\n\n", get, 0},
	{"bare cr", "GET / HTTP/1.1\r\nHost: example.com\rX: y\r\n\r\n", get, 0},
	{"nul in value", req("GET / HTTP/1.1", "Host: example.com", "X-A: a\x00b"), get, 0},
	{"control in target", "GET /a\x01b HTTP/1.1\r\nHost: example.com\r\n\r\n", get, 0},
	{"non-ascii target", req("GET /caf\xc3\xa9 HTTP/1.1", "Host: example.com"), get, 0},
	{"leading empty line", "\r\n" + req("GET / HTTP/1.1", "Host: example.com"), get, 0},
	{"big head", req("GET / HTTP/1.1", "Host: example.com", "Cookie: "+strings.Repeat("c", 5000)), get, 0},
	{"fast then slow then fast", req("GET /1 HTTP/1.1", "Host: example.com") + "POST /2 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabc" + req("GET /3 HTTP/1.1", "Host: example.com"), []string{"GET", "POST", "GET"}, 1},
	{"garbage", "\x16\x03\x01\x00\x05hello\r\n\r\n", get, 0},
}

// sized is a GET request whose head is n bytes long (n ≥ 60).
func sized(n int) string {
	r := req("GET /sized HTTP/1.1", "Host: example.com", "X-Pad: ")
	return req("GET /sized HTTP/1.1", "Host: example.com", "X-Pad: "+strings.Repeat("p", n-len(r)))
}

var (
	get  = []string{"GET"}
	get2 = []string{"GET", "GET"}
)

// handlers answer in the ways the edge and its peers do.
var handlers = []struct {
	name string
	h    http.Handler
}{
	{"echo", echo},
	{"redirect", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Location"] = []string{"https://example.com" + r.URL.RequestURI()}
		h["Content-Length"] = []string{"0"}
		h["X-Request-Id"] = []string{"id"}
		w.WriteHeader(http.StatusMovedPermanently)
	})},
	{"sniffed", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html><body>hi</body></html>")
	})},
	{"empty", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})},
	{"typed empty", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusForbidden)
	})},
	{"no content", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
		io.WriteString(w, "ignored")
	})},
	{"not modified", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"x"`)
		w.WriteHeader(http.StatusNotModified)
	})},
	{"handler closes", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye\n")
	})},
	{"handler keep-alive", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "keep-alive")
		io.WriteString(w, "hi\n")
	})},
	{"newline in value", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["X-Evil"] = []string{"a\r\nSet-Cookie: x=1", " padded\t"}
		w.Header()["Bad Name"] = []string{"dropped"}
		io.WriteString(w, "ok\n")
	})},
	{"own date and length", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", "Thu, 01 Jan 1970 00:00:00 GMT")
		w.Header().Set("Content-Length", "3")
		io.WriteString(w, "ok\n")
	})},
	{"unknown status", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(299)
		io.WriteString(w, "ok\n")
	})},
	{"two statuses", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "tea\n")
	})},
	{"many writes", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		for i := range 20 { // 2000 bytes: net/http chunks bodies over 2048
			w.Write([]byte(strings.Repeat(string(rune('a'+i%26)), 99) + "\n"))
		}
	})},
	{"header after write", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "x")
		w.Header().Set("X-Late", "ignored")
	})},
}

// TestSameAsNetHTTP sends every request to every handler, once behind the
// fast path and once behind net/http alone, and wants the same bytes
// back, the Date aside.
func TestSameAsNetHTTP(t *testing.T) {
	t.Parallel()
	for _, h := range handlers {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			sameAsNetHTTP(t, h.h, func(fast int) int {
				if h.name == "handler closes" {
					return min(fast, 1)
				}
				return fast
			})
		})
	}
}

// sameAsNetHTTP sends every request of the corpus to h behind the fast
// path and behind net/http alone, and wants the same bytes back. want
// says how many requests the fast path must answer, given how many it
// reads (-1: any number but none when it reads some).
func sameAsNetHTTP(t *testing.T, h http.Handler, want func(fast int) int) {
	t.Helper()
	var answered atomic.Int64
	s := serve(t, h, func(*http.Request) bool { answered.Add(1); return true })
	for _, rq := range requests {
		slow := exchange(t, s.slow, rq.raw, rq.methods...)
		before := answered.Load()
		got := exchange(t, s.fast, rq.raw, rq.methods...)
		if diff := cmp.Diff(slow, got); diff != "" {
			t.Errorf("%s: response mismatch (-net/http +fast path):\n%s", rq.name, diff)
		}
		n := answered.Load() - before
		switch w := want(rq.fast); {
		case w >= 0 && n != int64(w):
			t.Errorf("%s: fast path answered %d requests, want %d", rq.name, n, w)
		case w < 0 && rq.fast > 0 && n == 0:
			t.Errorf("%s: the fast path answered nothing", rq.name)
		}
	}
}

package h1

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Pieces a fuzzed handler is made of.
var (
	fuzzFields = [][2]string{
		{"Content-Length", "3"}, {"Content-Length", "0"}, {"Content-Length", "x"}, {"Content-Length", "5000"},
		{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "identity"}, {"Transfer-Encoding", "gzip"},
		{"Connection", "close"}, {"Connection", "keep-alive"}, {"Connection", "x, close"},
		{"Content-Type", "text/plain"}, {"Content-Encoding", "gzip"}, {"Date", "x"},
		{"Trailer", "X-T"}, {"Trailer", "Content-Length, X-U"}, {"X-T", "1"}, {http.TrailerPrefix + "X-P", "2"},
		{"Upgrade", "x"}, {"Link", "</a>"}, {"X-A", " a\r\n"},
	}
	fuzzCodes = []int{200, 204, 304, 103, 100, 101, 299, 404}
	fuzzSizes = []int{0, 1, 5, 2047, 2048, 2049, 4096, 6000}
	fuzzHeads = []string{
		req("GET / HTTP/1.1", "Host: example.com"),
		req("HEAD / HTTP/1.1", "Host: example.com"),
		req("GET / HTTP/1.0"),
		req("GET / HTTP/1.0", "Connection: keep-alive"),
		req("GET / HTTP/1.1", "Host: example.com", "Connection: close"),
	}
)

// fuzzHandler makes a handler from ops: each byte pair is an operation
// (set a field, delete one, WriteHeader, Write, Flush) and its argument.
func fuzzHandler(ops []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(ops); i += 2 {
			arg := int(ops[i+1])
			switch ops[i] % 5 {
			case 0:
				f := fuzzFields[arg%len(fuzzFields)]
				w.Header().Add(f[0], f[1])
			case 1:
				w.Header().Del(fuzzFields[arg%len(fuzzFields)][0])
			case 2:
				w.WriteHeader(fuzzCodes[arg%len(fuzzCodes)])
			case 3:
				w.Write([]byte(strings.Repeat(string(rune('a'+arg%26)), fuzzSizes[arg%len(fuzzSizes)])))
			case 4:
				w.(http.Flusher).Flush()
			}
		}
	}
}

// FuzzResponseSameAsNetHTTP runs handlers made of random sequences of
// ResponseWriter calls behind the fast path and behind net/http, and
// wants the same bytes (with a second request, to see whether the
// connection was reused).
func FuzzResponseSameAsNetHTTP(f *testing.F) {
	for _, seed := range [][]byte{
		{3, 2},
		{0, 0, 3, 2, 4, 0, 3, 1},
		{0, 13, 3, 1, 0, 15, 0, 16},
		{0, 18, 2, 3, 1, 18, 3, 7},
		{0, 4, 3, 6, 4, 0},
		{0, 5, 3, 1},
		{0, 6, 0, 0, 3, 1},
		{2, 1, 3, 1},
		{2, 2, 0, 10, 3, 3},
		{0, 7, 4, 0, 3, 5},
		{0, 9, 0, 3, 3, 4},
	} {
		for h := range fuzzHeads {
			f.Add(byte(h), seed)
		}
	}
	var (
		mu  sync.Mutex
		ops []byte
	)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		o := ops
		mu.Unlock()
		if r.URL.Path == "/next" {
			w.Write([]byte("next"))
			return
		}
		fuzzHandler(o)(w, r)
	})
	s := serve(f, h, nil)
	f.Fuzz(func(t *testing.T, head byte, o []byte) {
		if len(o) > 40 {
			return
		}
		mu.Lock()
		ops = o
		mu.Unlock()
		rq := fuzzHeads[int(head)%len(fuzzHeads)]
		method := "GET"
		if strings.HasPrefix(rq, "HEAD") {
			method = "HEAD"
		}
		raw := rq + req("GET /next HTTP/1.1", "Host: example.com")
		slow := exchange(t, s.slow, raw, method, "GET")
		got := exchange(t, s.fast, raw, method, "GET")
		if diff := cmp.Diff(slow, got); diff != "" {
			t.Errorf("ops %v, request %q: mismatch (-net/http +fast path):\n%s", o, rq, diff)
		}
	})
}

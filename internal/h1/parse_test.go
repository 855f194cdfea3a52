package h1

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want state
	}{
		{"minimal", req("GET / HTTP/1.1", "Host: a"), complete},
		{"http/1.0 without host", req("GET / HTTP/1.0"), complete},
		{"every method", req("TRACE /x HTTP/1.1", "Host: a"), complete},
		{"empty", "", partial},
		{"method only", "GET", partial},
		{"request line", "GET / HTTP/1.1\r\n", partial},
		{"cr", "GET / HTTP/1.1\r\nHost: a\r\n\r", partial},
		{"long first word", "GETTINGLONGER", decline},
		{"binary first word", "\x16\x03", decline},
		{"unknown method", req("BREW / HTTP/1.1", "Host: a"), decline},
		{"lower-case method", req("get / HTTP/1.1", "Host: a"), decline},
		{"two spaces", req("GET  / HTTP/1.1", "Host: a"), decline},
		{"no target", req("GET HTTP/1.1", "Host: a"), decline},
		{"asterisk", req("OPTIONS * HTTP/1.1", "Host: a"), decline},
		{"absolute", req("GET http://a/ HTTP/1.1", "Host: a"), decline},
		{"tab in target", req("GET /\t HTTP/1.1", "Host: a"), decline},
		{"del in target", req("GET /\x7f HTTP/1.1", "Host: a"), decline},
		{"http/1.2", req("GET / HTTP/1.2", "Host: a"), decline},
		{"lower-case proto", req("GET / http/1.1", "Host: a"), decline},
		{"trailing space", req("GET / HTTP/1.1 ", "Host: a"), decline},
		{"bare lf after line", "GET / HTTP/1.1\nHost: a\r\n\r\n", decline},
		{"no host", req("GET / HTTP/1.1"), decline},
		{"two hosts", req("GET / HTTP/1.1", "Host: a", "Host: a"), decline},
		{"two hosts http/1.0", req("GET / HTTP/1.0", "Host: a", "host: a"), decline},
		{"obs-fold", req("GET / HTTP/1.1", "Host: a", " folded"), decline},
		{"empty name", req("GET / HTTP/1.1", "Host: a", ": v"), decline},
		{"space in name", req("GET / HTTP/1.1", "Host: a", "X Y: v"), decline},
		{"no colon", req("GET / HTTP/1.1", "Host: a", "X-Y"), decline},
		{"bare lf in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n", decline},
		{"bare cr in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", decline},
		{"nul in value", req("GET / HTTP/1.1", "Host: a", "X: \x00"), decline},
		{"del in value", req("GET / HTTP/1.1", "Host: a", "X: \x7f"), decline},
		{"content-length 0", req("POST / HTTP/1.1", "Host: a", "Content-Length: 0"), complete},
		{"content-length 00", req("POST / HTTP/1.1", "Host: a", "Content-Length: 00"), decline},
		{"content-length 1", req("POST / HTTP/1.1", "Host: a", "Content-Length: 1"), decline},
		{"content-length twice", req("POST / HTTP/1.1", "Host: a", "Content-Length: 0", "Content-Length: 0"), decline},
		{"transfer-encoding", req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: identity"), decline},
		{"expect", req("GET / HTTP/1.1", "Host: a", "Expect: 100-continue"), decline},
		{"upgrade", req("GET / HTTP/1.1", "Host: a", "Upgrade: h2c"), decline},
		{"trailer", req("GET / HTTP/1.1", "Host: a", "Trailer: x"), decline},
		{"connection close", req("GET / HTTP/1.1", "Host: a", "Connection: close"), complete},
		{"connection list", req("GET / HTTP/1.1", "Host: a", "Connection: ,keep-alive , CLOSE,"), complete},
		{"connection other", req("GET / HTTP/1.1", "Host: a", "Connection: keep-alive, te"), decline},
		{"too many fields", req(append([]string{"GET / HTTP/1.1", "Host: a"}, fields(maxFields+1)...)...), decline},
		{"most fields", req(append([]string{"GET / HTTP/1.1", "Host: a"}, fields(maxFields)...)...), complete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h head
			if got := parse([]byte(tt.in), &h); got != tt.want {
				t.Errorf("parse(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if tt.want != complete {
				return
			}
			if h.end != len(tt.in) {
				t.Errorf("parse(%q): head ends at %d, want %d", tt.in, h.end, len(tt.in))
			}
			// Every shorter prefix is a valid beginning.
			for i := range len(tt.in) {
				if got := parse([]byte(tt.in[:i]), &h); got != partial {
					t.Fatalf("parse(%q) = %v, want partial", tt.in[:i], got)
				}
			}
		})
	}
}

// fields returns n header lines besides Host.
func fields(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "X: 1"
	}
	return out
}

// TestParseLikeNetHTTP checks that a request parsed here reaches the
// handler as net/http would build it, with what follows the head left
// alone.
func TestParseLikeNetHTTP(t *testing.T) {
	t.Parallel()
	for _, rq := range requests {
		t.Run(rq.name, func(t *testing.T) {
			t.Parallel()
			checkLikeNetHTTP(t, []byte(rq.raw))
		})
	}
}

// checkLikeNetHTTP parses in as the fast path does and, when it takes
// the request, compares it with what http.ReadRequest reads.
func checkLikeNetHTTP(t *testing.T, in []byte) {
	t.Helper()
	c := &conn{s: &Server{}, remote: "192.0.2.1:1234", sc: getScratch()}
	defer putScratch(c.sc)
	buf := make([]byte, min(len(in), bufSize))
	copy(buf, in)
	if parse(buf, &c.sc.head) != complete || !c.request(buf[:c.sc.head.end]) {
		return
	}
	want, err := http.ReadRequest(bufio.NewReader(strings.NewReader(string(in))))
	if err != nil {
		t.Fatalf("fast path took %q, net/http refuses it: %v", in, err)
	}
	got := &c.sc.req
	if got.Method != want.Method || got.RequestURI != want.RequestURI || got.Host != want.Host ||
		got.Proto != want.Proto || got.ProtoMinor != want.ProtoMinor || got.Close != want.Close ||
		want.ContentLength != 0 || len(want.TransferEncoding) != 0 {
		t.Errorf("request mismatch for %q:\nfast: %s %s %s host=%q close=%v\nnet/http: %s %s %s host=%q close=%v length=%d te=%v",
			in, got.Method, got.RequestURI, got.Proto, got.Host, got.Close,
			want.Method, want.RequestURI, want.Proto, want.Host, want.Close, want.ContentLength, want.TransferEncoding)
	}
	if diff := cmp.Diff(want.URL.String(), got.URL.String()); diff != "" {
		t.Errorf("URL mismatch for %q (-net/http +fast):\n%s", in, diff)
	}
	if diff := cmp.Diff(*want.URL, *got.URL); diff != "" {
		t.Errorf("URL fields mismatch for %q (-net/http +fast):\n%s", in, diff)
	}
	if diff := cmp.Diff(want.Header, got.Header); diff != "" {
		t.Errorf("Header mismatch for %q (-net/http +fast):\n%s", in, diff)
	}
}

func FuzzParse(f *testing.F) {
	for _, rq := range requests {
		f.Add([]byte(rq.raw))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var h head
		st := parse(in, &h)
		if st == complete && (h.end < 4 || h.end > len(in) || string(in[h.end-4:h.end]) != "\r\n\r\n") {
			t.Fatalf("parse(%q): complete with end %d", in, h.end)
		}
		checkLikeNetHTTP(t, in)
	})
}

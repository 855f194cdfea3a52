package upstream

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzReadHead checks that the head parser never panics, and that what
// it accepts net/http accepts too, with the same status, fields and
// framing: this parser is never the looser of the two.
func FuzzReadHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-A\r\n\r\n",
		"HTTP/1.0 204 No Content\r\nConnection: keep-alive\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\nPragma: no-cache\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 1\n\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, headRequest bool) {
		method := "GET"
		if headRequest {
			method = "HEAD"
		}
		h, err := readHead(bufio.NewReader(bytes.NewReader(b)), 1<<16, method)
		if err != nil {
			return
		}
		got := h.resp
		for k, vv := range got.Header {
			for _, v := range vv {
				if strings.ContainsAny(v, "\r\n\x00") || strings.TrimSpace(v) != v && strings.Trim(v, " \t") != v {
					t.Fatalf("field %q value %q", k, v)
				}
			}
		}
		if _, te := got.Header["Transfer-Encoding"]; te {
			t.Fatal("Transfer-Encoding left in the header")
		}
		if h.framing == sized && (h.length <= 0 || got.ContentLength != h.length) {
			t.Fatalf("sized framing with length %d, ContentLength %d", h.length, got.ContentLength)
		}
		if h.framing == tillEOF && h.keep {
			t.Fatal("a body that ends at close on a connection kept")
		}
		req, _ := http.NewRequest(method, "http://a.example/", nil)
		want, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), req)
		if err != nil {
			t.Fatalf("accepted what net/http refuses (%v): %q", err, b)
		}
		// net/http deletes a Connection field holding close.
		if want.Header["Connection"] == nil {
			delete(got.Header, "Connection")
		}
		if want.StatusCode != got.StatusCode || want.Status != got.Status || want.ContentLength != got.ContentLength ||
			want.ProtoMinor != got.ProtoMinor || !cmp.Equal(want.TransferEncoding, got.TransferEncoding) {
			t.Fatalf("net/http read %d %q length %d %v, this %d %q length %d %v", want.StatusCode, want.Status, want.ContentLength,
				want.TransferEncoding, got.StatusCode, got.Status, got.ContentLength, got.TransferEncoding)
		}
		if diff := cmp.Diff(want.Header, got.Header); diff != "" {
			t.Fatalf("header mismatch (-net/http +this):\n%s", diff)
		}
		if diff := cmp.Diff(want.Trailer, got.Trailer); diff != "" {
			t.Fatalf("trailer mismatch (-net/http +this):\n%s", diff)
		}
	})
}

// FuzzChunked checks that the chunked body reader never panics, and
// that a body it reads to the end net/http's chunked reader reads too,
// with the same bytes.
func FuzzChunked(f *testing.F) {
	for _, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"5;a=b\r\nhello\r\nA \r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n",
		"2\nok\r\n0\r\n\r\n",
		"2\r\nokay\r\n0\r\n\r\n",
		"fffffffffffffffff\r\n",
		"0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msg := append([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), b...)
		br := bufio.NewReader(bytes.NewReader(msg))
		h, err := readHead(br, 1<<16, "GET")
		if err != nil {
			t.Fatal(err)
		}
		c := &conn{t: &Transport{}, br: br, nc: nopConn{}, abort: func() {}}
		c.watch(t.Context())
		bd := &body{c: c, h: h, ctx: t.Context(), state: stSize}
		got, err := io.ReadAll(bd)
		if err != nil {
			return
		}
		want, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(b)))
		if err != nil {
			t.Fatalf("read a body net/http refuses (%v): %q", err, b)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("read %q, net/http %q", got, want)
		}
	})
}

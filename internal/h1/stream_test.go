package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// streamed are handlers whose responses do not go out in one piece:
// flushed, larger than the buffer, declared lengths kept or broken,
// trailers, 1xx heads, framings chosen by the handler, aborts.
var streamed = []struct {
	name string
	h    http.HandlerFunc
}{
	{"flush", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "a")
		w.(http.Flusher).Flush()
		io.WriteString(w, "bc")
	}},
	{"flush first", func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		io.WriteString(w, "<html>late</html>")
	}},
	{"sniffed at flush", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html>early</html>")
		w.(http.Flusher).Flush()
		io.WriteString(w, "more")
	}},
	{"flush error", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		if err := http.NewResponseController(w).Flush(); err != nil {
			panic(err)
		}
	}},
	{"large", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		for i := range 5 {
			w.Write([]byte(strings.Repeat(string(rune('a'+i)), 1500)))
		}
		w.Write([]byte(strings.Repeat("z", 5000)))
		w.Write([]byte("end"))
	}},
	{"large with length", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "9003")
		w.Write([]byte(strings.Repeat("x", 9000)))
		w.Write([]byte("end"))
	}},
	{"declared length streamed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "01234")
		w.(http.Flusher).Flush()
		io.WriteString(w, "56789")
	}},
	{"too long", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "3")
		if _, err := io.WriteString(w, "abcdef"); !errors.Is(err, http.ErrContentLength) {
			panic("no ErrContentLength")
		}
		io.WriteString(w, "abc")
	}},
	{"short body", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "abc")
	}},
	{"invalid length", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "x")
		io.WriteString(w, "abc")
	}},
	{"trailers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum, Content-Length, x-lower")
		io.WriteString(w, "body")
		w.Header().Set("X-Sum", "42")
		w.Header()["X-Lower"] = []string{"a\r\nb", "c"}
		w.Header().Set(http.TrailerPrefix+"X-Late", "1")
	}},
	{"trailer prefix only", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(http.TrailerPrefix+"X-Late", "1")
		io.WriteString(w, "body")
	}},
	{"trailers declared, not set", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Never")
		w.WriteHeader(http.StatusOK)
	}},
	{"early hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.Header().Set("Content-Length", "99")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusProcessing)
		w.Header().Del("Link")
		w.Header().Del("Content-Length")
		io.WriteString(w, "ok")
	}},
	{"no content with framing", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		w.Header().Set("Transfer-Encoding", "chunked")
		w.WriteHeader(http.StatusNoContent)
	}},
	{"not modified with type and length", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", "5")
		w.Header().Set("ETag", `"x"`)
		w.WriteHeader(http.StatusNotModified)
	}},
	{"identity", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Transfer-Encoding", "identity")
		io.WriteString(w, "abc")
	}},
	{"te chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Transfer-Encoding", "chunked")
		io.WriteString(w, "abc")
		w.(http.Flusher).Flush()
	}},
	{"te gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Transfer-Encoding", "gzip")
		io.WriteString(w, "abc")
	}},
	{"length and te", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "3")
		w.Header().Set("Transfer-Encoding", "chunked")
		io.WriteString(w, "abc")
	}},
	{"close streamed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "a")
		w.(http.Flusher).Flush()
		io.WriteString(w, "b")
	}},
	{"keep-alive streamed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "keep-alive")
		w.(http.Flusher).Flush()
		io.WriteString(w, "b")
	}},
	{"abort", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "x")
		w.(http.Flusher).Flush()
		io.WriteString(w, "yy")
		panic(http.ErrAbortHandler)
	}},
	{"head body", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "seen by GET only")
		w.(http.Flusher).Flush()
	}},
}

// TestStreamedSameAsNetHTTP sends every request to every streaming
// handler, behind the fast path and behind net/http alone, and wants
// the same bytes back, the Date aside.
func TestStreamedSameAsNetHTTP(t *testing.T) {
	t.Parallel()
	for _, h := range streamed {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			// Some close the connection: at least one is answered.
			sameAsNetHTTP(t, h.h, func(int) int { return -1 })
		})
	}
}

// TestStreamedConnectionFate checks that after a response the connection
// is reused, or closed, as net/http does: a second request sent at once
// is answered or not.
func TestStreamedConnectionFate(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	for _, h := range streamed {
		mux.Handle("/"+strings.ReplaceAll(h.name, " ", "-"), h.h)
	}
	s := serve(t, mux, nil)
	for _, h := range streamed {
		path := "/" + strings.ReplaceAll(h.name, " ", "-")
		for _, proto := range []string{"HTTP/1.1", "HTTP/1.0"} {
			raw := req("GET "+path+" "+proto, "Host: example.com", "Connection: keep-alive") + req("GET /flush HTTP/1.1", "Host: example.com")
			slow := exchange(t, s.slow, raw, "GET", "GET")
			got := exchange(t, s.fast, raw, "GET", "GET")
			if diff := cmp.Diff(slow, got); diff != "" {
				t.Errorf("%s %s: mismatch (-net/http +fast path):\n%s", path, proto, diff)
			}
		}
	}
}

// TestRequestContext checks that a request's context ends with the
// request, and when the client goes away during a long answer.
func TestRequestContext(t *testing.T) {
	t.Parallel()
	ctxs := make(chan context.Context, 2)
	release := make(chan struct{})
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctxs <- r.Context()
		if r.URL.Path == "/wait" {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}
		io.WriteString(w, "ok")
	}), nil)

	// A short request: its context is done once it is answered.
	exchange(t, s.fast, req("GET / HTTP/1.1", "Host: example.com"), "GET")
	if ctx := <-ctxs; ctx.Err() == nil {
		t.Errorf("the context of an answered request is not done")
	}

	// A long one whose client goes away.
	c, err := net.Dial("tcp", s.fast)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, req("GET /wait HTTP/1.1", "Host: example.com"))
	ctx := <-ctxs
	c.Close()
	select {
	case <-ctx.Done():
		if context.Cause(ctx) != errClientGone {
			t.Errorf("cause %v, want %v", context.Cause(ctx), errClientGone)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("the context of a request whose client went away is not done")
	}
}

// TestPipelinedDuringLongAnswer sends the next request while the first
// is still being answered, late enough for the client watch to read its
// first byte: both are answered, in order.
func TestPipelinedDuringLongAnswer(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arrived <- struct{}{}
			<-release
		}
		io.WriteString(w, r.URL.Path)
		w.(http.Flusher).Flush()
	}), nil)
	c, err := net.Dial("tcp", s.fast)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, req("GET /slow HTTP/1.1", "Host: example.com"))
	<-arrived
	time.Sleep(3 * watchAfter) // the watch starts and waits
	io.WriteString(c, req("GET /next HTTP/1.1", "Host: example.com"))
	time.Sleep(watchAfter) // and reads the first byte
	close(release)
	br := bufio.NewReader(c)
	for _, want := range []string{"/slow", "/next"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", want, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil || string(b) != want {
			t.Errorf("got %q, %v; want %q", b, err, want)
		}
	}
}

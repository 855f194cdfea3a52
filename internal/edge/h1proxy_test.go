package edge

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The proxied HTTPS requests of HTTP/1.1 clients are served on the fast
// path's connections (package h1), not net/http's: these tests cover
// what that path does on its own.

// dialH1 opens an HTTP/1.1 TLS connection to the edge for
// shop.example.com, closed when the test ends.
func dialH1(t *testing.T, h *harness) *tls.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", h.addrs.HTTPS, &tls.Config{RootCAs: testRoot, ServerName: "shop.example.com", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

func TestClientGoneDuringLongPoll(t *testing.T) {
	t.Parallel()
	arrived, canceled := make(chan struct{}), make(chan struct{})
	var once sync.Once
	app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived) })
		select {
		case <-r.Context().Done():
			close(canceled)
		case <-time.After(20 * time.Second):
		}
	}))
	h := startEdge(t, streamApp(app, "client_idle: 20s, upstream_read_idle: 20s, stream_idle: 20s"))
	c := dialH1(t, h)
	io.WriteString(c, "GET /poll HTTP/1.1\r\nHost: shop.example.com\r\n\r\n")
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not reach the app")
	}
	c.Close()
	select {
	case <-canceled:
	case <-time.After(10 * time.Second):
		t.Fatal("the request to the app was not canceled when the client went away")
	}
	if l := logFor(t, h, "/poll"); l["status"] != 499.0 || l["cut"] != cutClientGone {
		t.Errorf("access log: %v, want status 499 and cut %s", l, cutClientGone)
	}
}

func TestPipelinedAfterStreamedResponse(t *testing.T) {
	t.Parallel()
	app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			io.WriteString(w, "part 1,")
			w.(http.Flusher).Flush()
			time.Sleep(200 * time.Millisecond) // past the h1 client watch
			io.WriteString(w, "part 2")
			return
		}
		io.WriteString(w, "plain "+r.URL.Path)
	}))
	h := startEdge(t, streamApp(app, "client_idle: 5s, upstream_read_idle: 5s"))
	c := dialH1(t, h)
	io.WriteString(c, "GET /stream HTTP/1.1\r\nHost: shop.example.com\r\n\r\n"+
		"GET /a HTTP/1.1\r\nHost: shop.example.com\r\n\r\n")
	time.Sleep(100 * time.Millisecond)
	io.WriteString(c, "GET /b HTTP/1.1\r\nHost: shop.example.com\r\n\r\n")
	br := bufio.NewReader(c)
	for _, want := range []string{"part 1,part 2", "plain /a", "plain /b"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("reading the response %q: %v", want, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil || string(b) != want || resp.StatusCode != 200 {
			t.Errorf("got %d %q, %v; want 200 %q", resp.StatusCode, b, err, want)
		}
		if want == "part 1,part 2" && resp.ContentLength != -1 {
			t.Errorf("a streamed response without length came with Content-Length %d", resp.ContentLength)
		}
	}
}

func TestEventsArriveAsWritten(t *testing.T) {
	t.Parallel()
	next := make(chan struct{})
	app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-next: // the client saw the event
			case <-time.After(10 * time.Second):
				return
			}
		}
	}))
	h := startEdge(t, streamApp(app, "client_idle: 5s, upstream_read_idle: 5s, stream_idle: 20s"))
	resp, err := h.client(false).Get(httpsURL("shop.example.com", "/events"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for i := range 3 {
		for sc.Scan() && sc.Text() == "" {
		}
		if got, want := sc.Text(), "data: "+strconv.Itoa(i); got != want {
			t.Fatalf("event %d: %q, %v; want %q (the app waits for the client to see each event)", i, got, sc.Err(), want)
		}
		next <- struct{}{}
	}
}

// TestLargeDownloadBoundedMemory streams 100 MB through the edge: the
// memory allocated meanwhile stays far below the body's size. Not
// parallel: it measures the process's allocations.
func TestLargeDownloadBoundedMemory(t *testing.T) {
	const size = 100 << 20
	app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		buf := make([]byte, 32<<10)
		for n := 0; n < size; n += len(buf) {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	}))
	h := startEdge(t, streamApp(app, "client_idle: 20s, upstream_read_idle: 20s"))
	c := dialH1(t, h)
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	io.WriteString(c, "GET /big HTTP/1.1\r\nHost: shop.example.com\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != size {
		t.Fatalf("downloaded %d bytes, %v; want %d", n, err, size)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/4 {
		t.Errorf("allocated %d MiB streaming %d MiB", alloc>>20, size>>20)
	}
	if l := logFor(t, h, "/big"); l["bytes"] != float64(size) || l["cut"] != nil {
		t.Errorf("access log: %v, want %d bytes and no cut", l, size)
	}
}

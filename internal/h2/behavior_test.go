package h2

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestTrailers(t *testing.T) {
	h := start(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Trailer", "X-Declared")
		w.WriteHeader(200)
		io.WriteString(w, "body")
		w.Header().Set("X-Declared", "got "+r.Trailer.Get("X-Req"))
		w.Header().Set(http.TrailerPrefix+"X-Late", "late")
	})})
	c := &http.Client{Transport: h.transport(t)}
	req, _ := http.NewRequest("POST", h.url("/"), io.MultiReader(strings.NewReader("abc")))
	req.Trailer = http.Header{"X-Req": nil}
	req.ContentLength = -1
	go func() {}()
	pr, pw := io.Pipe()
	req.Body = pr
	go func() {
		pw.Write([]byte("abc"))
		req.Trailer.Set("X-Req", "from-client")
		pw.Close()
	}()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "body" || resp.Trailer.Get("X-Declared") != "got from-client" || resp.Trailer.Get("X-Late") != "late" {
		t.Fatalf("body %q trailer %v", b, resp.Trailer)
	}
}

// TestFullDuplex: the handler echoes each line as it reads it, while the
// client is still writing.
func TestFullDuplex(t *testing.T) {
	h := start(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			fmt.Fprintf(w, "echo %s\n", sc.Text())
			w.(http.Flusher).Flush()
		}
	})})
	c := &http.Client{Transport: h.transport(t)}
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", h.url("/"), pr)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := range 20 {
		fmt.Fprintf(pw, "line %d\n", i)
		got, err := br.ReadString('\n')
		if err != nil || got != fmt.Sprintf("echo line %d\n", i) {
			t.Fatalf("got %q, %v", got, err)
		}
	}
	pw.Close()
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Fatalf("rest %q", rest)
	}
}

func TestInformational(t *testing.T) {
	h := start(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(103)
		w.WriteHeader(103)
		w.Header().Set("Link", "</other.css>; rel=preload")
		w.WriteHeader(200)
		io.WriteString(w, "done")
	})})
	c := &http.Client{Transport: h.transport(t)}
	var mu sync.Mutex
	var got []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		mu.Lock()
		got = append(got, fmt.Sprint(code, " ", h.Get("Link")))
		mu.Unlock()
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", h.url("/"), nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != "103 </style.css>; rel=preload" || resp.Header.Get("Link") != "</other.css>; rel=preload" {
		t.Fatalf("1xx %q, final %v", got, resp.Header)
	}
}

// TestStreaming: each flushed chunk arrives before the next is written.
func TestStreaming(t *testing.T) {
	next := make(chan struct{})
	h := start(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 5 {
			fmt.Fprintf(w, "chunk %d\n", i)
			if err := http.NewResponseController(w).Flush(); err != nil {
				return
			}
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
	})})
	c := &http.Client{Transport: h.transport(t)}
	resp, err := c.Get(h.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := range 5 {
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("chunk %d\n", i) {
			t.Fatalf("chunk %d: %q %v", i, line, err)
		}
		next <- struct{}{}
	}
}

func TestConcurrentStreams(t *testing.T) {
	h := start(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Path)
	})})
	c := &http.Client{Transport: h.transport(t)}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := fmt.Sprintf("/%d", i)
			resp, err := c.Get(h.url(path))
			if err != nil {
				errs <- err
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != path {
				errs <- fmt.Errorf("got %q for %s", b, path)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestPanic(t *testing.T) {
	var logged bytes.Buffer
	var mu sync.Mutex
	h := start(t, &Server{
		ErrorLog: log.New(writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return logged.Write(p) }), "", 0),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/abort" {
				panic(http.ErrAbortHandler)
			}
			panic("boom")
		}),
	})
	c := &http.Client{Transport: h.transport(t)}
	for _, path := range []string{"/abort", "/boom"} {
		_, err := c.Get(h.url(path))
		if err == nil || !strings.Contains(err.Error(), "INTERNAL_ERROR") {
			t.Errorf("%s: %v, want a stream reset INTERNAL_ERROR", path, err)
		}
	}
	// The log is written before the reset is sent.
	mu.Lock()
	defer mu.Unlock()
	if s := logged.String(); !strings.Contains(s, "boom") || strings.Contains(s, "abort") {
		t.Errorf("log %q", s)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestClientCancel(t *testing.T) {
	canceled := make(chan error, 1)
	started := make(chan struct{})
	h := start(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		canceled <- context.Cause(r.Context())
	})})
	c := &http.Client{Transport: h.transport(t)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.url("/"), nil)
	if _, err := c.Do(req); err == nil {
		t.Fatal("no error")
	}
	if err := <-canceled; !errors.Is(err, errClientReset) {
		t.Fatalf("cause %v", err)
	}
}

// TestShutdown: streams running at Shutdown finish; new connections are
// refused; Shutdown returns once they are done.
func TestShutdown(t *testing.T) {
	release := make(chan struct{})
	var running atomic.Int32
	h := start(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		running.Add(1)
		<-release
		io.WriteString(w, "finished")
	})})
	c := &http.Client{Transport: h.transport(t)}
	results := make(chan string, 3)
	for range 3 {
		go func() {
			resp, err := c.Get(h.url("/"))
			if err != nil {
				results <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			results <- string(b)
		}()
	}
	for running.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	done := make(chan error)
	go func() { done <- h.srv.Shutdown(context.Background()) }()
	// The GOAWAY reaches the client; the streams still finish.
	time.Sleep(10 * time.Millisecond)
	close(release)
	for range 3 {
		if r := <-results; r != "finished" {
			t.Errorf("result %q", r)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestShutdownDeadline(t *testing.T) {
	started := make(chan struct{})
	h := start(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	})})
	c := &http.Client{Transport: h.transport(t)}
	go c.Get(h.url("/"))
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestHeadAndStatus(t *testing.T) {
	h := start(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(204)
			if _, err := w.Write([]byte("x")); err != http.ErrBodyNotAllowed {
				panic("write to a 204 accepted")
			}
		case "/cl":
			w.Header().Set("Content-Length", "3")
			if _, err := io.WriteString(w, "abcd"); err != http.ErrContentLength {
				panic("write past Content-Length accepted")
			}
			io.WriteString(w, "abc")
		case "/empty":
		default:
			io.WriteString(w, "<html>hello</html>")
		}
	})})
	c := &http.Client{Transport: h.transport(t)}
	for _, tc := range []struct {
		method, path string
		status       int
		body         string
		length       int64
		ctype        string
	}{
		{"GET", "/", 200, "<html>hello</html>", 18, "text/html; charset=utf-8"},
		{"HEAD", "/", 200, "", 18, "text/html; charset=utf-8"},
		{"GET", "/204", 204, "", 0, ""},
		{"GET", "/cl", 200, "abc", 3, "text/plain; charset=utf-8"},
		{"GET", "/empty", 200, "", 0, ""},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, h.url(tc.path), nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || string(b) != tc.body || resp.ContentLength != tc.length || resp.Header.Get("Content-Type") != tc.ctype {
				t.Fatalf("got %d %q len %d type %q", resp.StatusCode, b, resp.ContentLength, resp.Header.Get("Content-Type"))
			}
		})
	}
}

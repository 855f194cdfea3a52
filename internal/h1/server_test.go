package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// dial opens a connection with a deadline far enough to never matter
// unless the server misbehaves.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// waitClosed reads until the server closes c, and fails if it sends
// anything or the deadline passes first.
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after 10 s (read %q)", b)
	}
	if len(b) > 0 {
		t.Fatalf("server sent %q before closing", b)
	}
}

func roundTrip(t *testing.T, c net.Conn, br *bufio.Reader, raw string) *http.Response {
	t.Helper()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })

func TestTimeouts(t *testing.T) {
	t.Parallel()
	newServer := func() *Server {
		return &Server{Answer: func(w http.ResponseWriter, r *http.Request) bool { ok(w, r); return true },
			ReadHeaderTimeout: 100 * time.Millisecond, IdleTimeout: 200 * time.Millisecond}
	}
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		addr := listenFast(t, newServer(), ok)
		c := dial(t, addr)
		br := bufio.NewReader(c)
		if resp := roundTrip(t, c, br, req("GET / HTTP/1.1", "Host: a")); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		waitClosed(t, c)
	})
	t.Run("first request head", func(t *testing.T) {
		t.Parallel()
		c := dial(t, listenFast(t, newServer(), ok))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n")
		waitClosed(t, c)
	})
	t.Run("later request head", func(t *testing.T) {
		t.Parallel()
		c := dial(t, listenFast(t, newServer(), ok))
		br := bufio.NewReader(c)
		roundTrip(t, c, br, req("GET / HTTP/1.1", "Host: a"))
		io.WriteString(c, "GET / HTTP/1.1\r\n")
		waitClosed(t, c)
	})
	t.Run("silent client", func(t *testing.T) {
		t.Parallel()
		c := dial(t, listenFast(t, newServer(), ok))
		waitClosed(t, c)
	})
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s := &Server{Answer: func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/slow" {
			once.Do(func() { close(entered) })
			<-release
		}
		io.WriteString(w, "done\n")
		return true
	}}
	addr := listenFast(t, s, ok)
	idle := dial(t, addr)
	ibr := bufio.NewReader(idle)
	roundTrip(t, idle, ibr, req("GET / HTTP/1.1", "Host: a"))
	busy := dial(t, addr)
	io.WriteString(busy, req("GET /slow HTTP/1.1", "Host: a"))
	<-entered

	errc := make(chan error, 1)
	go func() { errc <- s.Shutdown(context.Background()) }()
	waitClosed(t, idle)
	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil {
		t.Fatalf("in-flight request lost: %v", err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "done\n" {
		t.Errorf("in-flight response body %q", b)
	}
	if err := <-errc; err != nil {
		t.Errorf("Shutdown() = %v", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("still accepting after Shutdown")
	}
}

func TestShutdownDeadline(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	s := &Server{Answer: func(w http.ResponseWriter, r *http.Request) bool {
		close(entered)
		<-release
		return true
	}}
	defer close(release)
	c := dial(t, listenFast(t, s, ok))
	io.WriteString(c, req("GET / HTTP/1.1", "Host: a"))
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown() = %v, want %v", err, context.DeadlineExceeded)
	}
	waitClosed(t, c)
}

func TestPanicClosesConnection(t *testing.T) {
	t.Parallel()
	var logged strings.Builder
	var mu sync.Mutex
	s := &Server{
		Answer: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/panic" {
				w.Header().Set("X-Half", "done")
				panic("boom")
			}
			ok(w, r)
			return true
		},
		Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logged}, nil)),
	}
	addr := listenFast(t, s, ok)
	c := dial(t, addr)
	io.WriteString(c, req("GET /panic HTTP/1.1", "Host: a"))
	waitClosed(t, c)
	c2 := dial(t, addr)
	if resp := roundTrip(t, c2, bufio.NewReader(c2), req("GET / HTTP/1.1", "Host: a")); resp.StatusCode != 200 {
		t.Errorf("after a panic: status %d", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logged.String(), "boom") {
		t.Errorf("panic not logged: %q", logged.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestDeclineAfterWriting: an Answer that writes and then declines is a
// bug; the connection closes rather than send half a response or read the
// request twice.
func TestDeclineAfterWriting(t *testing.T) {
	t.Parallel()
	s := &Server{Answer: func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("X", "1")
		return false
	}, Logger: slog.New(slog.DiscardHandler)}
	c := dial(t, listenFast(t, s, ok))
	io.WriteString(c, req("GET / HTTP/1.1", "Host: a"))
	waitClosed(t, c)
}

func TestListenErrors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := (&Server{}).Listen(ln); err == nil {
		t.Error("Listen without Answer: no error")
	}
	s := &Server{Answer: func(http.ResponseWriter, *http.Request) bool { return false }}
	if _, err := s.Listen(ln); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Listen(ln); err == nil {
		t.Error("second Listen: no error")
	}
	s.Close()
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	closed := &Server{Answer: s.Answer}
	closed.Close()
	if _, err := closed.Listen(l2); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Listen after Close = %v, want %v", err, ErrServerClosed)
	}
}

// TestHandOverAfterClose: a connection handed over once net/http stopped
// accepting is closed, not leaked.
func TestHandOverAfterClose(t *testing.T) {
	t.Parallel()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Answer: func(http.ResponseWriter, *http.Request) bool { return false }}
	ln, err := s.Listen(inner)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, inner.Addr().String())
	ln.Close() // no http.Server ever accepts
	io.WriteString(c, req("GET / HTTP/1.1", "Host: a"))
	waitClosed(t, c)
	if _, err := ln.Accept(); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Accept after Close = %v, want %v", err, ErrServerClosed)
	}
	s.Close()
}

// TestLargeBody: the fast path sends a large body with its length where
// net/http chunks it; what the client reads is the same.
func TestLargeBody(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("0123456789abcdef", 4096)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, body)
	})
	s := serve(t, h, nil)
	for _, addr := range []string{s.fast, s.slow} {
		c := dial(t, addr)
		io.WriteString(c, req("GET / HTTP/1.1", "Host: a"))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil || string(b) != body || resp.Header.Get("Content-Type") != "text/plain" {
			t.Errorf("%s: body of %d bytes, err %v, header %v", addr, len(b), err, resp.Header)
		}
	}
}

// TestKeepAliveHeldResponses covers the end of a response held back on a
// plain connection until it waits for the next request: each response
// must reach a client that sends nothing more before reading it, small
// or larger than the socket's buffers, and the connection must go on.
func TestKeepAliveHeldResponses(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("0123456789abcdef", 1<<18) // 4 MiB
	s := &Server{Answer: func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/big":
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			io.WriteString(w, big)
		case "/chunked":
			io.WriteString(w, "part 1,")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part 2")
		default:
			io.WriteString(w, r.URL.Path)
		}
		return true
	}}
	c := dial(t, listenFast(t, s, ok))
	br := bufio.NewReader(c)
	get := func(path string) string {
		t.Helper()
		if _, err := io.WriteString(c, req("GET "+path+" HTTP/1.1", "Host: a")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: body: %v", path, err)
		}
		return string(b)
	}
	for i := 0; i < 300; i++ {
		if p := "/" + strconv.Itoa(i); get(p) != p {
			t.Fatalf("round %d: wrong body", i)
		}
	}
	if get("/chunked") != "part 1,part 2" {
		t.Fatal("chunked response incomplete")
	}
	// The client reads the large response late: its end meets a full
	// socket buffer, and is written the ordinary way. The request lasts
	// long enough for the sweeper to watch its client (watchAfter); the
	// read deadline that ends the watch must not outlive the request,
	// even with no timeouts configured (it once closed the connection).
	io.WriteString(c, req("GET /big HTTP/1.1", "Host: a"))
	time.Sleep(3 * watchAfter)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(resp.Body); err != nil || string(b) != big {
		t.Fatalf("large response: %d bytes of %d, %v", len(b), len(big), err)
	}
	if get("/after") != "/after" {
		t.Fatal("no answer after the large response")
	}
}

// TestShutdownAfterHeldResponse shuts the server down while a plain
// connection's last response may still be held: the client must get the
// whole response, then the end of the connection.
func TestShutdownAfterHeldResponse(t *testing.T) {
	t.Parallel()
	for i := 0; i < 20; i++ {
		// The shutdown starts while the request is answered, and races
		// with the end of the answer: either way the response is out
		// before the connection counts as idle.
		errc := make(chan error, 1)
		var s *Server
		s = &Server{Answer: func(w http.ResponseWriter, r *http.Request) bool {
			go func() { errc <- s.Shutdown(context.Background()) }()
			io.WriteString(w, "done\n")
			return true
		}}
		c := dial(t, listenFast(t, s, ok))
		io.WriteString(c, req("GET / HTTP/1.1", "Host: a"))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("round %d: response lost: %v", i, err)
		}
		if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "done\n" {
			t.Fatalf("round %d: body %q, %v", i, b, err)
		}
		if rest, err := io.ReadAll(br); len(rest) > 0 || err != nil {
			t.Fatalf("round %d: after the response: %q, %v", i, rest, err)
		}
		if err := <-errc; err != nil {
			t.Fatalf("round %d: Shutdown() = %v", i, err)
		}
	}
}

// TestContextReused: a request's context that nothing waited on serves
// the connection's next request, fresh; one that something waited on is
// canceled for good and the next request gets a new one.
func TestContextReused(t *testing.T) {
	var (
		mu   sync.Mutex
		ctxs []context.Context
		errs []error // each context's Err as its request began
		prev []error // the previous request's context's Err, from the next one
		done <-chan struct{}
	)
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		mu.Lock()
		if n := len(ctxs); n > 0 {
			prev = append(prev, ctxs[n-1].Err())
		}
		ctxs, errs = append(ctxs, ctx), append(errs, ctx.Err())
		if r.URL.Path == "/made" {
			done = ctx.Done() // something waits on it
		}
		mu.Unlock()
		io.WriteString(w, "ok")
	}), nil)
	got := exchange(t, s.fast, req("GET /a HTTP/1.1", "Host: x")+req("GET /b HTTP/1.1", "Host: x")+
		req("GET /made HTTP/1.1", "Host: x")+req("GET /d HTTP/1.1", "Host: x"), "GET", "GET", "GET", "GET")
	if n := strings.Count(got, "HTTP/1.1 200 OK"); n != 4 {
		t.Fatalf("%d answers of 4:\n%s", n, got)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d began with its context's Err = %v", i+1, err)
		}
	}
	if ctxs[0] != ctxs[1] || ctxs[1] != ctxs[2] {
		t.Error("a context nothing waited on was not reused")
	}
	if ctxs[3] == ctxs[2] {
		t.Error("a context something waited on was reused")
	}
	select {
	case <-done:
	default:
		t.Error("the channel of the request that waited is still open")
	}
	if want := []error{nil, nil, context.Canceled}; len(prev) != 3 || prev[0] != want[0] || prev[1] != want[1] || prev[2] != want[2] {
		// A reused context reads as the next request's (not canceled);
		// the one that was made stays canceled.
		t.Errorf("the previous contexts' Err seen from the next requests = %v, want %v", prev, want)
	}
}

// deadlineConn records the write deadlines set on a connection.
type deadlineConn struct {
	net.Conn
	mu  sync.Mutex
	set []time.Time
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.set = append(c.set, t)
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func (c *deadlineConn) writeDeadlines() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.set)
}

// deadlineListener hands out deadlineConns, and the last one accepted.
type deadlineListener struct {
	net.Listener
	mu   sync.Mutex
	last *deadlineConn
}

func (l *deadlineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	dc := &deadlineConn{Conn: c}
	l.mu.Lock()
	l.last = dc
	l.mu.Unlock()
	return dc, nil
}

func (l *deadlineListener) conn() *deadlineConn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// listenDeadlines starts fast, with every other request going to
// net/http, on a loopback listener that records write deadlines.
func listenDeadlines(t *testing.T, fast *Server) (string, *deadlineListener) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dl := &deadlineListener{Listener: inner}
	serveFast(t, fast, &http.Server{Handler: http.NotFoundHandler(), ErrorLog: discardLog()}, dl)
	return inner.Addr().String(), dl
}

// TestWriteDeadlineLiftPutOff: an answer that lifts the write deadline,
// ends quickly and sets WriteTimeout again, as a proxied exchange does,
// costs the connection no deadline update: the lift waits for the
// sweeper, and the deadline armed before the request stays.
func TestWriteDeadlineLiftPutOff(t *testing.T) {
	t.Parallel()
	fast := &Server{
		Answer: func(w http.ResponseWriter, r *http.Request) bool {
			rc := http.NewResponseController(w)
			if err := rc.SetWriteDeadline(time.Time{}); err != nil {
				t.Errorf("SetWriteDeadline: %v", err)
			}
			io.WriteString(w, "ok")
			// WriteTimeout again, for the rest: the armed deadline is
			// within a sixteenth of it.
			if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
				t.Errorf("SetWriteDeadline: %v", err)
			}
			return true
		},
		ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute, WriteTimeout: time.Minute,
		Logger: slog.New(slog.DiscardHandler),
	}
	addr, dl := listenDeadlines(t, fast)
	const n = 20
	got := exchange(t, addr, strings.Repeat(req("GET / HTTP/1.1", "Host: x"), n), slices.Repeat([]string{"GET"}, n)...)
	if k := strings.Count(got, "HTTP/1.1 200 OK"); k != n {
		t.Fatalf("%d answers of %d:\n%s", k, n, got)
	}
	set := dl.conn().writeDeadlines()
	if len(set) != 1 || set[0].IsZero() {
		// One: the deadline armed for the first response.
		t.Errorf("write deadlines set for %d quick answers that lifted it: %v, want the one armed for the first", n, set)
	}
}

// TestWriteDeadlineLiftApplied: a lift put off is applied once the
// request runs long, so that a stream may write for longer than
// WriteTimeout; a deadline set after it cancels it.
func TestWriteDeadlineLiftApplied(t *testing.T) {
	t.Parallel()
	const timeout = liftLater + 500*time.Millisecond
	fast := &Server{
		Answer: func(w http.ResponseWriter, r *http.Request) bool {
			rc := http.NewResponseController(w)
			rc.SetWriteDeadline(time.Time{})
			if r.URL.Path == "/set" {
				// Set after the lift: it stands, the lift is dropped.
				rc.SetWriteDeadline(time.Now().Add(time.Hour))
				time.Sleep(3 * watchAfter) // the sweeper looks meanwhile
				io.WriteString(w, "set")
				return true
			}
			// Write for longer than the deadline armed before the lift.
			for end := time.Now().Add(timeout + timeout/16 + 300*time.Millisecond); time.Now().Before(end); {
				io.WriteString(w, "tick\n")
				rc.Flush()
				time.Sleep(50 * time.Millisecond)
			}
			return true
		},
		ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute, WriteTimeout: timeout,
		Logger: slog.New(slog.DiscardHandler),
	}
	addr, dl := listenDeadlines(t, fast)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * timeout)) // longer than exchange's
	if _, err := io.WriteString(c, req("GET /set HTTP/1.1", "Host: x")+req("GET /stream HTTP/1.1", "Host: x", "Connection: close")); err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the answers: %v", err)
	}
	got := string(all)
	if !strings.Contains(got, "\r\n\r\nset") || !strings.HasSuffix(got, "tick\n\r\n0\r\n\r\n") {
		t.Fatalf("the stream was cut, or the first answer is missing:\n%s", got)
	}
	set := dl.conn().writeDeadlines()
	// The first request's arm, its own deadline, the second's arm (the
	// first touched the deadline), and the lift applied by the sweeper.
	if len(set) != 4 || set[0].IsZero() || set[1].IsZero() || set[2].IsZero() || !set[3].IsZero() {
		t.Errorf("write deadlines set: %v, want an arm, the hour, an arm, then the lift", set)
	}
	if d := set[1].Sub(set[0]); d < 30*time.Minute {
		t.Errorf("the answer's own deadline %v was not the one set", set[1])
	}
}

package edge

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

// The tests of long exchanges use timeouts of a few hundred milliseconds
// and exchanges that last several times longer: they check that what
// progresses is never cut and that what stops is, never how fast.

// streamApp is the configuration of one app "s" on shop.example.com in
// front of upstream, with the given global timeouts.
func streamApp(upstream, timeouts string) string {
	return fmt.Sprintf(`
timeouts: {%s}
apps:
  - name: s
    domains: [shop.example.com]
    upstream: %s
`, timeouts, upstream)
}

// both runs f for an HTTP/1.1 and an HTTP/2 client.
func both(t *testing.T, f func(t *testing.T, h2 bool)) {
	for _, h2 := range []bool{false, true} {
		name := "HTTP/1.1"
		if h2 {
			name = "HTTP/2"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, h2)
		})
	}
}

// logFor waits for the access log line of path and returns it.
func logFor(t *testing.T, h *harness, path string) map[string]any {
	t.Helper()
	var line map[string]any
	waitFor(t, "the access log line of "+path, func() bool {
		for _, l := range h.access.lines(t) {
			if l["path"] == path {
				line = l
				return true
			}
		}
		return false
	})
	return line
}

func TestEventStreamOutlivesTimeouts(t *testing.T) {
	t.Parallel()
	// Events every 100ms for 2s, and one gap of 600ms: longer than
	// client_idle and upstream_read_idle, shorter than stream_idle.
	const events = 20
	app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for i := range events {
			pause := 100 * time.Millisecond
			if i == events/2 {
				pause = 600 * time.Millisecond
			}
			select {
			case <-time.After(pause):
			case <-r.Context().Done():
				return
			}
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
		}
	}))
	h := startEdge(t, streamApp(app, "client_idle: 300ms, upstream_read_idle: 300ms, stream_idle: 3s"))
	both(t, func(t *testing.T, h2 bool) {
		path := fmt.Sprintf("/events-%v", h2)
		resp, err := h.client(h2).Get(httpsURL("shop.example.com", path))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		n := 0
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				n++
			}
		}
		if err := sc.Err(); err != nil || n != events {
			t.Errorf("got %d events then %v, want %d and a clean end", n, err, events)
		}
		if l := logFor(t, h, path); l["cut"] != nil || l["status"] != 200.0 {
			t.Errorf("access log: %v, want 200 without cut", l)
		}
	})
}

func TestEventStreamSilentPastStreamIdle(t *testing.T) {
	t.Parallel()
	app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: hello\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // and then nothing
	}))
	h := startEdge(t, streamApp(app, "client_idle: 5s, upstream_read_idle: 5s, stream_idle: 300ms"))
	resp, err := h.client(false).Get(httpsURL("shop.example.com", "/silent"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || string(b) != "data: hello\n\n" {
		t.Errorf("silent stream: %q, %v; want the first event then an abnormal end", b, err)
	}
	if l := logFor(t, h, "/silent"); l["cut"] != cutStreamIdle || l["bytes"] != 13.0 {
		t.Errorf("access log: %v, want cut %s with 13 bytes", l, cutStreamIdle)
	}
	waitFor(t, "cuts_total", func() bool {
		return h.metric(`forcehttps_edge_cuts_total{app="s",reason="stream_idle"}`) == 1
	})
}

// wsHandshake opens a WebSocket to shop.example.com over HTTPS (HTTP/1.1)
// and returns the connection, its reader and the response to the
// handshake. The connection is closed when the test ends.
func wsHandshake(t *testing.T, h *harness, path string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	conn, err := tls.Dial("tcp", h.addrs.HTTPS, &tls.Config{RootCAs: testRoot, ServerName: "shop.example.com", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: shop.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return conn, br, resp
}

// endless is an app that sends a body of zeros until the client is gone.
func endless(t *testing.T) string {
	return newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 32<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	}))
}

func TestSlowReader(t *testing.T) {
	t.Parallel()
	h := startEdge(t, streamApp(endless(t), "client_idle: 300ms, upstream_read_idle: 5s"))
	both(t, func(t *testing.T, h2 bool) {
		path := fmt.Sprintf("/download-%v", h2)
		resp, err := h.client(h2).Get(httpsURL("shop.example.com", path))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		// Progressing slowly for 1.2s, four times client_idle: not cut.
		buf := make([]byte, 64<<10)
		for range 12 {
			if _, err := io.ReadFull(resp.Body, buf); err != nil {
				t.Fatalf("a slow reader that keeps reading was cut: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// Then it stops reading: once the buffers are full, the edge
		// waits client_idle and cuts.
		l := logFor(t, h, path)
		if l["cut"] != cutClientIdle {
			t.Errorf("access log: %v, want cut %s", l, cutClientIdle)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err == nil {
			t.Errorf("the body of a cut download ended cleanly")
		}
	})
}

func TestSlowUploader(t *testing.T) {
	t.Parallel()
	app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			return
		}
		fmt.Fprintf(w, "%d", n)
	}))
	// client_idle is twelve times the uploader's pauses, so that a loaded
	// machine does not make a pause look like a stop.
	h := startEdge(t, streamApp(app, "client_idle: 600ms, upstream_read_idle: 5s"))
	both(t, func(t *testing.T, h2 bool) {
		c := h.client(h2)
		// Progressing slowly for 1.2s: the whole body reaches the app.
		pr, pw := io.Pipe()
		go func(pw *io.PipeWriter) { // its own pw: the one below is another
			for range 24 {
				pw.Write(make([]byte, 500))
				time.Sleep(50 * time.Millisecond)
			}
			pw.Close()
		}(pw)
		path := fmt.Sprintf("/upload-%v", h2)
		resp, err := c.Post(httpsURL("shop.example.com", path), "application/octet-stream", pr)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "12000" {
			t.Errorf("slow upload: %d %q, want 200 and the 12000 bytes received", resp.StatusCode, b)
		}
		// Stopping halfway: cut with 408 after client_idle.
		pr, pw = io.Pipe()
		defer pw.Close()
		go pw.Write(make([]byte, 1000))
		path += "-stopped"
		resp, err = c.Post(httpsURL("shop.example.com", path), "application/octet-stream", pr)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Errorf("stopped upload: %d, want 408", resp.StatusCode)
			}
		}
		if l := logFor(t, h, path); l["cut"] != cutClientIdle || l["status"] != 408.0 {
			t.Errorf("access log: %v, want 408 with cut %s", l, cutClientIdle)
		}
	})
}

func TestStalledApp(t *testing.T) {
	t.Parallel()
	stall := func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/head-only":
			w.WriteHeader(200)
		case "/length":
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, "partial")
		default: // chunked
			io.WriteString(w, "partial")
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
	app := newServer(t, http.HandlerFunc(stall))

	// The head arrives while the app stalls, long before any timeout.
	slow := startEdge(t, streamApp(app, "upstream_read_idle: 1m"))
	both(t, func(t *testing.T, h2 bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", httpsURL("shop.example.com", "/head-only"), nil)
		resp, err := slow.client(h2).Do(req)
		if err != nil {
			t.Fatalf("the head of a stalled response did not arrive: %v", err)
		}
		resp.Body.Close()
	})

	h := startEdge(t, streamApp(app, "upstream_read_idle: 300ms"))
	for _, path := range []string{"/length", "/chunked"} {
		t.Run(path, func(t *testing.T) {
			both(t, func(t *testing.T, h2 bool) {
				p := fmt.Sprintf("%s-%v", path, h2)
				if path == "/length" {
					p = path // the app keys on it
					if h2 {
						t.Skip("one client is enough: the log line is per path")
					}
				}
				resp, err := h.client(h2).Get(httpsURL("shop.example.com", p))
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil || string(b) != "partial" {
					t.Errorf("stalled body: %q, %v; want \"partial\" then an abnormal end", b, err)
				}
				if l := logFor(t, h, p); l["cut"] != cutUpstreamReadIdle || l["bytes"] != 7.0 || l["status"] != 200.0 {
					t.Errorf("access log: %v, want 200 with 7 bytes and cut %s", l, cutUpstreamReadIdle)
				}
			})
		})
	}
}

func TestAppStopsReadingTheBody(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release // neither reads nor answers (nor sees the edge leave: it reads nothing)
	}))
	t.Cleanup(func() { close(release) }) // before the app's server closes
	h := startEdge(t, streamApp(app, "client_idle: 5s, upstream_read_idle: 300ms"))
	// A body larger than every buffer on the way, sent as fast as taken.
	resp, err := h.client(false).Post(httpsURL("shop.example.com", "/ignored"), "application/octet-stream", io.LimitReader(zeros{}, 64<<20))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusGatewayTimeout {
			t.Errorf("upload to an app that stopped reading: %d, want 504 (or the connection closed)", resp.StatusCode)
		}
	}
	if l := logFor(t, h, "/ignored"); l["cut"] != cutUpstreamReadIdle || l["status"] != 504.0 {
		t.Errorf("access log: %v, want 504 with cut %s", l, cutUpstreamReadIdle)
	}
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestMaxDuration(t *testing.T) {
	t.Parallel()
	h := startEdge(t, fmt.Sprintf(`
apps:
  - name: s
    domains: [shop.example.com]
    upstream: %s
    timeouts: {max_duration: 300ms}
`, endless(t)))
	resp, err := h.client(false).Get(httpsURL("shop.example.com", "/capped"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Errorf("an exchange past max_duration ended cleanly")
	}
	if l := logFor(t, h, "/capped"); l["cut"] != cutMaxDuration {
		t.Errorf("access log: %v, want cut %s", l, cutMaxDuration)
	}
}

func TestWebSocketStreamIdleAndHSTS(t *testing.T) {
	t.Parallel()
	h := startEdge(t, streamApp(newUpgradeEcho(t), "client_idle: 100ms, stream_idle: 600ms"))
	conn, br, resp := wsHandshake(t, h, "/ws")
	if resp.StatusCode != 101 {
		t.Fatalf("upgrade: %d, want 101", resp.StatusCode)
	}
	if got := resp.Header.Values("Strict-Transport-Security"); len(got) != 1 || got[0] != "max-age=31536000" {
		t.Errorf("101 of a Force-HTTPS app over HTTPS: Strict-Transport-Security %q, want one max-age=31536000", got)
	}
	// Traffic every 200ms for 1.4s: past client_idle and stream_idle
	// as a whole, never silent for stream_idle.
	for i := range 7 {
		time.Sleep(200 * time.Millisecond)
		msg := fmt.Sprintf("m%d", i)
		io.WriteString(conn, msg)
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(br, buf); err != nil {
			t.Fatalf("a tunnel in use was cut after %d messages: %v", i, err)
		}
	}
	// Silent: closed after stream_idle.
	if _, err := br.ReadByte(); err == nil {
		t.Errorf("a silent tunnel sent a byte")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("a silent tunnel was not closed")
	}
	if l := logFor(t, h, "/ws"); l["cut"] != cutStreamIdle || l["status"] != 101.0 {
		t.Errorf("access log: %v, want 101 with cut %s", l, cutStreamIdle)
	}
}

func TestWebSocketNoHSTSOverPlainHTTP(t *testing.T) {
	t.Parallel()
	h := startEdge(t, fmt.Sprintf(`
apps:
  - name: p
    domains: [plain.example.com]
    upstream: %s
    force_https: false
    hsts: {revoke: true}
`, newUpgradeEcho(t)))
	conn, err := net.Dial("tcp", h.addrs.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: plain.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("plain-HTTP upgrade: %d with Strict-Transport-Security %q, want 101 without", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
}

func TestGRPCDeadApp(t *testing.T) {
	t.Parallel()
	h := startEdge(t, streamApp("h2c://"+testutil.ClosedAddr(t), "upstream_dial: 2s"))
	req, _ := http.NewRequest("POST", httpsURL("shop.example.com", "/pkg.Service/Method"), strings.NewReader("\x00\x00\x00\x00\x00"))
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	resp, err := h.client(true).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Grpc-Status") != "14" || resp.Header.Get("Grpc-Message") == "" ||
		resp.Header.Get("Content-Type") != "application/grpc" || len(b) != 0 {
		t.Errorf("gRPC call to a dead app: %d %v %q, want a trailers-only answer with grpc-status 14", resp.StatusCode, resp.Header, b)
	}
	if l := logFor(t, h, "/pkg.Service/Method"); l["grpc_status"] != "14" || l["upstream_error"] != kindConnect {
		t.Errorf("access log: %v, want grpc_status 14 and upstream_error %s", l, kindConnect)
	}
	// Another client gets the usual page.
	resp, body := h.get(h.client(true), httpsURL("shop.example.com", "/"))
	if resp.StatusCode != 502 || !strings.Contains(body, "502 Bad Gateway") {
		t.Errorf("plain request to a dead app: %d %q, want 502", resp.StatusCode, body)
	}
}

// TestMalformedBodyIsAnswered checks that a request body that cannot be
// read, from a client still waiting, gets an error: a handler that
// returned without a word would make net/http send an empty 200.
func TestMalformedBodyIsAnswered(t *testing.T) {
	t.Parallel()
	app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		io.WriteString(w, "read it all")
	}))
	h := startEdge(t, streamApp(app, "client_idle: 5s"))
	conn, err := tls.Dial("tcp", h.addrs.HTTPS, &tls.Config{RootCAs: testRoot, ServerName: "shop.example.com", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	// "zz" is not a chunk size.
	io.WriteString(conn, "POST /malformed HTTP/1.1\r\nHost: shop.example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a malformed body: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "Request ID") {
		t.Errorf("malformed chunked body: %d %q, want 400 with the request ID", resp.StatusCode, b)
	}
	if l := logFor(t, h, "/malformed"); l["status"] != 400.0 || l["upstream_error"] != kindBadBody {
		t.Errorf("access log: %v, want 400 with upstream_error %s", l, kindBadBody)
	}
}

// TestUpgradeRefusedIsLoggedAsSuch checks that an app's 101 the edge
// refuses to pass on (it switches to another protocol than the one asked
// for) is logged with the 502 the client gets, not as a 101.
func TestUpgradeRefusedIsLoggedAsSuch(t *testing.T) {
	t.Parallel()
	app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: not-websocket\r\n\r\n")
		brw.Flush()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		c.Read(make([]byte, 1)) // until the edge closes it
	}))
	h := startEdge(t, streamApp(app, "client_idle: 5s"))
	_, _, resp := wsHandshake(t, h, "/switch")
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("an app switching to another protocol: %d, want 502", resp.StatusCode)
	}
	if l := logFor(t, h, "/switch"); l["status"] != 502.0 {
		t.Errorf("access log: %v, want status 502", l)
	}
}

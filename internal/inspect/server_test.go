package inspect

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps"
)

// startServer serves h with NewServer on a loopback port and returns its
// base URL; the server is shut down when the test ends.
func startServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := NewServer(h, discard)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// rawRequest sends a request with one header of the given size over a new
// connection and returns the status code of the answer.
func rawRequest(t *testing.T, addr string, headers []string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("GET /headers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	// Write in the background: the server may answer before it has read
	// everything.
	werr := make(chan error, 1)
	go func() {
		_, err := io.WriteString(conn, b.String())
		werr <- err
	}()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	conn.Close()
	<-werr // a write error after the answer is expected for oversized requests
	return res.StatusCode
}

// TestServerLimits runs the inspector behind the middleware on a real
// loopback server: a large but legal request is served, one whose header
// exceeds MaxHeaderBytes gets 431 from net/http, and the server keeps
// serving afterwards.
func TestServerLimits(t *testing.T) {
	t.Parallel()
	insp, m := newInspector(t, forcehttps.Config{}, Options{})
	base := startServer(t, m.Handler(insp))
	addr := strings.TrimPrefix(base, "http://")

	var hundred []string
	for i := range 100 {
		hundred = append(hundred, fmt.Sprintf("X-Header-%03d: value %d", i, i))
	}
	tests := []struct {
		name    string
		headers []string
		status  int
	}{
		{"100 headers", hundred, http.StatusOK},
		{"8 KiB value", []string{"X-Long: " + strings.Repeat("a", 8<<10)}, http.StatusOK},
		{"twice the limit", []string{"X-Huge: " + strings.Repeat("a", 2*MaxHeaderBytes)}, http.StatusRequestHeaderFieldsTooLarge},
		{"many lines over the limit", func() []string {
			var h []string
			for i := range 2000 {
				h = append(h, fmt.Sprintf("X-Pad-%04d: %s", i, strings.Repeat("b", 64)))
			}
			return h
		}(), http.StatusRequestHeaderFieldsTooLarge},
		{"still serving", nil, http.StatusOK},
	}
	for _, tt := range tests { // in order: the last case checks the server survived
		if got := rawRequest(t, addr, tt.headers); got != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.status)
		}
	}

	// And through a client, the 8 KiB value comes back whole in the report.
	req, err := http.NewRequest(http.MethodGet, base+"/headers.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("0123456789", 820)
	req.Header.Set("X-Long", long)
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET /headers.json: %v", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeReport(t, string(body)).Headers["X-Long"]; len(got) != 1 || got[0] != long {
		t.Errorf("X-Long came back as %d values, want the 8 KiB value", len(got))
	}
}

func TestNewServerLimits(t *testing.T) {
	t.Parallel()
	srv := NewServer(http.NotFoundHandler(), nil)
	if srv.MaxHeaderBytes != 64<<10 || srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 ||
		srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.ErrorLog == nil {
		t.Errorf("NewServer: MaxHeaderBytes %d, timeouts %v %v %v %v, ErrorLog %v",
			srv.MaxHeaderBytes, srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.ErrorLog)
	}
}

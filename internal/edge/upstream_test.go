package edge

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawApp is an app on loopback that answers each request with the raw
// bytes its path names (see answers), closing the connection after the
// answers that end by close. It counts the connections it accepted.
func rawApp(t *testing.T, answers map[string]string) (addr string, conns *atomic.Int64) {
	t.Helper()
	return scriptedApp(t, func(head string) string {
		if answer, ok := answers[strings.Fields(head)[1]]; ok {
			return answer
		}
		return "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
	})
}

// scriptedApp is an app on loopback that reads each request (its head,
// then its body as read by readRawBody) and writes the raw bytes answer
// returns for it,
// waiting 30ms at each "<pause>" in them, then closes the connection if
// they end with "<close>". It counts the connections it accepted, and
// closes them when the test ends.
func scriptedApp(t *testing.T, answer func(head string) string) (addr string, conns *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range open {
			c.Close()
		}
	})
	conns = new(atomic.Int64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					c.SetReadDeadline(time.Now().Add(10 * time.Second))
					head, err := readHead(br)
					if err != nil {
						return
					}
					body, err := readRawBody(br, head)
					if err != nil {
						return
					}
					a := answer(head + body)
					for i, part := range strings.Split(strings.TrimSuffix(a, "<close>"), "<pause>") {
						if i > 0 {
							time.Sleep(30 * time.Millisecond)
						}
						if _, err := io.WriteString(c, part); err != nil {
							return
						}
					}
					if strings.HasSuffix(a, "<close>") {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), conns
}

// readRawBody reads the body of a request whose head is head, as it
// came: Content-Length bytes, or chunks up to and with the trailer
// section's empty line.
func readRawBody(br *bufio.Reader, head string) (string, error) {
	var length int64
	chunked := false
	for _, l := range strings.Split(head, "\r\n") {
		k, v, _ := strings.Cut(l, ":")
		switch v = strings.TrimSpace(v); {
		case strings.EqualFold(k, "Content-Length"):
			length, _ = strconv.ParseInt(v, 10, 64)
		case strings.EqualFold(k, "Transfer-Encoding"):
			chunked = strings.EqualFold(v, "chunked")
		}
	}
	var body strings.Builder
	if !chunked {
		_, err := io.CopyN(&body, br, length)
		return body.String(), err
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		body.WriteString(line)
		size, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(line, ";", 2)[0]), 16, 64)
		if err != nil {
			return "", err
		}
		if size == 0 {
			trailer, err := readHead(br)
			return body.String() + trailer, err
		}
		if _, err := io.CopyN(&body, br, size+2); err != nil {
			return "", err
		}
	}
}

// readHead reads a message head, up to and with its empty line.
func readHead(br *bufio.Reader) (string, error) {
	var head strings.Builder
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		head.WriteString(l)
		if l == "\r\n" {
			return head.String(), nil
		}
	}
}

// TestLeanProxy checks the proxy's lean upstream path end to end, over
// HTTP/1.1 and HTTP/2: connection reuse, hop-by-hop fields named by
// Connection, HSTS and the request ID, a 502 for an ambiguous framing,
// and an upstream dying mid-body seen by the client as a failed
// response, never a complete one.
func TestLeanProxy(t *testing.T) {
	t.Parallel()
	addr, conns := rawApp(t, map[string]string{
		"/ok":      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
		"/chunked": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
		"/hop":     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok",
		"/smuggle": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"/short":   "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nonly ten b<close>",
		"/eof":     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close<close>",
	})
	h := startEdge(t, fmt.Sprintf(`
apps:
  - {name: raw, domains: [shop.example.com], upstream: "http://%s", force_https: true}
`, addr))
	for _, h2 := range []bool{false, true} {
		c := h.client(h2)
		for _, tt := range []struct{ path, body string }{{"/ok", "hello"}, {"/chunked", "abcdef"}, {"/eof", "until close"}} {
			for range 3 {
				resp, body := h.get(c, httpsURL("shop.example.com", tt.path))
				if resp.StatusCode != 200 || body != tt.body || resp.Header.Get("Strict-Transport-Security") == "" || resp.Header.Get("X-Request-Id") == "" {
					t.Errorf("h2=%v %s: %d %q %v", h2, tt.path, resp.StatusCode, body, resp.Header)
				}
			}
		}
		resp, body := h.get(c, httpsURL("shop.example.com", "/hop"))
		if resp.StatusCode != 200 || body != "ok" || resp.Header.Get("X-Secret") != "" || resp.Header.Get("Keep-Alive") != "" {
			t.Errorf("h2=%v /hop: %d %q %v: the fields Connection names must not reach the client", h2, resp.StatusCode, body, resp.Header)
		}
		resp, body = h.get(c, httpsURL("shop.example.com", "/smuggle"))
		if resp.StatusCode != 502 || !strings.Contains(body, "502 Bad Gateway") {
			t.Errorf("h2=%v /smuggle: %d %q, want 502", h2, resp.StatusCode, body)
		}
		req, _ := http.NewRequest("GET", httpsURL("shop.example.com", "/short"), nil)
		if resp, err := c.Do(req); err == nil {
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				t.Errorf("h2=%v /short: read %q as a complete body", h2, b)
			}
		}
	}
	// /ok and /chunked reuse connections: far fewer than the 12 requests
	// of theirs, plus one per /eof, /short and /smuggle.
	if n := conns.Load(); n > 3*2+2*3+4 {
		t.Errorf("%d connections to the app: keep-alive is not reused", n)
	}
	if got := h.metric(`forcehttps_edge_upstream_errors_total{app="raw",kind="response"}`); got != 2 {
		t.Errorf("upstream_errors_total{kind=response} = %v, want 2 (the smuggling attempts)", got)
	}
	var cuts int
	for _, l := range h.access.waitLines(t, 2*(9+3)) {
		if l["path"] == "/short" && l["cut"] == cutUpstreamReset {
			cuts++
		}
	}
	if cuts != 2 {
		t.Errorf("%d /short requests logged with cut=upstream_reset, want 2", cuts)
	}
}

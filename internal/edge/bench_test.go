package edge

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/accesslog"
	"github.com/forcehttps/forcehttps/internal/h1"
)

// benchServer returns a listening (not serving) edge whose handlers the
// benchmarks call in memory, with the access log on and discarded: JSON
// lines, written as access_log's default format writes them.
func benchServer(b *testing.B, upstream string) *Server {
	b.Helper()
	s := benchEdge(b, fmt.Sprintf(`
apps:
  - {name: shop, domains: [shop.example.com, "*.shop.example.com"], upstream: %q}
`, upstream), nil)
	s.access = accesslog.NewJSON(io.Discard)
	return s
}

// benchEdge returns a listening (not serving) edge for the apps section
// apps, with the given access log (nil: none).
func benchEdge(b *testing.B, apps string, access *slog.Logger) *Server {
	b.Helper()
	loadTestCert()
	c := mustParse(b, base+apps)
	s, err := New(c, &testCerts{}, WithLogger(slog.New(slog.DiscardHandler)), WithAccessLog(access))
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmark measures the edge, not a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkRedirect measures a plain-HTTP request answered with a
// redirect: routing, the policy decision, the response, the access log
// line and the metrics.
func BenchmarkRedirect(b *testing.B) {
	s := benchServer(b, "http://127.0.0.1:1")
	r := httptest.NewRequest("GET", "http://shop.example.com/cart?id=7", nil)
	r.RemoteAddr = "192.0.2.1:50000"
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		s.serveHTTP(w, r)
	}
	if w.h.Get("Location") != "https://shop.example.com:"+fmt.Sprint(s.httpsPort)+"/cart?id=7" {
		b.Fatalf("not a redirect: %v", w.h)
	}
}

// BenchmarkStaticHTTPS measures an HTTPS request answered by the edge
// itself (a respond entry): routing, the SNI check, the policy with HSTS,
// the answer and the metrics, with the access log off.
func BenchmarkStaticHTTPS(b *testing.B) {
	s := benchEdge(b, `
apps:
  - name: shop
    domains: [shop.example.com]
    upstream: "http://127.0.0.1:1"
    respond: [{path: /health, body: "ok\n"}]
`, nil)
	h := loopHTTPS(b, s, "https://shop.example.com/health")
	if h.Get("Strict-Transport-Security") != "max-age=31536000" || h.Get("Content-Length") != "3" {
		b.Fatalf("not answered with HSTS: %v", h)
	}
}

// loopHTTPS serves a GET for url over (pretended) TLS 1.3 b.N times, and
// returns the header of the last response.
func loopHTTPS(b *testing.B, s *Server, url string) http.Header {
	r := httptest.NewRequest("GET", url, nil)
	r.RemoteAddr = "192.0.2.1:50000"
	r.TLS = &tls.ConnectionState{ServerName: "shop.example.com", Version: tls.VersionTLS13, HandshakeComplete: true}
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		s.serveHTTPS(w, r)
	}
	return w.h
}

// BenchmarkProxy measures an HTTPS request proxied to a loopback app:
// the edge's work plus one keep-alive round trip.
func BenchmarkProxy(b *testing.B) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	b.Cleanup(app.Close)
	s := benchServer(b, app.URL)
	h := loopHTTPS(b, s, "https://shop.example.com/")
	if h.Get("Strict-Transport-Security") != "max-age=31536000" {
		b.Fatalf("not proxied with HSTS: %v", h)
	}
}

// BenchmarkFastPathRedirect measures the plain-HTTP fast path in memory:
// one keep-alive connection whose every read returns the same request,
// through package h1's parser, the edge's answer and the response
// writer; the writes are discarded. What is left out is the system calls.
func BenchmarkFastPathRedirect(b *testing.B) {
	s := benchServer(b, "http://127.0.0.1:1")
	s.access = nil // as with access_log: {output: "off"}
	if last := loopFastPath(b, s.answerHTTP); !bytes.HasPrefix(last, []byte("HTTP/1.1 301 ")) {
		b.Fatalf("not a redirect: %q", last)
	}
}

// loopFastPath serves b.N requests for shop.example.com with answer on
// one in-memory keep-alive connection through package h1, and returns
// the last write.
func loopFastPath(b *testing.B, answer func(http.ResponseWriter, *http.Request) bool) []byte {
	request := []byte("GET /cart?id=7 HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	fc := &loopConn{req: request, n: b.N, start: make(chan struct{}, 1), done: make(chan struct{})}
	f := &h1.Server{Answer: answer, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, WriteTimeout: time.Minute}
	ln, err := f.Listen(&oneConnListener{c: fc, closed: make(chan struct{})})
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	b.ReportAllocs()
	b.ResetTimer()
	fc.start <- struct{}{}
	<-fc.done
	b.StopTimer()
	return fc.last
}

// BenchmarkFastPathProxy measures a proxied request on the fast path's
// connection loop in memory (as BenchmarkFastPathRedirect), with one
// keep-alive round trip to a loopback app: package h1's parser and
// response writer, the edge's policy and proxy, the upstream client.
func BenchmarkFastPathProxy(b *testing.B) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	b.Cleanup(app.Close)
	s := benchServer(b, app.URL)
	s.access = nil
	// TLS is pretended, as in loopHTTPS: the connection is in memory.
	st := &tls.ConnectionState{ServerName: "shop.example.com", Version: tls.VersionTLS13, HandshakeComplete: true}
	last := loopFastPath(b, func(w http.ResponseWriter, r *http.Request) bool {
		r.TLS = st
		return s.answerHTTPS(w, r)
	})
	if !bytes.HasPrefix(last, []byte("HTTP/1.1 200 ")) || !bytes.HasSuffix(last, []byte("hello")) {
		b.Fatalf("not proxied: %q", last)
	}
}

// loopConn is a connection whose reads return req n times, then EOF:
// a stream of n requests, each read returning at most the rest of the
// current one. A short read (the client watch's one byte, when a request
// takes long on a loaded machine) takes only what it asked for, as a
// socket would.
type loopConn struct {
	net.Conn
	req   []byte
	n     int
	pos   int // bytes of the current request already read
	last  []byte
	start chan struct{}
	done  chan struct{}
	once  sync.Once
}

func (c *loopConn) Read(p []byte) (int, error) {
	if c.start != nil {
		<-c.start
		c.start = nil
	}
	if c.n == 0 {
		return 0, io.EOF
	}
	k := copy(p, c.req[c.pos:])
	if c.pos += k; c.pos == len(c.req) {
		c.pos = 0
		c.n--
	}
	return k, nil
}

func (c *loopConn) Write(p []byte) (int, error) {
	c.last = append(c.last[:0], p...)
	return len(p), nil
}

func (c *loopConn) Close() error                     { c.once.Do(func() { close(c.done) }); return nil }
func (c *loopConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 5000} }
func (c *loopConn) SetDeadline(time.Time) error      { return nil }
func (c *loopConn) SetReadDeadline(time.Time) error  { return nil }
func (c *loopConn) SetWriteDeadline(time.Time) error { return nil }

// oneConnListener accepts one connection, when the benchmark starts.
type oneConnListener struct {
	c      *loopConn
	served bool
	closed chan struct{}
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	if !l.served {
		l.served = true
		return l.c, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error   { close(l.closed); return nil }
func (l *oneConnListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

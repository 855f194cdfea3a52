package h1

import (
	"bufio"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

// BenchmarkTLSKeepAlive measures one request after another on a kept-
// alive TLS connection answered by the fast path: the server's work
// plus the client's, over loopback.
func BenchmarkTLSKeepAlive(b *testing.B) {
	ca := testutil.NewCA(b, testutil.CAOptions{Name: "h1 bench CA"})
	leaf := ca.Issue(b, testutil.LeafOptions{Names: []string{"example.com"}})
	fast := &Server{
		Answer: func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
			io.WriteString(w, "ok\n")
			return true
		},
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}, NextProtos: []string{"http/1.1"}},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		Logger:            slog.New(slog.DiscardHandler),
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ln, err := fast.Listen(inner)
	if err != nil {
		b.Fatal(err)
	}
	defer fast.Close()
	defer ln.Close()
	c, err := tls.Dial("tcp", inner.Addr().String(), &tls.Config{RootCAs: ca.Pool(), ServerName: "example.com", NextProtos: []string{"http/1.1"}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	request := []byte("GET /health HTTP/1.1\r\nHost: example.com\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	br := bufio.NewReader(c)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(request); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

package h1

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/h2"
	"github.com/forcehttps/forcehttps/internal/testutil"
)

// TestHTTP2Server: with Server.HTTP2 set, a connection that negotiated
// h2 is served by it, with its TLS state; Shutdown lets its running
// stream finish, then returns.
func TestHTTP2Server(t *testing.T) {
	t.Parallel()
	ca := testutil.NewCA(t, testutil.CAOptions{Name: "h1 h2 test CA"})
	leaf := ca.Issue(t, testutil.LeafOptions{Names: []string{"example.com"}})
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	h2srv := &h2.Server{Logger: slog.New(slog.DiscardHandler), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started <- struct{}{}
			<-release
		}
		io.WriteString(w, r.Proto+" tls="+r.TLS.NegotiatedProtocol)
	})}
	fast := &Server{
		Answer:    func(http.ResponseWriter, *http.Request) bool { return false },
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}, NextProtos: []string{"h2", "http/1.1"}},
		Logger:    slog.New(slog.DiscardHandler),
		HTTP2:     h2srv,
	}
	addr := listenFastWith(t, fast, &http.Server{Handler: http.NotFoundHandler(), ErrorLog: discardLog()})
	c := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "example.com", NextProtos: []string{"h2"}}, ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		}}}
	defer c.CloseIdleConnections()
	get := func(path string) string {
		resp, err := c.Get("https://example.com" + path)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get("/"); got != "HTTP/2.0 tls=h2" {
		t.Fatalf("got %q", got)
	}
	slow := make(chan string)
	go func() { slow <- get("/slow") }()
	<-started
	done := make(chan error)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- fast.Shutdown(ctx)
	}()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) while a stream ran", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if got := <-slow; !strings.HasPrefix(got, "HTTP/2.0") {
		t.Fatalf("the running stream got %q", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

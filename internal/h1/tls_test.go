package h1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/testutil"
	"github.com/google/go-cmp/cmp"
)

// tlsPair is servedTLS's result: the same handler behind the fast path
// with TLS, and behind http.Server.ServeTLS alone.
type tlsPair struct {
	fast, slow string
	client     *tls.Config
	answered   *atomic.Int64
	srv        *Server // the fast path
}

func serveTLS(t *testing.T, h http.Handler) tlsPair {
	t.Helper()
	ca := testutil.NewCA(t, testutil.CAOptions{Name: "h1 test CA"})
	leaf := ca.Issue(t, testutil.LeafOptions{Names: []string{"example.com", "127.0.0.1"}})
	cfg := &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}, NextProtos: []string{"h2", "http/1.1"}}
	var answered atomic.Int64
	fast := &Server{
		Answer: func(w http.ResponseWriter, r *http.Request) bool {
			answered.Add(1)
			h.ServeHTTP(w, r)
			return true
		},
		TLSConfig:         cfg,
		ReadHeaderTimeout: 5 * time.Second,
		Logger:            slog.New(slog.DiscardHandler),
	}
	// net/http configures HTTP/2 by writing to its TLSConfig: its own copy.
	fastAddr := listenFastWith(t, fast, &http.Server{Handler: RestoreTLS(h), ConnContext: ConnContext, TLSConfig: cfg.Clone(), ErrorLog: discardLog()})
	slowLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	slow := &http.Server{Handler: h, TLSConfig: cfg.Clone(), ErrorLog: discardLog()}
	go slow.ServeTLS(slowLn, "", "")
	t.Cleanup(func() { slow.Close() })
	return tlsPair{
		fast: fastAddr, slow: slowLn.Addr().String(), answered: &answered, srv: fast,
		client: &tls.Config{RootCAs: ca.Pool(), ServerName: "example.com", NextProtos: []string{"http/1.1"}},
	}
}

// exchangeTLS is exchange over TLS.
func exchangeTLS(t *testing.T, addr string, cfg *tls.Config, raw string, methods ...string) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return dateRE.ReplaceAllString(testutil.Exchange(t, c, raw, methods...), "Date: <date>")
}

// tlsEcho is echo plus what the handler sees of the connection's TLS.
var tlsEcho = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.TLS != nil {
		w.Header().Set("X-TLS", r.TLS.ServerName+" "+tls.VersionName(r.TLS.Version)+" "+r.TLS.NegotiatedProtocol)
	}
	echo(w, r)
})

// TestSameAsNetHTTPOverTLS: behind TLS too, the fast path and net/http
// answer alike, and requests on connections handed over keep r.TLS.
func TestSameAsNetHTTPOverTLS(t *testing.T) {
	t.Parallel()
	s := serveTLS(t, tlsEcho)
	for _, rq := range requests {
		slow := exchangeTLS(t, s.slow, s.client, rq.raw, rq.methods...)
		before := s.answered.Load()
		got := exchangeTLS(t, s.fast, s.client, rq.raw, rq.methods...)
		if diff := cmp.Diff(slow, got); diff != "" {
			t.Errorf("%s: response mismatch (-net/http +fast path):\n%s", rq.name, diff)
		}
		if n := s.answered.Load() - before; n != int64(rq.fast) {
			t.Errorf("%s: fast path answered %d requests, want %d", rq.name, n, rq.fast)
		}
		if strings.Contains(slow, "tls=true") && !strings.Contains(slow, "X-Tls: example.com") {
			t.Errorf("%s: the handler did not see the TLS state:\n%s", rq.name, slow)
		}
	}
}

// TestHTTP2GoesToNetHTTP: a connection that negotiated h2 is net/http's
// from the start, with its TLS state.
func TestHTTP2GoesToNetHTTP(t *testing.T) {
	t.Parallel()
	s := serveTLS(t, tlsEcho)
	cfg := s.client.Clone()
	cfg.NextProtos = []string{"h2"}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", s.fast)
		}}}
	defer c.CloseIdleConnections()
	resp, err := c.Get("https://example.com/h2")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.Header.Get("X-Tls") != "example.com TLS 1.3 h2" || !strings.Contains(string(body), "tls=true") {
		t.Errorf("h2 request: %s, X-Tls %q, body:\n%s", resp.Proto, resp.Header.Get("X-Tls"), body)
	}
	if n := s.answered.Load(); n != 0 {
		t.Errorf("fast path answered %d HTTP/2 requests", n)
	}
}

// TestTLSHandshakeFailure: a client that does not speak TLS, or gives up,
// is dropped without disturbing the others.
func TestTLSHandshakeFailure(t *testing.T) {
	t.Parallel()
	s := serveTLS(t, tlsEcho)
	c := dial(t, s.fast)
	io.WriteString(c, req("GET / HTTP/1.1", "Host: example.com"))
	b, _ := io.ReadAll(c)
	if bytes.Contains(b, []byte("HTTP/1.1 200")) {
		t.Errorf("plain HTTP on the TLS listener answered: %q", b)
	}
	if got := exchangeTLS(t, s.fast, s.client, req("GET / HTTP/1.1", "Host: example.com"), "GET"); !strings.HasPrefix(got, "HTTP/1.1 200 OK") {
		t.Errorf("after a failed handshake: %q", got)
	}
}

// TestTLSIdleBuffer: a TLS connection waits for its requests with a
// small buffer and keeps no scratch space while it waits; heads that
// come in pieces, in one record or several, longer than that buffer or
// not, are read whole, and the connection keeps serving after the wait
// that follows its first request, which runs in another goroutine.
func TestTLSIdleBuffer(t *testing.T) {
	t.Parallel()
	s := serveTLS(t, tlsEcho)
	long := sized(2*smallSize + 13)
	tests := []struct {
		name   string
		pieces []string
	}{
		{"one record", []string{long}},
		{"split at the buffer's size", []string{long[:smallSize], long[smallSize:]}},
		{"split before it", []string{long[:100], long[100:]}},
		{"byte by byte at the end", []string{long[:len(long)-3], long[len(long)-3 : len(long)-2], long[len(long)-2 : len(long)-1], long[len(long)-1:]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tls.Dial("tcp", s.fast, s.client)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for i := range 3 { // the first request, then two after waits
				for _, p := range tt.pieces {
					if _, err := io.WriteString(c, p); err != nil {
						t.Fatal(err)
					}
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(body), `X-Pad=["ppp`) {
					t.Fatalf("request %d: %s\n%s", i, resp.Status, body)
				}
				waitIdleWithoutScratch(t, s.srv)
			}
		})
	}
}

// waitIdleWithoutScratch waits until every connection of srv waits for
// a request, and checks that none holds scratch space then.
func waitIdleWithoutScratch(t *testing.T, srv *Server) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		srv.mu.Lock()
		idle, busy := 0, 0
		for c := range srv.conns {
			// A connection that just went idle may still be giving back
			// the buffer of its last read.
			if !c.idle.Load() || (c.rec != nil && c.rec.pooled.Load() != 0) {
				busy++
				continue
			}
			idle++
			if c.sc != nil || c.w.buf != nil || c.w.out != nil {
				t.Errorf("an idle TLS connection holds its scratch space or its response buffers")
			}
		}
		srv.mu.Unlock()
		if busy == 0 && idle > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("connections did not go idle, or kept their TLS record buffers: %d busy, %d idle", busy, idle)
		}
		time.Sleep(time.Millisecond)
	}
}

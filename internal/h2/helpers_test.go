package h2

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

var (
	caOnce sync.Once
	testCA *testutil.CA
	leaf   *testutil.Leaf
)

func testCert(t testing.TB) (*testutil.CA, tls.Certificate) {
	caOnce.Do(func() {
		testCA = testutil.NewCA(t, testutil.CAOptions{Name: "h2 test CA"})
		leaf = testCA.Issue(t, testutil.LeafOptions{Names: []string{"example.com", "127.0.0.1"}})
	})
	return testCA, leaf.TLSCertificate()
}

// harness is a Server on a loopback TLS listener.
type harness struct {
	srv    *Server
	addr   string
	client *tls.Config
	wg     sync.WaitGroup
	writes atomic.Int64 // write calls on the server's TCP connections
}

// countingConn counts the writes of a connection.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}

// start serves s (its Logger discarding unless set) on 127.0.0.1.
func start(t testing.TB, s *Server) *harness {
	t.Helper()
	ca, cert := testCert(t)
	if s.Logger == nil && s.ErrorLog == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{srv: s, addr: ln.Addr().String(),
		client: &tls.Config{RootCAs: ca.Pool(), ServerName: "example.com", NextProtos: []string{"h2"}}}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				tc := tls.Server(countingConn{nc, &h.writes}, cfg)
				tc.SetDeadline(time.Now().Add(5 * time.Second))
				if err := tc.Handshake(); err != nil {
					nc.Close()
					return
				}
				tc.SetDeadline(time.Time{})
				s.ServeConn(tc)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.Close()
		h.wg.Wait()
	})
	return h
}

// transport returns an HTTP/2 client of h, closed with the test.
func (h *harness) transport(t testing.TB) *http.Transport {
	tr := h2Transport(h.client.Clone())
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// h2Transport returns a client that speaks HTTP/2 only.
func h2Transport(cfg *tls.Config) *http.Transport {
	var p http.Protocols
	p.SetHTTP2(true)
	return &http.Transport{TLSClientConfig: cfg, Protocols: &p}
}

func (h *harness) url(path string) string { return "https://" + h.addr + path }

// dial opens a raw TLS connection that negotiated h2, with a Framer, and
// sends the preface and an empty SETTINGS frame (unless noPreface).
func (h *harness) dial(t testing.TB, noPreface bool) (*tls.Conn, *http2.Framer) {
	t.Helper()
	c, err := tls.Dial("tcp", h.addr, h.client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fr := http2.NewFramer(c, c)
	if !noPreface {
		if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
			t.Fatal(err)
		}
		if err := fr.WriteSettings(); err != nil {
			t.Fatal(err)
		}
	}
	return c, fr
}

// readUntil reads frames until match returns true, or fails the test at
// the connection's end.
func readUntil(t testing.TB, fr *http2.Framer, what string, match func(http2.Frame) bool) http2.Frame {
	t.Helper()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if match(f) {
			return f
		}
	}
}

// expectGoAway reads until a GOAWAY, which must carry code, then the
// connection's end.
func expectGoAway(t testing.TB, fr *http2.Framer, code http2.ErrCode) {
	t.Helper()
	f := readUntil(t, fr, "GOAWAY", func(f http2.Frame) bool { _, ok := f.(*http2.GoAwayFrame); return ok })
	if g := f.(*http2.GoAwayFrame); g.ErrCode != code {
		t.Fatalf("GOAWAY code %v, want %v", g.ErrCode, code)
	}
	for {
		_, err := fr.ReadFrame()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the connection stayed open after GOAWAY")
			}
			return
		}
	}
}

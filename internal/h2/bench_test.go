package h2

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// BenchmarkGET: small GETs, 64 at a time over one connection, to this
// server and to net/http's with the same handler.
func BenchmarkGET(b *testing.B) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello, world\n")
	})
	run := func(b *testing.B, url string, tr *http.Transport, writes *atomic.Int64) {
		b.Cleanup(tr.CloseIdleConnections)
		c := &http.Client{Transport: tr}
		get := func() {
			resp, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		get() // the connection
		b.ReportAllocs()
		b.SetParallelism(64)
		b.ResetTimer()
		start := writes.Load()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				get()
			}
		})
		b.ReportMetric(float64(writes.Load()-start)/float64(b.N), "writes/op")
	}
	b.Run("h2", func(b *testing.B) {
		h := start(b, &Server{Handler: handler})
		run(b, h.url("/"), h.transport(b), &h.writes)
	})
	b.Run("net-http", func(b *testing.B) {
		srv := httptest.NewUnstartedServer(handler)
		srv.EnableHTTP2 = true
		var writes atomic.Int64
		srv.Listener = countingListener{srv.Listener, &writes}
		srv.StartTLS()
		b.Cleanup(srv.Close)
		run(b, srv.URL+"/", h2Transport(&tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}), &writes)
	})
}

// countingListener counts the writes of the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.n}, nil
}

package h2

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkGET: small GETs, 64 at a time over one connection, to this
// server and to net/http's with the same handler.
func BenchmarkGET(b *testing.B) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello, world\n")
	})
	run := func(b *testing.B, url string, tr *http.Transport) {
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
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				get()
			}
		})
	}
	b.Run("h2", func(b *testing.B) {
		h := start(b, &Server{Handler: handler})
		run(b, h.url("/"), h.transport(b))
	})
	b.Run("net-http", func(b *testing.B) {
		srv := httptest.NewUnstartedServer(handler)
		srv.EnableHTTP2 = true
		srv.StartTLS()
		b.Cleanup(srv.Close)
		run(b, srv.URL+"/", h2Transport(&tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}))
	})
}

package h2_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"

	"github.com/forcehttps/forcehttps/internal/h2"
)

// An HTTP/2 server behind a TLS listener: each connection that
// negotiates h2 is handed to ServeConn.
func Example() {
	cert, pool := exampleCert()
	srv := &h2.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s over %s\n", r.Method, r.URL.Path, r.Proto)
	})}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}})
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				tc := c.(*tls.Conn)
				if tc.Handshake() != nil || tc.ConnectionState().NegotiatedProtocol != "h2" {
					tc.Close()
					return
				}
				srv.ServeConn(tc)
			}()
		}
	}()
	defer srv.Close()

	var protocols http.Protocols
	protocols.SetHTTP2(true)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "example.com"}, Protocols: &protocols}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + ln.Addr().(*net.TCPAddr).String() + "/hello")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.Status, " ", string(body))
	// Output: 200 OK GET /hello over HTTP/2.0
}

// exampleCert returns net/http/httptest's certificate (for example.com
// and 127.0.0.1) and a pool that trusts it.
func exampleCert() (tls.Certificate, *x509.CertPool) {
	ts := httptest.NewTLSServer(http.NotFoundHandler())
	defer ts.Close()
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return ts.TLS.Certificates[0], pool
}

package certs_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/forcehttps/forcehttps/internal/certs"
)

func ExampleNew() {
	m, err := certs.New(context.Background(), certs.Options{SelfSigned: []string{"localhost", "127.0.0.1", "::1"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	for _, c := range m.Certificates() {
		fmt.Println(c.Source, c.Names, c.Issuer)
	}
	fmt.Println(m.TLSConfig().NextProtos)
	// Output:
	// self-signed [localhost 127.0.0.1 ::1] forcehttps self-signed
	// [h2 http/1.1]
}

// The port 80 handler gives ACME HTTP-01 validation requests to the Manager
// before anything else; the port 443 server takes its TLS configuration.
func ExampleManager_HandleHTTPChallenge() {
	m, err := certs.New(context.Background(), certs.Options{SelfSigned: []string{"localhost"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	port80 := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.HandleHTTPChallenge(w, r) {
			return
		}
		http.Redirect(w, r, "https://"+r.Host+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
	port443 := &http.Server{TLSConfig: m.TLSConfig()} // then port443.ServeTLS(ln, "", "")
	_ = port443

	w := httptest.NewRecorder()
	port80.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://localhost/cart?id=7", nil))
	fmt.Println(w.Code, w.Header().Get("Location"))
	// Output: 301 https://localhost/cart?id=7
}

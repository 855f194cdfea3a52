// Command hello is the smallest app that uses the forcehttps middleware the
// way an app behind no proxy would: it serves plain HTTP on 127.0.0.1:8080,
// which the middleware redirects, and HTTPS on 127.0.0.1:8443 with a
// certificate generated at start, where the middleware adds HSTS and the
// security headers.
//
//	go run ./examples/hello
//	curl -sI http://localhost:8080/       # 301 to https://localhost:8443/
//	curl -skI https://localhost:8443/     # 200 with Strict-Transport-Security
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/forcehttps/forcehttps"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	m, err := forcehttps.New(forcehttps.Config{
		AllowedHosts:    []string{"localhost", "127.0.0.1"},
		IncludeDevHosts: true, // this demo forces HTTPS even for localhost
		HTTPSPort:       8443,
	})
	if err != nil {
		return err
	}
	app := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := m.Check(r)
		fmt.Fprintf(w, "hello over %s (%s)\n", r.Proto, d.Source)
	}))
	cert, err := selfSigned("localhost", "127.0.0.1")
	if err != nil {
		return err
	}
	servers := []*http.Server{
		{Addr: "127.0.0.1:8080", Handler: app, ReadHeaderTimeout: 10 * time.Second},
		{Addr: "127.0.0.1:8443", Handler: app, ReadHeaderTimeout: 10 * time.Second,
			TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}},
	}
	errc := make(chan error, len(servers))
	for _, s := range servers {
		go func() {
			var err error
			if s.TLSConfig != nil {
				err = s.ListenAndServeTLS("", "")
			} else {
				err = s.ListenAndServe()
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	slog.Info("listening", "http", "http://localhost:8080/", "https", "https://localhost:8443/")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		s.Shutdown(shutdown)
	}
	return nil
}

// selfSigned makes a throwaway ECDSA certificate for the given names.
func selfSigned(names ...string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

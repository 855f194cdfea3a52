package certs

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// serveTLS runs an HTTPS server with cfg on a loopback address of network
// ("tcp4" or "tcp6") and returns its address.
func serveTLS(t *testing.T, network string, cfg *tls.Config) string {
	t.Helper()
	host := "127.0.0.1"
	if network == "tcp6" {
		host = "[::1]"
	}
	ln, err := net.Listen(network, host+":0")
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(r.Proto)) }),
		TLSConfig:         cfg,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestSelfSigned(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	m, err := New(context.Background(), Options{
		SelfSigned: []string{"localhost", "127.0.0.1", "::1", "LOCALHOST"},
		Now:        func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	leaf := m.self.cert.Leaf
	key, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		t.Errorf("self-signed key is %T, want ECDSA P-256", leaf.PublicKey)
	}
	got := struct {
		DNS, IP             []string
		NotBefore, NotAfter time.Time
		Subject, Issuer     string
		CA                  bool
		ExtKeyUsage         []x509.ExtKeyUsage
	}{
		DNS:         leaf.DNSNames,
		NotBefore:   leaf.NotBefore,
		NotAfter:    leaf.NotAfter,
		Subject:     leaf.Subject.CommonName,
		Issuer:      leaf.Issuer.CommonName,
		CA:          leaf.IsCA,
		ExtKeyUsage: leaf.ExtKeyUsage,
	}
	for _, ip := range leaf.IPAddresses {
		got.IP = append(got.IP, ip.String())
	}
	want := got
	want.DNS = []string{"localhost"}
	want.IP = []string{"127.0.0.1", "::1"}
	want.NotBefore = time.Date(2030, 5, 6, 6, 8, 9, 0, time.UTC)
	want.NotAfter = want.NotBefore.Add(365 * 24 * time.Hour)
	want.Subject, want.Issuer = "forcehttps self-signed", "forcehttps self-signed"
	want.CA = false
	want.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("self-signed certificate mismatch (-want +got):\n%s", diff)
	}
	if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil {
		t.Errorf("self-signed certificate does not verify with its own key: %v", err)
	}
	wantInfo := []Info{{
		Names:    []string{"localhost", "127.0.0.1", "::1"},
		NotAfter: want.NotAfter,
		Source:   SourceSelfSigned,
		Issuer:   "forcehttps self-signed",
	}}
	if diff := cmp.Diff(wantInfo, m.Certificates()); diff != "" {
		t.Errorf("Certificates() mismatch (-want +got):\n%s", diff)
	}
}

func TestSelfSignedRejectsBadNames(t *testing.T) {
	t.Parallel()
	_, err := New(context.Background(), Options{SelfSigned: []string{"localhost", "bad name", "*.com"}})
	if err == nil {
		t.Fatal("New with bad self-signed names succeeded")
	}
	for _, n := range []string{`"bad name"`, `"*.com"`} {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("New error %q does not name %s", err, n)
		}
	}
}

// TestSelfSignedHandshake dials a real TLS server using the self-signed
// certificate, trusting only that certificate.
func TestSelfSignedHandshake(t *testing.T) {
	t.Parallel()
	m, err := New(context.Background(), Options{SelfSigned: []string{"localhost", "127.0.0.1", "::1"}})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(m.self.cert.Leaf)
	tests := []struct {
		name, network, serverName string
	}{
		{"by name", "tcp4", "localhost"},
		{"by ipv4, no sni", "tcp4", "127.0.0.1"},
		{"by ipv6, no sni", "tcp6", "::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := serveTLS(t, tt.network, m.TLSConfig())
			conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: tt.serverName, RootCAs: roots, NextProtos: []string{"h2", "http/1.1"}})
			if err != nil {
				t.Fatalf("tls.Dial(%s, ServerName %q): %v", addr, tt.serverName, err)
			}
			defer conn.Close()
			if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
				t.Errorf("negotiated protocol %q, want h2", p)
			}
		})
	}
}

func TestTLSConfig(t *testing.T) {
	t.Parallel()
	selfOnly, err := New(context.Background(), Options{SelfSigned: []string{"localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		m      *Manager
		protos []string
	}{
		{"without acme", selfOnly, []string{"h2", "http/1.1"}},
		{"acme", newOfflineACME(t, ACME{}), []string{"h2", "http/1.1", "acme-tls/1"}},
		{"acme without tls-alpn-01", newOfflineACME(t, ACME{DisableTLSALPNChallenge: true}), []string{"h2", "http/1.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tt.m.TLSConfig()
			if c.MinVersion != tls.VersionTLS12 {
				t.Errorf("MinVersion = %x, want TLS 1.2", c.MinVersion)
			}
			if diff := cmp.Diff(tt.protos, c.NextProtos); diff != "" {
				t.Errorf("NextProtos mismatch (-want +got):\n%s", diff)
			}
			if c.SessionTicketsDisabled {
				t.Error("session tickets disabled")
			}
			if c.GetCertificate == nil {
				t.Error("GetCertificate is nil")
			}
			if len(c.CipherSuites) == 0 {
				t.Error("no cipher suites listed")
			}
			for _, id := range c.CipherSuites {
				n := tls.CipherSuiteName(id)
				aead := strings.Contains(n, "_GCM_") || strings.Contains(n, "CHACHA20_POLY1305")
				if !strings.HasPrefix(n, "TLS_ECDHE_") || !aead {
					t.Errorf("cipher suite %s is not ECDHE with AEAD", n)
				}
			}
			if slices.Contains(c.CipherSuites, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA) {
				t.Error("CBC suite enabled")
			}
			c.NextProtos[0] = "changed"
			if tt.m.TLSConfig().NextProtos[0] != "h2" {
				t.Error("TLSConfig returns shared slices")
			}
		})
	}
}

func TestTLSVersions(t *testing.T) {
	t.Parallel()
	m, err := New(context.Background(), Options{SelfSigned: []string{"localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, "tcp4", m.TLSConfig())
	tests := []struct {
		name     string
		max      uint16
		suites   []uint16
		wantFail bool
	}{
		{"tls 1.3", tls.VersionTLS13, nil, false},
		{"tls 1.2 aead", tls.VersionTLS12, nil, false},
		{"tls 1.2 cbc only", tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}, true},
		{"tls 1.1", tls.VersionTLS11, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn, err := tls.Dial("tcp", addr, &tls.Config{
				ServerName:         "localhost",
				InsecureSkipVerify: true, // the versions are under test, not the certificate
				MinVersion:         tls.VersionTLS10,
				MaxVersion:         tt.max,
				CipherSuites:       tt.suites,
			})
			if err == nil {
				conn.Close()
			}
			if gotFail := err != nil; gotFail != tt.wantFail {
				t.Errorf("handshake error %v, want failure %v", err, tt.wantFail)
			}
		})
	}
}

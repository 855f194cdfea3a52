package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"testing"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

func hello(sni string) *tls.ClientHelloInfo { return &tls.ClientHelloInfo{ServerName: sni} }

// fakeConn is a connection that only has addresses.
type fakeConn struct {
	net.Conn
	local net.Addr
}

func (c fakeConn) LocalAddr() net.Addr  { return c.local }
func (c fakeConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40000} }

func helloOn(localIP string) *tls.ClientHelloInfo {
	return &tls.ClientHelloInfo{Conn: fakeConn{local: &net.TCPAddr{IP: net.ParseIP(localIP), Port: 443}}}
}

// selectionFixture is a Manager with several files and a self-signed
// certificate, and a name for each certificate it can serve.
type selectionFixture struct {
	m      *Manager
	labels map[*x509.Certificate]string
}

func newSelectionFixture(t testing.TB) selectionFixture {
	t.Helper()
	ca := testutil.NewCA(t, testutil.CAOptions{})
	dir := t.TempDir()
	files := []struct {
		label string
		opts  testutil.LeafOptions
	}{
		{"www", testutil.LeafOptions{Names: []string{"www.example.test", "example.test"}}},
		{"wildcard", testutil.LeafOptions{Names: []string{"*.example.test"}}},
		{"api", testutil.LeafOptions{Names: []string{"api.example.test"}}},
		{"dual-ecdsa", testutil.LeafOptions{Names: []string{"dual.example.test"}}},
		{"dual-rsa", testutil.LeafOptions{Names: []string{"dual.example.test"}, RSABits: 2048}},
		{"ip", testutil.LeafOptions{Names: []string{"192.0.2.10"}}},
	}
	var pairs []Pair
	for _, f := range files {
		leaf := ca.Issue(t, f.opts)
		pairs = append(pairs, writePair(t, dir, f.label, leaf.ChainPEM(), leaf.KeyPEM()))
	}
	m, err := New(context.Background(), Options{
		Files:      pairs,
		SelfSigned: []string{"localhost", "127.0.0.1", "::1", "*.dev.test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	fx := selectionFixture{m: m, labels: map[*x509.Certificate]string{m.self.cert.Leaf: "self"}}
	for i, e := range m.files.Load().entries {
		fx.labels[e.cert.Leaf] = files[i].label
	}
	return fx
}

func (fx selectionFixture) label(c *tls.Certificate, err error) string {
	if err != nil {
		return "error"
	}
	if l, ok := fx.labels[c.Leaf]; ok {
		return l
	}
	return "unknown certificate"
}

// rsaOnlyHello is a TLS 1.2 client that can only verify RSA signatures.
func rsaOnlyHello(sni string) *tls.ClientHelloInfo {
	return &tls.ClientHelloInfo{
		ServerName:        sni,
		SupportedVersions: []uint16{tls.VersionTLS12},
		CipherSuites:      []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
		SignatureSchemes:  []tls.SignatureScheme{tls.PSSWithSHA256, tls.PKCS1WithSHA256},
		SupportedCurves:   []tls.CurveID{tls.X25519, tls.CurveP256},
		SupportedPoints:   []uint8{0},
	}
}

func TestGetCertificateSelection(t *testing.T) {
	t.Parallel()
	fx := newSelectionFixture(t)
	tests := []struct {
		name  string
		hello *tls.ClientHelloInfo
		want  string
	}{
		{"exact", hello("www.example.test"), "www"},
		{"exact apex not covered by wildcard", hello("example.test"), "www"},
		{"exact beats an earlier wildcard", hello("api.example.test"), "api"},
		{"wildcard one label", hello("shop.example.test"), "wildcard"},
		{"wildcard not two labels", hello("a.shop.example.test"), "www"},
		{"uppercase", hello("WWW.Example.TEST"), "www"},
		{"uppercase wildcard", hello("SHOP.EXAMPLE.TEST"), "wildcard"},
		{"trailing dot", hello("www.example.test."), "www"},
		{"unknown name gets the default", hello("unknown.test"), "www"},
		{"invalid name gets the default", hello("bad name!"), "www"},
		{"non-ascii name gets the default", hello("\x8e.example.test"), "www"},
		{"u-label name gets the default", hello("b\u00fccher.example.test"), "www"},
		{"a-label name", hello("xn--bcher-kva.example.test"), "wildcard"},
		{"self-signed exact", hello("localhost"), "self"},
		{"self-signed wildcard", hello("app.dev.test"), "self"},
		{"ip literal sni", hello("192.0.2.10"), "ip"},
		{"no sni on an ip a file names", helloOn("192.0.2.10"), "ip"},
		{"no sni on loopback", helloOn("127.0.0.1"), "self"},
		{"no sni on ipv6 loopback", helloOn("::1"), "self"},
		{"no sni on ipv4-mapped loopback", helloOn("::ffff:127.0.0.1"), "self"},
		{"no sni on another ip", helloOn("198.51.100.1"), "www"},
		{"no sni no connection", hello(""), "www"},
		{"first of two for an ecdsa client", hello("dual.example.test"), "dual-ecdsa"},
		{"rsa for an rsa-only client", rsaOnlyHello("dual.example.test"), "dual-rsa"},
		{"acme-tls/1 without acme", &tls.ClientHelloInfo{ServerName: "www.example.test", SupportedProtos: []string{alpnProto}}, "error"},
		{"acme-tls/1 among others is a normal handshake", &tls.ClientHelloInfo{ServerName: "www.example.test", SupportedProtos: []string{"h2", alpnProto}}, "www"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := fx.label(fx.m.GetCertificate(tt.hello)); got != tt.want {
				t.Errorf("GetCertificate(%q) = %s, want %s", tt.hello.ServerName, got, tt.want)
			}
		})
	}
}

func TestGetCertificateDefaults(t *testing.T) {
	t.Parallel()
	selfOnly, err := New(context.Background(), Options{SelfSigned: []string{"localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := selfOnly.GetCertificate(hello("unknown.test")); err != nil || c != selfOnly.self.cert {
		t.Errorf("self-signed only: GetCertificate(unknown) = %v, %v; want the self-signed certificate", c, err)
	}
	acmeOnly := newOfflineACME(t, ACME{})
	if c, err := acmeOnly.GetCertificate(hello("unknown.test")); err == nil {
		t.Errorf("ACME only: GetCertificate(unknown) = %v, want an error", c.Leaf.DNSNames)
	} else if !errors.Is(err, errNoCertificate) {
		t.Errorf("ACME only: GetCertificate(unknown) error %v, want errNoCertificate", err)
	}
	if _, err := acmeOnly.GetCertificate(hello("")); err == nil {
		t.Error("ACME only: GetCertificate(no SNI) succeeded, want an error")
	}
}

// newOfflineACME returns a Manager whose ACME directory does not answer;
// it must never be asked for anything.
func newOfflineACME(t *testing.T, a ACME) *Manager {
	t.Helper()
	if a.Directory == "" {
		a.Directory = "https://127.0.0.1:1/directory"
	}
	if a.Storage == "" {
		a.Storage = t.TempDir()
	}
	logs := newLogRecorder()
	logs.dumpOnFailure(t, "manager log")
	m, err := New(context.Background(), Options{ACME: &a, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func BenchmarkGetCertificate(b *testing.B) {
	fx := newSelectionFixture(b)
	for _, sni := range []string{"www.example.test", "shop.example.test", "unknown.test"} {
		b.Run(sni, func(b *testing.B) {
			h := hello(sni)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := fx.m.GetCertificate(h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

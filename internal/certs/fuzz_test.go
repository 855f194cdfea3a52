package certs

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

// FuzzGetCertificate feeds arbitrary client hellos (server name, offered
// protocols, local address) to the selection. It must never panic, only
// return certificates it holds, and never return a certificate other than
// the default unless it covers the server name.
func FuzzGetCertificate(f *testing.F) {
	fx := newSelectionFixture(f)
	for _, s := range []string{"www.example.test", "shop.example.test", "a.b.example.test", "WWW.EXAMPLE.TEST.",
		"localhost", "x.dev.test", "192.0.2.10", "::1", "", "bad name", "*.example.test", ".example.test", "xn--bcher-kva.test",
		"b\u00fccher.test", "example.test..", "dual.example.test"} {
		f.Add(s, "", "127.0.0.1")
	}
	f.Add("www.example.test", alpnProto, "127.0.0.1")
	f.Add("", "h2,http/1.1", "::ffff:192.0.2.10")
	f.Fuzz(func(t *testing.T, sni, protos, local string) {
		h := &tls.ClientHelloInfo{ServerName: sni}
		if protos != "" {
			h.SupportedProtos = strings.Split(protos, ",")
		}
		if ip := net.ParseIP(local); ip != nil {
			h.Conn = fakeConn{local: &net.TCPAddr{IP: ip, Port: 443}}
		}
		c, err := fx.m.GetCertificate(h)
		if len(h.SupportedProtos) == 1 && h.SupportedProtos[0] == alpnProto {
			if err == nil {
				t.Fatalf("acme-tls/1 handshake without ACME got a certificate")
			}
			return
		}
		if err != nil {
			t.Fatalf("GetCertificate(%q): %v, want the default at worst", sni, err)
		}
		label, ok := fx.labels[c.Leaf]
		if !ok {
			t.Fatalf("GetCertificate(%q) returned a certificate the Manager does not hold", sni)
		}
		if label == "www" || sni == "" {
			return
		}
		name := strings.TrimSuffix(strings.ToLower(sni), ".")
		if err := c.Leaf.VerifyHostname(name); err != nil {
			t.Fatalf("GetCertificate(%q) = %s certificate, which does not cover it: %v", sni, label, err)
		}
	})
}

// FuzzParsePair feeds arbitrary PEM to the certificate file parser. It
// must never panic, and what it accepts must be usable: a key that matches
// and names to serve.
func FuzzParsePair(f *testing.F) {
	ca := testutil.NewCA(f, testutil.CAOptions{})
	now := time.Now()
	for _, s := range []struct {
		opts  testutil.LeafOptions
		pkcs8 bool
	}{
		{testutil.LeafOptions{Names: []string{"a.test"}}, false},
		{testutil.LeafOptions{Names: []string{"192.0.2.1"}, RSABits: 2048}, false},
		{testutil.LeafOptions{Names: []string{"b.test"}}, true},
		{testutil.LeafOptions{CommonName: "leaf"}, false},
	} {
		leaf := ca.Issue(f, s.opts)
		c, k := leaf.ChainPEM(), leaf.KeyPEM()
		if s.pkcs8 {
			k = leaf.PKCS8KeyPEM()
		}
		f.Add(c, k)
		f.Add(k, c)
		f.Add(append(append([]byte(nil), c...), k...), k)
	}
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), []byte(""))
	f.Add([]byte(""), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		e, err := parsePair(certPEM, keyPEM, now)
		if err != nil {
			return
		}
		if len(e.names) == 0 {
			t.Fatal("accepted a certificate without names")
		}
		if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
			t.Fatalf("accepted a pair that crypto/tls rejects: %v", err)
		}
		if now.After(e.cert.Leaf.NotAfter) || now.Before(e.cert.Leaf.NotBefore) {
			t.Fatal("accepted a certificate not valid now")
		}
	})
}

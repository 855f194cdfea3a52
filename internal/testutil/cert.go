package testutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CAOptions describes a test certificate authority. The zero value is a
// CA named "testutil CA", valid from an hour ago to a day from now.
type CAOptions struct {
	// Name is the subject's common name, which is also the issuer's name
	// on every certificate the CA signs. Empty means "testutil CA".
	Name string
	// NotBefore and NotAfter bound the CA certificate's validity. Zero
	// means an hour ago and a day from now. A CA that does not cover its
	// leaves' validity still signs them; clients then reject the chain.
	NotBefore, NotAfter time.Time
}

// CA is a throwaway certificate authority with an ECDSA P-256 key.
type CA struct {
	// Cert is the self-signed CA certificate.
	Cert *x509.Certificate
	// Key is the CA's private key.
	Key crypto.Signer
}

// NewCA makes a certificate authority. It registers no cleanup, so the CA
// may outlive the test that made it: a package may share one among its
// tests (made once, behind a [sync.Once]).
func NewCA(t testing.TB, o CAOptions) *CA {
	t.Helper()
	if o.Name == "" {
		o.Name = "testutil CA"
	}
	now := time.Now()
	if o.NotBefore.IsZero() {
		o.NotBefore = now.Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = now.Add(24 * time.Hour)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testutil.NewCA: %v", err)
	}
	// No SerialNumber: CreateCertificate draws a random one, so no two
	// test certificates share one.
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: o.Name},
		NotBefore:             o.NotBefore,
		NotAfter:              o.NotAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatalf("testutil.NewCA: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("testutil.NewCA: %v", err)
	}
	return &CA{Cert: cert, Key: key}
}

// PEM returns the CA certificate, PEM-encoded.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// Pool returns a new pool holding the CA certificate alone, for a client's
// RootCAs.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}

// WriteFile writes the CA certificate as PEM to a file named ca.pem in a
// new directory that is removed when the test ends, and returns its path.
func (ca *CA) WriteFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	WriteFile(t, path, ca.PEM())
	return path
}

// LeafOptions describes a server certificate for [CA.Issue]. The zero
// value is an ECDSA P-256 certificate with no names, valid from an hour
// ago to 23 hours from now (inside a default CA's validity).
type LeafOptions struct {
	// Names are the subject alternative names: IP literals ("127.0.0.1",
	// "::1") become IP addresses, anything else a DNS name, verbatim.
	Names []string
	// CommonName is the subject's common name. Empty means the first of
	// Names, or no common name without names.
	CommonName string
	// NotBefore and NotAfter bound the validity. Zero means an hour ago
	// and 23 hours from now.
	NotBefore, NotAfter time.Time
	// RSABits, when not zero, asks for an RSA key of that size instead of
	// ECDSA P-256.
	RSABits int
}

// Leaf is a server certificate signed by a [CA], with its key.
type Leaf struct {
	// Cert is the certificate.
	Cert *x509.Certificate
	// Key is its private key: *ecdsa.PrivateKey or *rsa.PrivateKey.
	Key crypto.Signer
	// CA is the authority that signed it.
	CA *CA

	keyPEM, pkcs8PEM []byte
}

// Issue signs a server certificate (digital signature key usage, and key
// encipherment for RSA; extended key usage server authentication).
func (ca *CA) Issue(t testing.TB, o LeafOptions) *Leaf {
	t.Helper()
	now := time.Now()
	if o.NotBefore.IsZero() {
		o.NotBefore = now.Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = now.Add(23 * time.Hour)
	}
	if o.CommonName == "" && len(o.Names) > 0 {
		o.CommonName = o.Names[0]
	}
	var key crypto.Signer
	var err error
	usage := x509.KeyUsageDigitalSignature
	if o.RSABits != 0 {
		key, err = rsa.GenerateKey(rand.Reader, o.RSABits)
		usage |= x509.KeyUsageKeyEncipherment
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatalf("testutil: CA.Issue(%q): %v", o.Names, err)
	}
	// No SerialNumber: CreateCertificate draws a random one, so no two
	// test certificates share one.
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: o.CommonName},
		NotBefore:   o.NotBefore,
		NotAfter:    o.NotAfter,
		KeyUsage:    usage,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range o.Names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatalf("testutil: CA.Issue(%q): %v", o.Names, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("testutil: CA.Issue(%q): %v", o.Names, err)
	}
	l := &Leaf{Cert: cert, Key: key, CA: ca}
	var block *pem.Block
	switch k := key.(type) {
	case *rsa.PrivateKey:
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	case *ecdsa.PrivateKey:
		b, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatalf("testutil: CA.Issue(%q): %v", o.Names, err)
		}
		block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: b}
	}
	l.keyPEM = pem.EncodeToMemory(block)
	b, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("testutil: CA.Issue(%q): %v", o.Names, err)
	}
	l.pkcs8PEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: b})
	return l
}

// CertPEM returns the certificate alone, PEM-encoded.
func (l *Leaf) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.Cert.Raw})
}

// ChainPEM returns the certificate followed by its CA's, PEM-encoded: the
// chain a server sends.
func (l *Leaf) ChainPEM() []byte {
	return append(l.CertPEM(), l.CA.PEM()...)
}

// KeyPEM returns the private key PEM-encoded in its traditional form:
// SEC 1 ("EC PRIVATE KEY") or PKCS #1 ("RSA PRIVATE KEY").
func (l *Leaf) KeyPEM() []byte { return append([]byte(nil), l.keyPEM...) }

// PKCS8KeyPEM returns the private key PEM-encoded as PKCS #8 ("PRIVATE
// KEY").
func (l *Leaf) PKCS8KeyPEM() []byte { return append([]byte(nil), l.pkcs8PEM...) }

// TLSCertificate returns the certificate for a [tls.Config]: the chain
// (the certificate, then its CA's), the key, and the parsed leaf.
func (l *Leaf) TLSCertificate() tls.Certificate {
	return tls.Certificate{
		Certificate: [][]byte{l.Cert.Raw, l.CA.Cert.Raw},
		PrivateKey:  l.Key,
		Leaf:        l.Cert,
	}
}

// WriteFile writes data to path, readable by its owner only, and fails
// the test if it cannot.
func WriteFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

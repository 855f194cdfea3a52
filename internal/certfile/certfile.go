// Package certfile reads a PEM certificate and its private key and checks
// that they can be served: the certificate parses and names something, the
// key is the certificate's, and the certificate is valid now.
//
// It is the one place these checks live, shared by the configuration
// check (internal/config, which reports each problem at its key, as
// "forcehttps edge --check-config" prints it) and the certificate manager
// (internal/certs, which serves the pair), so that a file the check
// accepts is one the edge starts with.
//
// A certificate file may hold the chain after the leaf, and blocks of
// other types are skipped: one combined file can serve as both the
// certificate and the key file.
package certfile

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Problems found by [Parse]. The first four are about the certificate
// file, the next three about the key file ([InKeyFile] tells them apart).
var (
	ErrNoCertificate  = errors.New("no PEM certificate found")
	ErrBadCertificate = errors.New("invalid certificate")
	ErrNoNames        = errors.New("certificate has no DNS or IP subject alternative names")
	ErrExpired        = errors.New("certificate expired")
	ErrNotYetValid    = errors.New("certificate not yet valid")
	ErrNoKey          = errors.New("no PEM private key found")
	ErrBadKey         = errors.New("invalid private key")
	ErrKeyMismatch    = errors.New("private key does not match the certificate")
)

// InKeyFile reports whether err, from [Parse], is about the key rather
// than the certificate.
func InKeyFile(err error) bool {
	return errors.Is(err, ErrNoKey) || errors.Is(err, ErrBadKey) || errors.Is(err, ErrKeyMismatch)
}

// Parse parses a PEM certificate chain (leaf first) and a PEM private key
// and checks that they belong together, that the leaf names something
// (DNS or IP subject alternative names) and that it is valid at now. The
// returned certificate has its Leaf set.
func Parse(certPEM, keyPEM []byte, now time.Time) (*tls.Certificate, error) {
	var chain [][]byte
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			chain = append(chain, b.Bytes)
		}
	}
	if len(chain) == 0 {
		return nil, ErrNoCertificate
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCertificate, err)
	}
	for i, der := range chain[1:] {
		if _, err := x509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("%w: chain certificate %d: %v", ErrBadCertificate, i+2, err)
		}
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	if !publicKeyMatches(leaf.PublicKey, key) {
		return nil, ErrKeyMismatch
	}
	if len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0 {
		return nil, ErrNoNames
	}
	if now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("%w on %s", ErrExpired, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("%w: valid from %s", ErrNotYetValid, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

// Names returns the names a certificate covers, normalized for
// comparison: its DNS names in lower case without a trailing dot
// (wildcards as "*.example.com"), then its IP addresses (IPv4-mapped ones
// as IPv4).
func Names(leaf *x509.Certificate) []string {
	names := make([]string, 0, len(leaf.DNSNames)+len(leaf.IPAddresses))
	for _, n := range leaf.DNSNames {
		names = append(names, strings.TrimSuffix(strings.ToLower(n), "."))
	}
	for _, ip := range leaf.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			names = append(names, a.Unmap().String())
		}
	}
	return names
}

// parseKey returns the first private key found in a PEM file, in PKCS #8,
// PKCS #1 (RSA) or SEC 1 (EC) form.
func parseKey(keyPEM []byte) (crypto.Signer, error) {
	for rest := keyPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, ErrNoKey
		}
		if b.Type != "PRIVATE KEY" && !strings.HasSuffix(b.Type, " PRIVATE KEY") {
			continue
		}
		var k any
		var err error
		switch b.Type {
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			return k.(crypto.Signer), nil
		default:
			return nil, fmt.Errorf("%w: unsupported key type %T", ErrBadKey, k)
		}
	}
}

// publicKeyMatches reports whether key is the private half of pub.
func publicKeyMatches(pub any, key crypto.Signer) bool {
	p, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && p.Equal(pub)
}

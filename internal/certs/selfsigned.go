package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"time"

	"github.com/forcehttps/forcehttps"
)

// SelfSignedValidity is how long a generated self-signed certificate is
// valid, counted from one hour before its generation (for clock skew).
const SelfSignedValidity = 365 * 24 * time.Hour

// selfSignedCN is the subject and issuer common name of generated
// certificates, so that a user who sees it in a browser knows where it
// comes from.
const selfSignedCN = "forcehttps self-signed"

// generateSelfSigned creates an ECDSA P-256 certificate for names (host
// names, "*." wildcards or IP literals), signed by its own key.
func generateSelfSigned(names []string, now time.Time) (*entry, error) {
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: selfSignedCN},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(-time.Hour + SelfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	var errs []error
	seen := map[string]bool{}
	for _, n := range names {
		h, wild, err := forcehttps.ParseHostPattern(n)
		if err != nil {
			errs = append(errs, fmt.Errorf("self-signed name %q: %w", n, err))
			continue
		}
		if wild {
			h = "*." + h
		}
		if seen[h] {
			continue
		}
		seen[h] = true
		if a, err := netip.ParseAddr(h); err == nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(a.AsSlice()))
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(seen) == 0 {
		return nil, errors.New("self-signed certificate: no names")
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: serial number: %w", err)
	}
	tmpl.SerialNumber = serial
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: key: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	e := newEntry(&tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf})
	e.source = SourceSelfSigned
	return e, nil
}

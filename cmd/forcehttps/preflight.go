package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/forcehttps/forcehttps/internal/admin"
	"github.com/forcehttps/forcehttps/internal/certs"
	"github.com/forcehttps/forcehttps/internal/config"
)

// preflightRoots returns the roots the admin's preflight trusts besides
// the system's: tls.acme.ca_root (the test CA an ACME directory such as
// Pebble issues from), admin.preflight_ca_file (a private CA the site's
// users trust), and the edge's own self-signed certificate when it names
// loopback addresses only.
//
// The preflight answers "will browsers accept this certificate?", so a
// self-signed certificate for a public name must keep failing it. One
// for localhost can only ever be reached from this machine, by a
// developer who has chosen to accept it (the embedded default): trusting
// it lets such a setup turn Force HTTPS back on without --force, and
// browsers ignore HSTS received with a certificate error, so nothing gets
// pinned by mistake.
func preflightRoots(cfg *config.Config, mgr *certs.Manager) ([]*x509.Certificate, error) {
	var roots []*x509.Certificate
	for _, f := range []struct{ key, path string }{
		{"tls.acme.ca_root", caRoot(cfg)},
		{"admin.preflight_ca_file", cfg.Admin.PreflightCAFile},
	} {
		if f.path == "" {
			continue
		}
		data, err := os.ReadFile(f.path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.key, err)
		}
		certs, err := admin.ParseRoots(data)
		if err != nil {
			// ParseRoots' errors carry their own prefix: keep one.
			return nil, fmt.Errorf("%s: %s: %s", f.key, f.path, strings.TrimPrefix(err.Error(), "admin: roots: "))
		}
		roots = append(roots, certs...)
	}
	if len(cfg.TLS.SelfSigned) > 0 && mgr != nil {
		if c := loopbackSelfSigned(mgr, cfg.TLS.SelfSigned); c != nil {
			roots = append(roots, c)
		}
	}
	return roots, nil
}

func caRoot(cfg *config.Config) string {
	if cfg.TLS.ACME == nil {
		return ""
	}
	return cfg.TLS.ACME.CARoot
}

// loopbackSelfSigned returns the edge's self-signed certificate for
// names if it is self-signed and names loopback addresses only, else
// nil.
func loopbackSelfSigned(mgr *certs.Manager, names []string) *x509.Certificate {
	sni := ""
	for _, n := range names {
		if _, err := netip.ParseAddr(n); err != nil && !strings.HasPrefix(n, "*.") {
			sni = n
			break
		}
	}
	tc, err := mgr.GetCertificate(&tls.ClientHelloInfo{ServerName: sni})
	if err != nil || tc == nil || len(tc.Certificate) == 0 {
		return nil
	}
	c, err := x509.ParseCertificate(tc.Certificate[0])
	// Self-signed: issued by itself and signed with its own key. Not
	// CheckSignatureFrom, which also wants a CA certificate: a leaf is
	// trusted as a root when it is in the pool itself.
	if err != nil || !bytes.Equal(c.RawIssuer, c.RawSubject) ||
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) != nil || !loopbackOnly(c) {
		return nil
	}
	return c
}

// loopbackOnly reports whether every name of c is a loopback address:
// localhost, *.localhost (RFC 6761), 127.0.0.0/8 or ::1.
func loopbackOnly(c *x509.Certificate) bool {
	if len(c.DNSNames)+len(c.IPAddresses) == 0 || len(c.URIs)+len(c.EmailAddresses) > 0 {
		return false
	}
	for _, n := range c.DNSNames {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if n != "localhost" && !strings.HasSuffix(n, ".localhost") {
			return false
		}
	}
	for _, ip := range c.IPAddresses {
		if !ip.IsLoopback() {
			return false
		}
	}
	return true
}

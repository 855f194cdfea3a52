package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/forcehttps/forcehttps"
	"github.com/forcehttps/forcehttps/internal/certfile"
	"github.com/forcehttps/forcehttps/internal/lex"
)

// maxPEMFile bounds the size of a certificate, key or CA file.
const maxPEMFile = 1 << 20

// checkPair checks certificate pair i of a configuration being loaded:
// readable, matching, valid now, with the code the certificate manager
// uses. It is called by validateTLS, in the order of the pairs, after the
// checks that need no file. The names of a good pair are kept for
// validateCoverage.
func (c *Config) checkPair(v *validator, i int) {
	cf := c.TLS.Certificates[i]
	cert, ok := c.checkPairFiles(v, fmt.Sprintf("tls.certificates[%d]", i), cf.CertFile, cf.KeyFile)
	if !ok {
		v.files.badPair = true
		return
	}
	v.files.names = append(v.files.names, certfile.Names(cert.Leaf)...)
}

// checkPairFiles checks the certificate pair at path (path.cert_file,
// path.key_file) and returns it if good.
func (c *Config) checkPairFiles(v *validator, p, certFile, keyFile string) (*tls.Certificate, bool) {
	// Each file is read even when the other is missing (an empty name is
	// reported by validateTLS), so that one run lists both.
	var certPEM, keyPEM []byte
	certOK, keyOK := false, false
	if certFile != "" {
		certPEM, certOK = readPEM(v, p+".cert_file", certFile, ErrTLS)
	}
	if keyFile != "" {
		keyPEM, keyOK = readPEM(v, p+".key_file", keyFile, ErrTLS)
	}
	if !certOK || !keyOK {
		return nil, false
	}
	cert, err := certfile.Parse(certPEM, keyPEM, v.files.now)
	switch {
	case err == nil:
		return cert, true
	case errors.Is(err, certfile.ErrKeyMismatch):
		v.add(p+".key_file", ErrTLS, "%q is not the key of %q: %v", keyFile, certFile, err)
	case certfile.InKeyFile(err):
		v.add(p+".key_file", ErrTLS, "%q: %v", keyFile, err)
	default:
		v.add(p+".cert_file", ErrTLS, "%q: %v", certFile, err)
	}
	return nil, false
}

// checkFiles checks, after the rest, the other files a configuration
// being loaded names: the ACME CA root and the preflight's CA file (a PEM
// certificate at least each), the
// admin token (readable, not empty) and the directory of the access log
// file (present); then, when every certificate pair was good, that each
// domain Force HTTPS redirects to has a certificate.
func (c *Config) checkFiles(v *validator) {
	if a := c.TLS.ACME; a != nil && a.CARoot != "" {
		// What the certificate manager asks of it: one certificate at least.
		if data, ok := readPEM(v, "tls.acme.ca_root", a.CARoot, ErrTLS); ok && !x509.NewCertPool().AppendCertsFromPEM(data) {
			v.add("tls.acme.ca_root", ErrTLS, "%q: %v", a.CARoot, certfile.ErrNoCertificate)
		}
	}
	if c.Admin.PreflightCAFile != "" {
		// What the preflight asks of it: one certificate at least.
		if data, ok := readPEM(v, "admin.preflight_ca_file", c.Admin.PreflightCAFile, ErrTLS); ok && !x509.NewCertPool().AppendCertsFromPEM(data) {
			v.add("admin.preflight_ca_file", ErrTLS, "%q: %v", c.Admin.PreflightCAFile, certfile.ErrNoCertificate)
		}
	}
	if cl := c.Cluster; cl != nil && cl.PostgresFile != "" {
		// Read again at start, and never quoted: it holds a secret.
		readPEM(v, "cluster.postgres_file", cl.PostgresFile, ErrValue)
	}
	if c.Admin.Listen != "" && c.Admin.TokenFile != "" {
		// The edge refuses to start without its token.
		if data, ok := readPEM(v, "admin.token_file", c.Admin.TokenFile, ErrValue); ok && len(strings.TrimSpace(string(data))) == 0 {
			v.add("admin.token_file", ErrValue, "%q is empty: write the admin token in it", c.Admin.TokenFile)
		}
	}
	c.checkAdminFiles(v)
	switch out := c.AccessLog.Output; out {
	case "", "stderr", "stdout", "off":
	default:
		// The edge creates the file, not its directory. Nothing is
		// created here: a check has no side effects.
		if fi, err := os.Stat(filepath.Dir(out)); err != nil || !fi.IsDir() {
			v.add("access_log.output", ErrValue, "cannot create %q: its directory %q does not exist", out, filepath.Dir(out))
		}
	}
	if !v.files.badPair {
		c.validateCoverage(v, v.files.names)
	}
}

// readPEM reads a file named at path (certificates, keys, the CA root,
// the admin token: all small), reporting why it cannot be read as an
// error wrapping sentinel.
func readPEM(v *validator, path, file string, sentinel error) ([]byte, bool) {
	f, err := os.Open(file)
	if err != nil {
		v.add(path, sentinel, "cannot read %q: %v", file, pathErr(err))
		return nil, false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	switch {
	case err != nil:
		v.add(path, sentinel, "cannot read %q: %v", file, pathErr(err))
		return nil, false
	case len(data) > maxPEMFile:
		v.add(path, sentinel, "%q is larger than %d bytes: not a PEM file", file, maxPEMFile)
		return nil, false
	}
	return data, true
}

// pathErr drops the operation and file name of a *fs.PathError: the
// message names the file once.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// validateCoverage reports the domains that Force HTTPS redirects to but
// no certificate source covers: visitors would be sent from a working
// http:// page to a certificate error. fileNames are the names of the
// certificate files. A self-signed certificate counts (its names are
// served, if untrusted); ACME covers exact names, not wildcards or IP
// addresses. Domains that are not redirected are not checked: apps with
// force_https off, and development hosts (localhost, *.localhost, IP
// addresses) unless include_dev_hosts is set.
func (c *Config) validateCoverage(v *validator, fileNames []string) {
	if len(c.TLS.Certificates) == 0 && len(c.TLS.SelfSigned) == 0 && c.TLS.ACME == nil {
		return // no source at all: reported by validateTLS
	}
	set := newNameSet(fileNames, c.TLS.SelfSigned)
	acme := c.TLS.ACME != nil
	for i := range c.Apps {
		a := &c.Apps[i]
		if !a.ForceHTTPS {
			continue
		}
		for j, d := range a.Domains {
			// The domain as validateApps parsed it.
			key := v.keys[i][j]
			if key == "" {
				continue // reported by validateApps
			}
			h, wild := strings.CutPrefix(key, "*.")
			ip := isIP(h)
			dev := ip || h == "localhost" || strings.HasSuffix(h, ".localhost")
			if (dev && !a.IncludeDevHosts) || set.covers(h, wild) || (acme && !wild && !ip) {
				continue
			}
			var fix string
			switch {
			case wild:
				fix = fmt.Sprintf("add a certificate file for %q (ACME cannot validate a wildcard)", d)
			case ip:
				fix = "add a certificate file that names this address (ACME does not certify IP addresses)"
			default:
				fix = "add a certificate file that names it, or tls.acme"
			}
			v.add(fmt.Sprintf("apps[%d].domains[%d]", i, j), ErrNoCertificate,
				"%q: no certificate covers it, so the redirect to HTTPS would end in a certificate error: %s, or set force_https: false until HTTPS works", d, fix)
		}
	}
}

// nameSet holds the normalized names of certificates: exact names and IP
// addresses, and the parents of "*." wildcards.
type nameSet struct {
	exact, wildcard map[string]bool
}

func newNameSet(lists ...[]string) nameSet {
	s := nameSet{exact: map[string]bool{}, wildcard: map[string]bool{}}
	for _, list := range lists {
		for _, n := range list {
			h, wild, err := forcehttps.ParseHostPattern(n)
			switch {
			case err != nil:
				// A name the edge cannot match a host against covers nothing.
			case wild:
				s.wildcard[h] = true
			default:
				s.exact[h] = true
			}
		}
	}
	return s
}

// covers reports whether a certificate covers the normalized host h, or
// every host of the wildcard "*."+h: a wildcard domain needs the same
// wildcard; an exact name needs itself or the wildcard of its parent,
// which covers one label as in TLS.
func (s nameSet) covers(h string, wild bool) bool {
	if wild {
		return s.wildcard[h]
	}
	if s.exact[h] {
		return true
	}
	if isIP(h) {
		return false
	}
	_, parent, ok := strings.Cut(h, ".")
	return ok && s.wildcard[parent]
}

// isIP reports whether h, a host as [forcehttps.ParseHostPattern]
// returns it, is an IP address. Only what may be one (IPv6 has a colon,
// IPv4 is digits and dots) is parsed: a failed netip.ParseAddr makes an
// error, and a table of many apps has many names.
func isIP(h string) bool {
	if strings.IndexByte(h, ':') < 0 && !lex.DigitsAndDots(h) {
		return false
	}
	_, err := netip.ParseAddr(h)
	return err == nil
}

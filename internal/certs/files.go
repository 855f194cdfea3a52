package certs

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
	"io/fs"
	"os"
	"strings"
	"time"
)

// FileError reports a certificate pair that could not be used. Err wraps
// one of the sentinel errors of this package or a file system error.
type FileError struct {
	CertFile, KeyFile string
	Err               error
}

func (e *FileError) Error() string {
	if e.KeyFile == "" || e.KeyFile == e.CertFile {
		return fmt.Sprintf("certificate file %q: %v", e.CertFile, e.Err)
	}
	return fmt.Sprintf("certificate file %q with key file %q: %v", e.CertFile, e.KeyFile, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// loadPair reads and validates one certificate pair.
func loadPair(p Pair, now time.Time) (*entry, error) {
	wrap := func(err error) error { return &FileError{CertFile: p.CertFile, KeyFile: p.KeyFile, Err: err} }
	if p.CertFile == "" {
		return nil, wrap(errors.New("cert_file is empty"))
	}
	if p.KeyFile == "" {
		return nil, wrap(errors.New("key_file is empty"))
	}
	certPEM, err := readFile("certificate", p.CertFile)
	if err != nil {
		return nil, wrap(err)
	}
	keyPEM, err := readFile("key", p.KeyFile)
	if err != nil {
		return nil, wrap(err)
	}
	e, err := parsePair(certPEM, keyPEM, now)
	if err != nil {
		return nil, wrap(err)
	}
	e.source = SourceFile
	e.file = p.CertFile
	return e, nil
}

// readFile reads a file, reporting only the operation's error: the caller
// names the file once.
func readFile(what, name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("reading %s file %q: %w", what, name, err)
	}
	return b, nil
}

// parsePair parses a PEM certificate chain (leaf first) and a PEM private
// key, and checks that they belong together, that the leaf names something
// and that it is valid at now. Blocks of other types (a key in the
// certificate file, a certificate in the key file) are ignored, so a single
// combined file works for both.
func parsePair(certPEM, keyPEM []byte, now time.Time) (*entry, error) {
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
	return newEntry(&tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}), nil
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

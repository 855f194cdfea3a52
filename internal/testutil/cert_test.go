package testutil

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// verify checks leaf's chain for name at instant now against roots, as a
// TLS client would.
func verify(leaf *x509.Certificate, roots *x509.CertPool, name string, now time.Time) error {
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, CurrentTime: now})
	return err
}

func TestNewCA(t *testing.T) {
	t.Parallel()
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		opts     CAOptions
		wantName string
		// wantFrom and wantTo are the validity; zero means around now.
		wantFrom, wantTo time.Time
	}{
		{"defaults", CAOptions{}, "testutil CA", time.Time{}, time.Time{}},
		{"named", CAOptions{Name: "certs test CA"}, "certs test CA", time.Time{}, time.Time{}},
		{"fixed validity", CAOptions{Name: "forcehttps test CA", NotBefore: from, NotAfter: to}, "forcehttps test CA", from, to},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := time.Now().Truncate(time.Second)
			ca := NewCA(t, tt.opts)
			c := ca.Cert
			if c.Subject.CommonName != tt.wantName || c.Issuer.CommonName != tt.wantName {
				t.Errorf("NewCA(%+v): subject %q, issuer %q, want %q for both", tt.opts, c.Subject.CommonName, c.Issuer.CommonName, tt.wantName)
			}
			if !c.IsCA || !c.BasicConstraintsValid || c.KeyUsage&x509.KeyUsageCertSign == 0 {
				t.Errorf("NewCA(%+v): IsCA %v, basic constraints %v, key usage %b: not a CA", tt.opts, c.IsCA, c.BasicConstraintsValid, c.KeyUsage)
			}
			if k, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
				t.Errorf("NewCA(%+v): key %T, want ECDSA P-256", tt.opts, c.PublicKey)
			}
			if err := c.CheckSignatureFrom(c); err != nil {
				t.Errorf("NewCA(%+v): not self-signed: %v", tt.opts, err)
			}
			if tt.wantFrom.IsZero() {
				if !c.NotBefore.Before(before) || !c.NotAfter.After(before.Add(23*time.Hour)) {
					t.Errorf("NewCA(%+v): valid %v to %v, want from before %v to a day after", tt.opts, c.NotBefore, c.NotAfter, before)
				}
			} else if !c.NotBefore.Equal(tt.wantFrom) || !c.NotAfter.Equal(tt.wantTo) {
				t.Errorf("NewCA(%+v): valid %v to %v, want %v to %v", tt.opts, c.NotBefore, c.NotAfter, tt.wantFrom, tt.wantTo)
			}
		})
	}
}

// TestIssueNames: a certificate verifies against its CA for each name it
// was issued for, and for no other name; another CA does not vouch for it.
func TestIssueNames(t *testing.T) {
	t.Parallel()
	ca := NewCA(t, CAOptions{})
	other := NewCA(t, CAOptions{Name: "other CA"})
	tests := []struct {
		name    string
		opts    LeafOptions
		ok      []string // names the certificate must verify for
		notOK   []string // names it must not verify for
		wantCN  string
		wantDNS []string
		wantIP  []string
	}{
		{
			name:    "one name",
			opts:    LeafOptions{Names: []string{"example.test"}},
			ok:      []string{"example.test"},
			notOK:   []string{"www.example.test", "other.test"},
			wantCN:  "example.test",
			wantDNS: []string{"example.test"},
		},
		{
			name:    "loopback names and addresses",
			opts:    LeafOptions{Names: []string{"localhost", "127.0.0.1", "::1"}},
			ok:      []string{"localhost", "127.0.0.1", "::1"},
			notOK:   []string{"127.0.0.2", "example.test"},
			wantCN:  "localhost",
			wantDNS: []string{"localhost"},
			wantIP:  []string{"127.0.0.1", "::1"},
		},
		{
			name:    "wildcard covers one label",
			opts:    LeafOptions{Names: []string{"*.wild.test", "exact.test"}},
			ok:      []string{"a.wild.test", "exact.test"},
			notOK:   []string{"a.b.wild.test", "wild.test"},
			wantCN:  "*.wild.test",
			wantDNS: []string{"*.wild.test", "exact.test"},
		},
		{
			name:    "common name given",
			opts:    LeafOptions{Names: []string{"good.test"}, CommonName: "leaf"},
			ok:      []string{"good.test"},
			notOK:   []string{"leaf"},
			wantCN:  "leaf",
			wantDNS: []string{"good.test"},
		},
		{
			name:  "no names",
			opts:  LeafOptions{},
			notOK: []string{"example.test", "127.0.0.1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			leaf := ca.Issue(t, tt.opts)
			c := leaf.Cert
			var gotIP []string
			for _, ip := range c.IPAddresses {
				gotIP = append(gotIP, ip.String())
			}
			if diff := cmp.Diff(tt.wantDNS, c.DNSNames); diff != "" {
				t.Errorf("Issue(%+v) DNS names mismatch (-want +got):\n%s", tt.opts, diff)
			}
			if diff := cmp.Diff(tt.wantIP, gotIP); diff != "" {
				t.Errorf("Issue(%+v) IP addresses mismatch (-want +got):\n%s", tt.opts, diff)
			}
			if c.Subject.CommonName != tt.wantCN {
				t.Errorf("Issue(%+v): common name %q, want %q", tt.opts, c.Subject.CommonName, tt.wantCN)
			}
			if c.Issuer.CommonName != ca.Cert.Subject.CommonName {
				t.Errorf("Issue(%+v): issuer %q, want %q", tt.opts, c.Issuer.CommonName, ca.Cert.Subject.CommonName)
			}
			now := time.Now()
			for _, name := range tt.ok {
				if err := verify(c, ca.Pool(), name, now); err != nil {
					t.Errorf("Issue(%+v) does not verify for %q: %v", tt.opts, name, err)
				}
				var unknown x509.UnknownAuthorityError
				if err := verify(c, other.Pool(), name, now); !errors.As(err, &unknown) {
					t.Errorf("Issue(%+v) verified by another CA for %q: %v, want an unknown authority", tt.opts, name, err)
				}
			}
			for _, name := range tt.notOK {
				var mismatch x509.HostnameError
				if err := verify(c, ca.Pool(), name, now); !errors.As(err, &mismatch) {
					t.Errorf("Issue(%+v) for %q: %v, want a name mismatch", tt.opts, name, err)
				}
			}
		})
	}
}

// TestIssueValidity: a certificate is valid exactly when asked, whatever
// the CA's validity.
func TestIssueValidity(t *testing.T) {
	t.Parallel()
	now := time.Now().Truncate(time.Second) // certificates keep whole seconds
	caFrom := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	fixedCA := NewCA(t, CAOptions{NotBefore: caFrom, NotAfter: caFrom.AddDate(10, 0, 0)})
	ca := NewCA(t, CAOptions{})
	tests := []struct {
		name string
		ca   *CA
		opts LeafOptions
		// valid and invalid are instants the certificate must verify at,
		// and must be rejected as expired or not yet valid at.
		valid, invalid []time.Time
	}{
		{
			name:    "default",
			ca:      ca,
			opts:    LeafOptions{},
			valid:   []time.Time{now, now.Add(-59 * time.Minute), now.Add(22 * time.Hour)},
			invalid: []time.Time{now.Add(-2 * time.Hour), now.Add(24 * time.Hour)},
		},
		{
			name:    "expired",
			ca:      ca,
			opts:    LeafOptions{NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)},
			invalid: []time.Time{now},
		},
		{
			name:    "not yet valid",
			ca:      ca,
			opts:    LeafOptions{NotBefore: now.Add(time.Hour), NotAfter: now.Add(48 * time.Hour)},
			invalid: []time.Time{now},
		},
		{
			name: "fixed dates",
			ca:   fixedCA,
			opts: LeafOptions{
				NotBefore: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
				NotAfter:  time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
			},
			valid: []time.Time{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
			invalid: []time.Time{
				time.Date(2025, 5, 31, 0, 0, 0, 0, time.UTC),
				time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.Names = []string{"example.test"}
			leaf := tt.ca.Issue(t, tt.opts)
			if !tt.opts.NotBefore.IsZero() && (!leaf.Cert.NotBefore.Equal(tt.opts.NotBefore) || !leaf.Cert.NotAfter.Equal(tt.opts.NotAfter)) {
				t.Errorf("Issue(%+v): valid %v to %v, want %v to %v", tt.opts, leaf.Cert.NotBefore, leaf.Cert.NotAfter, tt.opts.NotBefore, tt.opts.NotAfter)
			}
			for _, at := range tt.valid {
				if err := verify(leaf.Cert, tt.ca.Pool(), "example.test", at); err != nil {
					t.Errorf("Issue(%+v) at %v: %v, want valid", tt.opts, at, err)
				}
			}
			for _, at := range tt.invalid {
				var invalid x509.CertificateInvalidError
				err := verify(leaf.Cert, tt.ca.Pool(), "example.test", at)
				if !errors.As(err, &invalid) || invalid.Reason != x509.Expired || !bytes.Equal(invalid.Cert.Raw, leaf.Cert.Raw) {
					t.Errorf("Issue(%+v) at %v: %v, want the leaf expired or not yet valid", tt.opts, at, err)
				}
			}
		})
	}
}

// TestIssueKeys: each key type comes out in the PEM encodings a
// certificate file may use, and every one of them loads with the chain.
func TestIssueKeys(t *testing.T) {
	t.Parallel()
	ca := NewCA(t, CAOptions{})
	tests := []struct {
		name      string
		opts      LeafOptions
		wantType  string // the traditional PEM block
		wantUsage x509.KeyUsage
		check     func(any) bool
	}{
		{"ecdsa", LeafOptions{}, "EC PRIVATE KEY", x509.KeyUsageDigitalSignature, func(k any) bool {
			e, ok := k.(*ecdsa.PrivateKey)
			return ok && e.Curve == elliptic.P256()
		}},
		{"rsa 2048", LeafOptions{RSABits: 2048}, "RSA PRIVATE KEY", x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, func(k any) bool {
			r, ok := k.(*rsa.PrivateKey)
			return ok && r.N.BitLen() == 2048
		}},
		{"rsa 1024", LeafOptions{RSABits: 1024}, "RSA PRIVATE KEY", x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, func(k any) bool {
			r, ok := k.(*rsa.PrivateKey)
			return ok && r.N.BitLen() == 1024
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.Names = []string{"keys.example.test"}
			leaf := ca.Issue(t, tt.opts)
			if !tt.check(leaf.Key) {
				t.Errorf("Issue(%+v): key %T, not the kind asked", tt.opts, leaf.Key)
			}
			if leaf.Cert.KeyUsage != tt.wantUsage {
				t.Errorf("Issue(%+v): key usage %b, want %b", tt.opts, leaf.Cert.KeyUsage, tt.wantUsage)
			}
			if diff := cmp.Diff([]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, leaf.Cert.ExtKeyUsage); diff != "" {
				t.Errorf("Issue(%+v) extended key usage mismatch (-want +got):\n%s", tt.opts, diff)
			}
			for _, k := range []struct {
				pem      []byte
				wantType string
			}{{leaf.KeyPEM(), tt.wantType}, {leaf.PKCS8KeyPEM(), "PRIVATE KEY"}} {
				if b, _ := pem.Decode(k.pem); b == nil || b.Type != k.wantType {
					t.Errorf("Issue(%+v): key PEM %.40q, want a %q block", tt.opts, k.pem, k.wantType)
				}
				pair, err := tls.X509KeyPair(leaf.ChainPEM(), k.pem)
				if err != nil {
					t.Errorf("Issue(%+v): tls.X509KeyPair(ChainPEM, %s): %v", tt.opts, k.wantType, err)
					continue
				}
				if len(pair.Certificate) != 2 || !bytes.Equal(pair.Certificate[0], leaf.Cert.Raw) || !bytes.Equal(pair.Certificate[1], ca.Cert.Raw) {
					t.Errorf("Issue(%+v): ChainPEM holds %d certificates, want the leaf then the CA", tt.opts, len(pair.Certificate))
				}
			}
			if _, err := tls.X509KeyPair(leaf.CertPEM(), leaf.PKCS8KeyPEM()); err != nil {
				t.Errorf("Issue(%+v): tls.X509KeyPair(CertPEM, PKCS8KeyPEM): %v", tt.opts, err)
			}
			if rest := leaf.CertPEM(); bytes.Count(rest, []byte("BEGIN CERTIFICATE")) != 1 {
				t.Errorf("Issue(%+v): CertPEM holds %d certificates, want 1", tt.opts, bytes.Count(rest, []byte("BEGIN CERTIFICATE")))
			}
		})
	}
}

// TestTLSCertificate: a server with the certificate completes a handshake
// with a client trusting the CA for an issued name, and fails one for
// another name.
func TestTLSCertificate(t *testing.T) {
	t.Parallel()
	ca := NewCA(t, CAOptions{})
	leaf := ca.Issue(t, LeafOptions{Names: []string{"example.test", "127.0.0.1"}})
	tests := []struct {
		serverName string
		ok         bool
	}{
		{"example.test", true},
		{"127.0.0.1", true},
		{"other.test", false},
	}
	for _, tt := range tests {
		t.Run(tt.serverName, func(t *testing.T) {
			t.Parallel()
			// net.Pipe: an in-memory connection, no network at all.
			c, s := net.Pipe()
			defer c.Close()
			server := tls.Server(s, &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}})
			done := make(chan error, 1)
			go func() {
				err := server.Handshake()
				s.Close()
				done <- err
			}()
			client := tls.Client(c, &tls.Config{RootCAs: ca.Pool(), ServerName: tt.serverName})
			err := client.Handshake()
			c.Close()
			<-done
			if tt.ok && err != nil {
				t.Errorf("handshake for %q: %v, want success", tt.serverName, err)
			}
			if !tt.ok && err == nil {
				t.Errorf("handshake for %q succeeded, want a certificate error", tt.serverName)
			}
			if tt.ok {
				if chain := client.ConnectionState().PeerCertificates; len(chain) != 2 || !chain[0].Equal(leaf.Cert) {
					t.Errorf("handshake for %q: server sent %d certificates, want the leaf and the CA", tt.serverName, len(chain))
				}
			}
		})
	}
}

func TestWriteFiles(t *testing.T) {
	t.Parallel()
	ca := NewCA(t, CAOptions{})
	path := ca.WriteFile(t)
	if filepath.Base(path) != "ca.pem" {
		t.Errorf("CA.WriteFile() = %q, want a file named ca.pem", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if pool := x509.NewCertPool(); !pool.AppendCertsFromPEM(data) || !bytes.Equal(data, ca.PEM()) {
		t.Errorf("CA.WriteFile() wrote %q, want the CA's PEM", data)
	}

	other := filepath.Join(t.TempDir(), "key.pem")
	leaf := ca.Issue(t, LeafOptions{Names: []string{"example.test"}})
	WriteFile(t, other, leaf.KeyPEM())
	fi, err := os.Stat(other)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("WriteFile made mode %v, want -rw-------", fi.Mode().Perm())
	}
	if got, _ := os.ReadFile(other); !bytes.Equal(got, leaf.KeyPEM()) {
		t.Errorf("WriteFile wrote %q, want the key", got)
	}
}

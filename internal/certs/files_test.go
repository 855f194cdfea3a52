package certs

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewFileErrors(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	dir := t.TempDir()
	now := time.Now()
	names := []string{"files.example.test"}

	goodCert, goodKey := ca.issue(t, leafSpec{names: names})
	_, otherKey := ca.issue(t, leafSpec{names: names})
	expiredCert, expiredKey := ca.issue(t, leafSpec{names: names, notBefore: now.Add(-48 * time.Hour), notAfter: now.Add(-time.Hour)})
	futureCert, futureKey := ca.issue(t, leafSpec{names: names, notBefore: now.Add(time.Hour), notAfter: now.Add(48 * time.Hour)})
	noNamesCert, noNamesKey := ca.issue(t, leafSpec{})

	good := writePair(t, dir, "good", goodCert, goodKey)
	missing := filepath.Join(dir, "missing.pem")
	garbage := filepath.Join(dir, "garbage.pem")
	writeFile(t, garbage, []byte("this is not PEM\n"))
	badDER := filepath.Join(dir, "bad-der.pem")
	writeFile(t, badDER, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	badKey := filepath.Join(dir, "bad.key")
	writeFile(t, badKey, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))

	tests := []struct {
		name    string
		pair    Pair
		want    error  // sentinel the error wraps
		mention string // text the message must contain (the bad file)
	}{
		{"missing cert file", Pair{missing, good.KeyFile}, fs.ErrNotExist, missing},
		{"missing key file", Pair{good.CertFile, missing}, fs.ErrNotExist, missing},
		{"garbage cert", Pair{garbage, good.KeyFile}, ErrNoCertificate, garbage},
		{"garbage key", Pair{good.CertFile, garbage}, ErrNoKey, garbage},
		{"undecodable certificate", Pair{badDER, good.KeyFile}, ErrBadCertificate, badDER},
		{"undecodable key", Pair{good.CertFile, badKey}, ErrBadKey, badKey},
		{"key of another certificate", writePair(t, dir, "mismatch", goodCert, otherKey), ErrKeyMismatch, filepath.Join(dir, "mismatch.key")},
		{"expired", writePair(t, dir, "expired", expiredCert, expiredKey), ErrExpired, filepath.Join(dir, "expired.pem")},
		{"not yet valid", writePair(t, dir, "future", futureCert, futureKey), ErrNotYetValid, filepath.Join(dir, "future.pem")},
		{"no names", writePair(t, dir, "nonames", noNamesCert, noNamesKey), ErrNoNames, filepath.Join(dir, "nonames.pem")},
		{"empty cert path", Pair{"", good.KeyFile}, nil, "cert_file is empty"},
		{"empty key path", Pair{good.CertFile, ""}, nil, "key_file is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(context.Background(), Options{Files: []Pair{good, tt.pair}, Now: func() time.Time { return now }})
			if err == nil {
				t.Fatalf("New(%+v) = nil error, want one", tt.pair)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("New(%+v) error %q does not wrap %q", tt.pair, err, tt.want)
			}
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Errorf("New(%+v) error %q is not a *FileError", tt.pair, err)
			} else if diff := cmp.Diff(tt.pair, Pair{fe.CertFile, fe.KeyFile}); diff != "" {
				t.Errorf("FileError pair mismatch (-want +got):\n%s", diff)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("New(%+v) error %q does not name %q", tt.pair, err, tt.mention)
			}
		})
	}
}

func TestNewReportsEveryBadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := Pair{filepath.Join(dir, "a.pem"), filepath.Join(dir, "a.key")}
	b := Pair{filepath.Join(dir, "b.pem"), filepath.Join(dir, "b.key")}
	_, err := New(context.Background(), Options{Files: []Pair{a, b}})
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("New error %v is not a list of errors", err)
	}
	var got []Pair
	for _, e := range joined.Unwrap() {
		var fe *FileError
		if errors.As(e, &fe) {
			got = append(got, Pair{fe.CertFile, fe.KeyFile})
		}
	}
	if diff := cmp.Diff([]Pair{a, b}, got); diff != "" {
		t.Errorf("New bad files mismatch (-want +got):\n%s", diff)
	}
}

func TestNewFileFormats(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	dir := t.TempDir()
	tests := []struct {
		name string
		spec leafSpec
		// combined writes the key after the chain in one file used as both.
		combined bool
	}{
		{"ecdsa sec1", leafSpec{}, false},
		{"ecdsa pkcs8", leafSpec{pkcs8: true}, false},
		{"rsa pkcs1", leafSpec{rsa: true}, false},
		{"rsa pkcs8", leafSpec{rsa: true, pkcs8: true}, false},
		{"combined file", leafSpec{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.spec.names = []string{"formats.example.test", "192.0.2.7"}
			certPEM, keyPEM := ca.issue(t, tt.spec)
			p := writePair(t, dir, strings.ReplaceAll(tt.name, " ", "-"), certPEM, keyPEM)
			if tt.combined {
				writeFile(t, p.CertFile, append(append([]byte(nil), certPEM...), keyPEM...))
				p.KeyFile = p.CertFile
			}
			m, err := New(context.Background(), Options{Files: []Pair{p}})
			if err != nil {
				t.Fatalf("New(%+v): %v", p, err)
			}
			got := m.Certificates()
			if len(got) != 1 {
				t.Fatalf("Certificates() = %d certificates, want 1", len(got))
			}
			want := Info{
				Names:    []string{"formats.example.test", "192.0.2.7"},
				NotAfter: got[0].NotAfter,
				Source:   SourceFile,
				Issuer:   "certs test CA",
				CertFile: p.CertFile,
			}
			if diff := cmp.Diff(want, got[0]); diff != "" {
				t.Errorf("Certificates() mismatch (-want +got):\n%s", diff)
			}
			c, err := m.GetCertificate(hello("formats.example.test"))
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Certificate) != 2 {
				t.Errorf("served chain has %d certificates, want leaf and CA", len(c.Certificate))
			}
		})
	}
}

func TestSetFiles(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	dir := t.TempDir()
	c1, k1 := ca.issue(t, leafSpec{names: []string{"one.example.test"}})
	c2, k2 := ca.issue(t, leafSpec{names: []string{"two.example.test"}})
	one := writePair(t, dir, "one", c1, k1)
	two := writePair(t, dir, "two", c2, k2)
	m, err := New(context.Background(), Options{Files: []Pair{one}})
	if err != nil {
		t.Fatal(err)
	}
	bad := Pair{filepath.Join(dir, "nope.pem"), two.KeyFile}
	if err := m.SetFiles([]Pair{two, bad}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("SetFiles with a missing file: error %v, want one wrapping fs.ErrNotExist", err)
	}
	if got := servedNames(t, m, "two.example.test"); got[0] != "one.example.test" {
		t.Errorf("after a failed SetFiles, two.example.test got %v, want the old default one.example.test", got)
	}
	if err := m.SetFiles([]Pair{two}); err != nil {
		t.Fatalf("SetFiles: %v", err)
	}
	if got := servedNames(t, m, "two.example.test"); got[0] != "two.example.test" {
		t.Errorf("after SetFiles, two.example.test got %v", got)
	}
	if err := m.SetFiles(nil); !errors.Is(err, ErrNoSource) {
		t.Errorf("SetFiles(nil) with no other source: error %v, want ErrNoSource", err)
	}
}

func TestNewWithoutSource(t *testing.T) {
	t.Parallel()
	if _, err := New(context.Background(), Options{}); !errors.Is(err, ErrNoSource) {
		t.Errorf("New(Options{}) error %v, want ErrNoSource", err)
	}
}

// servedNames returns the names of the certificate served for sni.
func servedNames(t *testing.T, m *Manager, sni string) []string {
	t.Helper()
	c, err := m.GetCertificate(hello(sni))
	if err != nil {
		t.Fatalf("GetCertificate(%q): %v", sni, err)
	}
	return certNames(c.Leaf)
}

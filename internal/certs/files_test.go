package certs

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/certfile"
	"github.com/forcehttps/forcehttps/internal/testutil"
	"github.com/google/go-cmp/cmp"
)

func TestNewFileErrors(t *testing.T) {
	t.Parallel()
	ca := testutil.NewCA(t, testutil.CAOptions{})
	dir := t.TempDir()
	now := time.Now()
	names := []string{"files.example.test"}

	goodLeaf := ca.Issue(t, testutil.LeafOptions{Names: names})
	otherLeaf := ca.Issue(t, testutil.LeafOptions{Names: names})
	expired := ca.Issue(t, testutil.LeafOptions{Names: names, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)})
	future := ca.Issue(t, testutil.LeafOptions{Names: names, NotBefore: now.Add(time.Hour), NotAfter: now.Add(48 * time.Hour)})
	// No subject alternative names, but a common name, which must not count.
	noNames := ca.Issue(t, testutil.LeafOptions{CommonName: "leaf"})

	good := writePair(t, dir, "good", goodLeaf.ChainPEM(), goodLeaf.KeyPEM())
	missing := filepath.Join(dir, "missing.pem")
	garbage := filepath.Join(dir, "garbage.pem")
	testutil.WriteFile(t, garbage, []byte("this is not PEM\n"))
	badDER := filepath.Join(dir, "bad-der.pem")
	testutil.WriteFile(t, badDER, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	badKey := filepath.Join(dir, "bad.key")
	testutil.WriteFile(t, badKey, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))

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
		{"key of another certificate", writePair(t, dir, "mismatch", goodLeaf.ChainPEM(), otherLeaf.KeyPEM()), ErrKeyMismatch, filepath.Join(dir, "mismatch.key")},
		{"expired", writePair(t, dir, "expired", expired.ChainPEM(), expired.KeyPEM()), ErrExpired, filepath.Join(dir, "expired.pem")},
		{"not yet valid", writePair(t, dir, "future", future.ChainPEM(), future.KeyPEM()), ErrNotYetValid, filepath.Join(dir, "future.pem")},
		{"no names", writePair(t, dir, "nonames", noNames.ChainPEM(), noNames.KeyPEM()), ErrNoNames, filepath.Join(dir, "nonames.pem")},
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
	ca := testutil.NewCA(t, testutil.CAOptions{})
	dir := t.TempDir()
	tests := []struct {
		name    string
		rsaBits int  // 0: ECDSA P-256
		pkcs8   bool // PKCS #8 key, else SEC 1 or PKCS #1
		// combined writes the key after the chain in one file used as both.
		combined bool
	}{
		{"ecdsa sec1", 0, false, false},
		{"ecdsa pkcs8", 0, true, false},
		{"rsa pkcs1", 2048, false, false},
		{"rsa pkcs8", 2048, true, false},
		{"combined file", 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			leaf := ca.Issue(t, testutil.LeafOptions{Names: []string{"formats.example.test", "192.0.2.7"}, RSABits: tt.rsaBits})
			certPEM, keyPEM := leaf.ChainPEM(), leaf.KeyPEM()
			if tt.pkcs8 {
				keyPEM = leaf.PKCS8KeyPEM()
			}
			p := writePair(t, dir, strings.ReplaceAll(tt.name, " ", "-"), certPEM, keyPEM)
			if tt.combined {
				testutil.WriteFile(t, p.CertFile, append(append([]byte(nil), certPEM...), keyPEM...))
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
				Issuer:   ca.Cert.Subject.CommonName,
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
	ca := testutil.NewCA(t, testutil.CAOptions{})
	dir := t.TempDir()
	l1 := ca.Issue(t, testutil.LeafOptions{Names: []string{"one.example.test"}})
	l2 := ca.Issue(t, testutil.LeafOptions{Names: []string{"two.example.test"}})
	one := writePair(t, dir, "one", l1.ChainPEM(), l1.KeyPEM())
	two := writePair(t, dir, "two", l2.ChainPEM(), l2.KeyPEM())
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
	return certfile.Names(c.Leaf)
}

package certfile

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

func TestParse(t *testing.T) {
	t.Parallel()
	ca := testutil.NewCA(t, testutil.CAOptions{})
	now := time.Now()
	good := ca.Issue(t, testutil.LeafOptions{Names: []string{"Shop.Example.com.", "*.apps.example.com", "192.0.2.1", "::ffff:192.0.2.2"}})
	other := ca.Issue(t, testutil.LeafOptions{Names: []string{"other.example.com"}, RSABits: 2048})
	expired := ca.Issue(t, testutil.LeafOptions{Names: []string{"old.example.com"}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)})
	future := ca.Issue(t, testutil.LeafOptions{Names: []string{"new.example.com"}, NotBefore: now.Add(time.Hour), NotAfter: now.Add(48 * time.Hour)})
	combined := append(good.ChainPEM(), good.PKCS8KeyPEM()...)
	tests := []struct {
		name      string
		cert, key []byte
		want      error
		inKeyFile bool
	}{
		{"pair", good.ChainPEM(), good.KeyPEM(), nil, false},
		{"PKCS #8 key", good.CertPEM(), good.PKCS8KeyPEM(), nil, false},
		{"one combined file", combined, combined, nil, false},
		{"key of another certificate", good.CertPEM(), other.KeyPEM(), ErrKeyMismatch, true},
		{"no certificate", []byte("hello"), good.KeyPEM(), ErrNoCertificate, false},
		{"certificate block of garbage", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), good.KeyPEM(), ErrBadCertificate, false},
		{"no key", good.CertPEM(), good.CertPEM(), ErrNoKey, true},
		{"key block of garbage", good.CertPEM(), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), ErrBadKey, true},
		{"expired", expired.CertPEM(), expired.KeyPEM(), ErrExpired, false},
		{"not yet valid", future.CertPEM(), future.KeyPEM(), ErrNotYetValid, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse(tt.cert, tt.key, now)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Parse() error = %v, want %v", err, tt.want)
			}
			if InKeyFile(err) != tt.inKeyFile {
				t.Errorf("InKeyFile(%v) = %v, want %v", err, !tt.inKeyFile, tt.inKeyFile)
			}
			if err == nil && c.Leaf == nil {
				t.Errorf("Parse() returned no Leaf")
			}
		})
	}
	c, err := Parse(good.ChainPEM(), good.KeyPEM(), now)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Names(c.Leaf), []string{"shop.example.com", "*.apps.example.com", "192.0.2.1", "192.0.2.2"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
}

package certfile

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

func TestReloader(t *testing.T) {
	t.Parallel()
	ca := testutil.NewCA(t, testutil.CAOptions{})
	a := ca.Issue(t, testutil.LeafOptions{Names: []string{"a.example.com"}})
	b := ca.Issue(t, testutil.LeafOptions{Names: []string{"b.example.com"}})
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "c.key")
	testutil.WriteFile(t, certFile, a.ChainPEM())
	testutil.WriteFile(t, keyFile, a.KeyPEM())
	var changes []error
	r, err := NewReloader(certFile, keyFile, time.Second, func(err error) { changes = append(changes, err) })
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	r.now = func() time.Time { return now }
	name := func() string { return r.Certificate().Leaf.DNSNames[0] }
	steps := []struct {
		name      string
		cert, key []byte
		advance   time.Duration
		want      string
		changes   int
	}{
		{"first pair", nil, nil, 0, "a.example.com", 0},
		{"half written: last good pair kept", b.ChainPEM(), nil, 2 * time.Second, "a.example.com", 1},
		{"within the interval: not read", nil, b.KeyPEM(), 0, "a.example.com", 1},
		{"new pair taken", nil, nil, 2 * time.Second, "b.example.com", 2},
		{"unchanged: no event", nil, nil, 2 * time.Second, "b.example.com", 2},
	}
	for _, s := range steps {
		if s.cert != nil {
			testutil.WriteFile(t, certFile, s.cert)
		}
		if s.key != nil {
			testutil.WriteFile(t, keyFile, s.key)
		}
		now = now.Add(s.advance)
		if got := name(); got != s.want || len(changes) != s.changes {
			t.Errorf("%s: serving %s after %d changes, want %s after %d", s.name, got, len(changes), s.want, s.changes)
		}
	}
	if changes[0] == nil || changes[1] != nil {
		t.Errorf("changes = %v, want a key mismatch then success", changes)
	}
	if _, err := NewReloader(certFile, filepath.Join(dir, "nope"), 0, nil); err == nil {
		t.Error("NewReloader with a missing key: no error")
	}
}

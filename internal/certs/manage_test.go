package certs

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/certmagic"
	"github.com/google/go-cmp/cmp"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

// TestManageDomainsSkips covers the names ManageDomains never orders. The
// ACME directory does not answer, so a name that slipped through would only
// show in Managed.
func TestManageDomainsSkips(t *testing.T) {
	t.Parallel()
	ca := testutil.NewCA(t, testutil.CAOptions{})
	dir := t.TempDir()
	leaf := ca.Issue(t, testutil.LeafOptions{Names: []string{"*.covered.test", "exact.test"}})
	files := []Pair{writePair(t, dir, "covered", leaf.ChainPEM(), leaf.KeyPEM())}

	tests := []struct {
		name    string
		acme    ACME
		domains []string
		want    []string
		warn    string // a warning that must be logged, if any
	}{
		{"covered by a file exactly", ACME{CARootFile: "x"}, []string{"exact.test", "EXACT.test."}, []string{}, ""},
		{"covered by a file wildcard", ACME{CARootFile: "x"}, []string{"a.covered.test", "*.covered.test"}, []string{}, ""},
		{"wildcard not covered", ACME{CARootFile: "x"}, []string{"*.other.test"}, []string{}, "wildcard"},
		{"ip address", ACME{CARootFile: "x"}, []string{"192.0.2.1"}, []string{}, "IP address"},
		{"internal name with a public ca", ACME{}, []string{"app.localhost", "printer.local"}, []string{}, "public CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := tt.acme
			if a.CARootFile != "" {
				// Any root will do: only the "private CA" setting matters.
				a.CARootFile = ca.WriteFile(t)
			}
			a.Directory = "https://127.0.0.1:1/directory"
			a.Storage = t.TempDir()
			logs := newLogRecorder()
			logs.dumpOnFailure(t, "manager log")
			m, err := New(context.Background(), Options{Files: files, ACME: &a, Logger: slog.New(logs)})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if err := m.ManageDomains(context.Background(), tt.domains); err != nil {
				t.Fatalf("ManageDomains(%q): %v", tt.domains, err)
			}
			if diff := cmp.Diff(tt.want, m.Managed()); diff != "" {
				t.Errorf("Managed() after ManageDomains(%q) mismatch (-want +got):\n%s", tt.domains, diff)
			}
			if tt.warn != "" {
				if _, ok := logs.find(slog.LevelWarn, tt.warn); !ok {
					t.Errorf("no warning mentioning %q logged", tt.warn)
				}
			}
		})
	}
}

func TestManageDomainsInvalidNameChangesNothing(t *testing.T) {
	t.Parallel()
	m := newOfflineACME(t, ACME{CARootFile: ""})
	err := m.ManageDomains(context.Background(), []string{"app.localhost", "bad name", "-bad.test"})
	if err == nil {
		t.Fatal("ManageDomains with invalid names succeeded")
	}
	for _, n := range []string{`"bad name"`, `"-bad.test"`} {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("ManageDomains error %q does not name %s", err, n)
		}
	}
	if got := m.Managed(); len(got) != 0 {
		t.Errorf("Managed() = %q after a failed call, want none", got)
	}
}

func TestManageDomainsWithoutACME(t *testing.T) {
	t.Parallel()
	m, err := New(context.Background(), Options{SelfSigned: []string{"localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.ManageDomains(context.Background(), []string{"shop.example.com"}); err != nil {
		t.Errorf("ManageDomains without ACME: %v", err)
	}
	if got := m.Managed(); got != nil {
		t.Errorf("Managed() without ACME = %q", got)
	}
	if err := m.ManageDomains(context.Background(), []string{"bad name"}); err == nil {
		t.Error("ManageDomains without ACME accepted an invalid name")
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := m.ManageDomains(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("ManageDomains after Close: %v, want ErrClosed", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestNewACMEErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	testutil.WriteFile(t, notDir, []byte("x"))
	garbage := filepath.Join(dir, "garbage.pem")
	testutil.WriteFile(t, garbage, []byte("garbage"))
	tests := []struct {
		name    string
		acme    ACME
		mention string
	}{
		{"both challenges off", ACME{DisableHTTPChallenge: true, DisableTLSALPNChallenge: true}, "both"},
		{"http directory", ACME{Directory: "http://127.0.0.1:1/dir"}, "http://127.0.0.1:1/dir"},
		{"ratio too big", ACME{RenewalWindowRatio: 1}, "ratio"},
		{"negative ratio", ACME{RenewalWindowRatio: -0.1}, "ratio"},
		{"negative interval", ACME{RenewCheckInterval: -1}, "interval"},
		{"bad email", ACME{Email: "ops"}, `"ops"`},
		{"storage is a file", ACME{Storage: filepath.Join(notDir, "acme")}, notDir},
		{"local cache without shared storage", ACME{LocalCache: filepath.Join(dir, "cache")}, "shared storage"},
		{"local cache is a file", ACME{SharedStorage: &certmagic.FileStorage{Path: dir}, LocalCache: filepath.Join(notDir, "cache")}, notDir},
		{"missing root file", ACME{CARootFile: filepath.Join(dir, "nope.pem")}, "nope.pem"},
		{"root file without certificates", ACME{CARootFile: garbage}, garbage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := tt.acme
			if a.Storage == "" {
				a.Storage = t.TempDir()
			}
			m, err := New(context.Background(), Options{ACME: &a, Logger: slog.New(newLogRecorder())})
			if err == nil {
				m.Close()
				t.Fatalf("New(%+v) succeeded", a)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("New(%+v) error %q does not mention %q", a, err, tt.mention)
			}
		})
	}
}

func TestNewACMEStorage(t *testing.T) {
	// Not parallel: changes the environment.
	data := t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	logs := newLogRecorder()
	logs.dumpOnFailure(t, "manager log")
	m, err := New(context.Background(), Options{ACME: &ACME{Directory: "https://127.0.0.1:1/directory"}, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	want := filepath.Join(data, "forcehttps", "acme")
	if m.acme.storage != want {
		t.Errorf("default storage %q, want %q", m.acme.storage, want)
	}
	fi, err := os.Stat(want)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("storage directory mode %v, want 0700", perm)
	}
}

// TestNewACMESharedStorage: a shared storage replaces the directory, which
// is then neither created nor needed.
func TestNewACMESharedStorage(t *testing.T) {
	t.Parallel()
	shared := &certmagic.FileStorage{Path: t.TempDir()}
	notDir := filepath.Join(t.TempDir(), "file")
	testutil.WriteFile(t, notDir, []byte("x"))
	a := ACME{Directory: "https://127.0.0.1:1/directory", Storage: filepath.Join(notDir, "acme"), SharedStorage: shared}
	m, err := New(context.Background(), Options{ACME: &a, Logger: slog.New(newLogRecorder())})
	if err != nil {
		t.Fatalf("New with SharedStorage and an unusable Storage directory: %v", err)
	}
	defer m.Close()
	if m.acme.cfg.Storage != shared || m.acme.storage != "" {
		t.Errorf("storage = %v (directory %q), want the shared storage and no directory", m.acme.cfg.Storage, m.acme.storage)
	}
}

func TestHandleHTTPChallengeNoMatch(t *testing.T) {
	t.Parallel()
	selfOnly, err := New(context.Background(), Options{SelfSigned: []string{"localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		m      *Manager
		method string
		path   string
	}{
		{"without acme", selfOnly, http.MethodGet, "/.well-known/acme-challenge/abc"},
		{"not a challenge path", newOfflineACME(t, ACME{}), http.MethodGet, "/index.html"},
		{"post to a challenge path", newOfflineACME(t, ACME{}), http.MethodPost, "/.well-known/acme-challenge/abc"},
		{"no challenge in progress", newOfflineACME(t, ACME{}), http.MethodGet, "/.well-known/acme-challenge/abc"},
		{"http-01 disabled", newOfflineACME(t, ACME{DisableHTTPChallenge: true}), http.MethodGet, "/.well-known/acme-challenge/abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tt.method, "http://shop.example.test"+tt.path, nil)
			before := *r
			w := httptest.NewRecorder()
			if tt.m.HandleHTTPChallenge(w, r) {
				t.Errorf("HandleHTTPChallenge(%s %s) = true, want false", tt.method, tt.path)
			}
			if w.Body.Len() != 0 || len(w.Header()) != 0 {
				t.Errorf("HandleHTTPChallenge wrote %q %v", w.Body, w.Header())
			}
			if r.Close != before.Close || r.URL.String() != before.URL.String() || r.Host != before.Host {
				t.Error("HandleHTTPChallenge changed the request")
			}
		})
	}
}

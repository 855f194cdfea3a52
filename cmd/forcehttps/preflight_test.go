package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forcehttps/forcehttps/internal/certs"
	"github.com/forcehttps/forcehttps/internal/config"
	"github.com/forcehttps/forcehttps/internal/testutil"
)

func TestPreflightRootsSelfSigned(t *testing.T) {
	t.Parallel()
	tests := []struct {
		names []string
		trust bool
	}{
		{[]string{"localhost", "127.0.0.1", "::1"}, true}, // the embedded default
		{[]string{"localhost", "app.localhost"}, true},
		{[]string{"127.0.0.1"}, true},
		{[]string{"shop.test"}, false},
		{[]string{"localhost", "shop.test"}, false},
		{[]string{"localhost", "192.0.2.1"}, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.names, ","), func(t *testing.T) {
			t.Parallel()
			mgr, err := certs.New(context.Background(), certs.Options{SelfSigned: tt.names, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer mgr.Close()
			cfg := &config.Config{}
			cfg.TLS.SelfSigned = tt.names
			roots, err := preflightRoots(cfg, mgr)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(roots) == 1; got != tt.trust {
				t.Errorf("preflightRoots(self_signed %q) = %d roots, want trusted %v", tt.names, len(roots), tt.trust)
			}
		})
	}
}

const localConfig = `listen: {http: "127.0.0.1:0", https: "127.0.0.1:0"}
tls:
  self_signed: [localhost]
apps:
  - name: local
    domains: [localhost]
    upstream: %[1]s
    force_https: false
    include_dev_hosts: true
admin: {listen: "127.0.0.1:0"}
access_log: {output: "off"}
`

const privateCAConfig = `listen: {http: "127.0.0.1:0", https: "127.0.0.1:0"}
tls:
  certificates: [{cert_file: shop.pem, key_file: shop.key}]
apps:
  - name: shop
    domains: [shop.test]
    upstream: %[1]s
    force_https: false
admin: {listen: "127.0.0.1:0", preflight_ca_file: ca.pem}
access_log: {output: "off"}
`

// TestEnableTrustedPreflight: a loopback self-signed certificate (the
// embedded default's) and one of the CA of admin.preflight_ca_file pass
// the preflight, without --force.
func TestEnableTrustedPreflight(t *testing.T) {
	ca := testutil.NewCA(t, testutil.CAOptions{Name: "private CA"})
	leaf := ca.Issue(t, testutil.LeafOptions{Names: []string{"shop.test"}})
	tests := []struct {
		name, cfg, app string
		files          map[string][]byte
	}{
		{"loopback self-signed", localConfig, "local", nil},
		{"preflight_ca_file", privateCAConfig, "shop", map[string][]byte{"ca.pem": ca.PEM(), "shop.pem": leaf.CertPEM(), "shop.key": leaf.PKCS8KeyPEM()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tt.files {
				testutil.WriteFile(t, filepath.Join(dir, name), data)
			}
			adminURL, tokenFile, _ := startEdgeWith(t, dir, tt.cfg)
			var out, errOut bytes.Buffer
			code := run(context.Background(), []string{"apps", "enable", tt.app, "--admin", adminURL, "--token-file", tokenFile}, &out, &errOut)
			if code != 0 || !strings.Contains(out.String(), "Force HTTPS:  on") {
				t.Errorf("apps enable %s = %d %q %q, want on without --force", tt.app, code, out.String(), errOut.String())
			}
		})
	}
}

func TestPreflightRootsFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := testutil.NewCA(t, testutil.CAOptions{Name: "private CA"})
	good, junk := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "junk.pem")
	testutil.WriteFile(t, good, ca.PEM())
	testutil.WriteFile(t, junk, []byte("not PEM\n"))
	tests := []struct {
		name, file, wantErr string
		roots               int
	}{
		{"a CA", good, "", 1},
		{"not PEM", junk, "admin.preflight_ca_file: " + junk + ": no PEM certificate found", 0},
		{"missing", filepath.Join(dir, "missing.pem"), "admin.preflight_ca_file: open ", 0},
	}
	for _, tt := range tests {
		cfg := &config.Config{}
		cfg.Admin.PreflightCAFile = tt.file
		roots, err := preflightRoots(cfg, nil)
		switch {
		case tt.wantErr == "" && (err != nil || len(roots) != tt.roots):
			t.Errorf("%s: preflightRoots = %d roots, %v; want %d", tt.name, len(roots), err, tt.roots)
		case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) || strings.Count(err.Error(), "admin") != 1):
			t.Errorf("%s: preflightRoots error %v, want %q with the key named once", tt.name, err, tt.wantErr)
		}
	}
}

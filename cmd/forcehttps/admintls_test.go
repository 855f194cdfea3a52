package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

// TestAdminOverTLS runs an edge whose admin listener serves TLS on
// loopback with a private CA's certificate, and drives it with
// "forcehttps apps --ca".
func TestAdminOverTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testutil.NewCA(t, testutil.CAOptions{Name: "admin TLS test CA"})
	leaf := ca.Issue(t, testutil.LeafOptions{Names: []string{"127.0.0.1", "localhost"}})
	testutil.WriteFile(t, filepath.Join(dir, "admin.pem"), leaf.ChainPEM())
	testutil.WriteFile(t, filepath.Join(dir, "admin.key"), leaf.KeyPEM())
	caFile := filepath.Join(dir, "ca.pem")
	testutil.WriteFile(t, caFile, ca.PEM())
	cfg := strings.Replace(appsConfig, `admin: {listen: "127.0.0.1:0"}`,
		`admin: {listen: "127.0.0.1:0", tls: {cert_file: admin.pem, key_file: admin.key}}`, 1)
	plainURL, tokenFile, _ := startEdgeWith(t, dir, cfg)
	adminURL := "https://" + strings.TrimPrefix(plainURL, "http://")

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"https with the private CA", []string{"--admin", adminURL, "--ca", caFile}, 0, ""},
		{"https without the CA", []string{"--admin", adminURL}, 1, "certificate"},
		{"plain HTTP to the TLS listener", []string{"--admin", plainURL}, 1, ""},
		{"a CA file without a certificate", []string{"--admin", adminURL, "--ca", tokenFile}, 1, "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"apps", "--token-file", tokenFile, "--timeout", "10s"}, tt.args...)
			code := run(context.Background(), append(args, "list"), &out, &errOut)
			if code != tt.wantCode || !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("apps list = %d, stderr %q; want %d with %q", code, errOut.String(), tt.wantCode, tt.wantErr)
			}
			if tt.wantCode == 0 && !strings.Contains(out.String(), "shop") {
				t.Errorf("apps list printed %q, want the apps", out.String())
			}
		})
	}

	// TLS 1.1 is refused; the dashboard's cookie is Secure.
	host := strings.TrimPrefix(adminURL, "https://")
	if c, err := tls.Dial("tcp", host, &tls.Config{RootCAs: ca.Pool(), MaxVersion: tls.VersionTLS11}); err == nil {
		c.Close()
		t.Error("a TLS 1.1 handshake with the admin listener succeeded")
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	data, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(data))
	resp, err := client.PostForm(adminURL+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ck := resp.Cookies(); resp.StatusCode != http.StatusSeeOther || len(ck) != 1 || !ck[0].Secure {
		t.Errorf("login over TLS = %d, cookies %v; want 303 and a Secure cookie", resp.StatusCode, ck)
	}

	// A new pair on disk is served without a restart.
	next := ca.Issue(t, testutil.LeafOptions{Names: []string{"127.0.0.1", "admin.reloaded.test"}})
	testutil.WriteFile(t, filepath.Join(dir, "admin.key"), next.KeyPEM())
	testutil.WriteFile(t, filepath.Join(dir, "admin.pem"), next.ChainPEM())
	waitUntil(t, "the admin listener to serve the new certificate", func() bool {
		c, err := tls.Dial("tcp", host, &tls.Config{RootCAs: ca.Pool()})
		if err != nil {
			return false
		}
		defer c.Close()
		names := c.ConnectionState().PeerCertificates[0].DNSNames
		return len(names) > 0 && names[0] == "admin.reloaded.test"
	})
}

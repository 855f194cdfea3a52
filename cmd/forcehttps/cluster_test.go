package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/pgtest"
	"github.com/forcehttps/forcehttps/internal/testutil"
)

const clusterTestConfig = `listen: {http: "127.0.0.1:0", https: "127.0.0.1:0"}
tls: {self_signed: [shop.test]}
apps:
  - name: shop
    domains: [shop.test]
    upstream: http://127.0.0.1:1
    force_https: false
admin: {listen: "127.0.0.1:0", token_file: admin.token}
access_log: {output: "off"}
timeouts: {shutdown: 5s}
cluster: {postgres_file: db.url, replica: edge-1}
`

// TestClusterImportAndEdge imports a single node's state into a database,
// then runs the edge in cluster mode on it.
func TestClusterImportAndEdge(t *testing.T) {
	db := pgtest.Start(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "edge.yaml")
	writeTestFile(t, file, clusterTestConfig)
	writeTestFile(t, filepath.Join(dir, "db.url"), db+"\n")
	writeTestFile(t, filepath.Join(dir, "admin.token"), "tok-0123456789")
	writeTestFile(t, file+".state.json", `{"version": 1, "apps": {"shop": {"force_https": true, "enabled_at": "2026-01-02T03:04:05Z"}}}`)

	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"cluster", "import", "--config", file}, &out, &errOut); code != 0 {
		t.Fatalf("cluster import = %d: %s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "1 app imported") || !strings.Contains(out.String(), "certificates: nothing imported") {
		t.Errorf("cluster import said %q", out.String())
	}
	certs := filepath.Join(dir, "acme")
	if err := os.MkdirAll(filepath.Join(certs, "certificates", "ca", "shop.test"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(certs, "certificates", "ca", "shop.test", "shop.test.crt"), "not really a certificate")
	for i, want := range []string{"1 imported, 0 already there", "0 imported, 1 already there"} {
		out.Reset()
		if code := run(context.Background(), []string{"cluster", "import", "--config", file, "--certs", certs}, &out, &errOut); code != 0 {
			t.Fatalf("cluster import --certs (%d) = %d: %s", i, code, errOut.String())
		}
		if !strings.Contains(out.String(), "0 apps imported") || !strings.Contains(out.String(), "kept the database's state of shop") ||
			!strings.Contains(out.String(), want) {
			t.Errorf("cluster import --certs (%d) said %q, want %q and the state kept", i, out.String(), want)
		}
	}

	e := startEdge(t, "--config", file, "--watch-interval", "0")
	adminAddr, httpAddr := e.listening["admin"].(string), e.listening["http"].(string)

	// The imported state applies: shop redirects.
	req, _ := http.NewRequest("GET", "http://"+httpAddr+"/", nil)
	req.Host = "shop.test"
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently {
		t.Errorf("GET http://shop.test/ = %d, want 301 from the imported state", resp.StatusCode)
	}

	req, _ = http.NewRequest("GET", "http://"+adminAddr+"/api/cluster", nil)
	req.Header.Set("Authorization", "Bearer tok-0123456789")
	var body []byte
	waitUntil(t, "the replica listed on /api/cluster", func() bool {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200 && bytes.Contains(body, []byte(`"name": "edge-1"`))
	})
	if !bytes.Contains(body, []byte(`"store_reachable": true`)) {
		t.Errorf("/api/cluster = %s", body)
	}
	resp, err = http.Get("http://" + adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, s := range []string{"forcehttps_cluster_store_up 1", "forcehttps_cluster_state_version 1", `forcehttps_cluster_members{state="converged"} 1`} {
		if !bytes.Contains(metrics, []byte(s)) {
			t.Errorf("/metrics lacks %s", s)
		}
	}
	e.stop(t)
	if strings.Contains(e.logs.String(), pgtest.Password) {
		t.Errorf("the log shows the database password:\n%s", e.logs.String())
	}
}

// TestEdgeClusterUnreachable: without the database and without a local
// copy, the edge exits at once with an error naming the problem, not the
// password.
func TestEdgeClusterUnreachable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "edge.yaml")
	writeTestFile(t, file, clusterTestConfig)
	writeTestFile(t, filepath.Join(dir, "db.url"), fmt.Sprintf("postgres://u:hunter2-secret@%s/db?connect_timeout=5", testutil.ClosedAddr(t)))
	writeTestFile(t, filepath.Join(dir, "admin.token"), "tok-0123456789")
	var logs lockedBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if code := run(ctx, []string{"edge", "--config", file}, io.Discard, &logs); code != 1 {
		t.Fatalf("edge = %d, want 1\n%s", code, logs.String())
	}
	if ctx.Err() != nil {
		t.Errorf("edge took more than 60s to fail")
	}
	for _, want := range []string{"PostgreSQL unreachable", "no last-known-good copy"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), "hunter2") {
		t.Errorf("the log shows the password:\n%s", logs.String())
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"cluster", "--help"}, &out, &errOut); code != 0 || !strings.Contains(errOut.String(), "cluster import") {
		t.Errorf("cluster --help = %d %q", code, errOut.String())
	}
}

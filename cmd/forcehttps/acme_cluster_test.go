//go:build unix

package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/pebbletest"
	"github.com/forcehttps/forcehttps/internal/pgtest"
)

const acmeClusterConfig = `listen: {http: "127.0.0.1:%d", https: "127.0.0.1:0"}
tls:
  acme: {email: ops@example.org, directory: %q, ca_root: %q, storage: acme, challenges: {tls_alpn: false}, on_demand: %v}
admin: {listen: "127.0.0.1:0", token_file: %q}
access_log: {output: "off"}
timeouts: {shutdown: 5s}
cluster: {postgres_file: %q, replica: %s}
`

// TestACMEClusterDomainAcrossReplicas runs two replicas on one database
// with ACME from Pebble: a domain added through replica A's API is
// served by replica B with its certificate (B's HTTP redirects to it),
// from one order between them. On demand, the first handshake at B
// orders it, and A then serves it from the shared storage without an
// order of its own.
func TestACMEClusterDomainAcrossReplicas(t *testing.T) {
	for _, onDemand := range []bool{false, true} {
		t.Run(fmt.Sprintf("on_demand=%v", onDemand), func(t *testing.T) {
			testACMECluster(t, onDemand)
		})
	}
}

func testACMECluster(t *testing.T, onDemand bool) {
	db := pgtest.Start(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(backend.Close)
	// Pebble validates HTTP-01 at replica A; B's challenges are in the
	// database, where A finds them.
	portA := pebbletest.FreePort(t)
	p := pebbletest.Start(t, pebbletest.Options{HTTPPort: portA, TLSPort: portA})
	shared := t.TempDir()
	writeTestFile(t, filepath.Join(shared, "db.url"), db+"\n")
	writeTestFile(t, filepath.Join(shared, "admin.token"), "tok-0123456789")
	start := func(name string, port int) *runningEdge {
		dir := t.TempDir()
		file := filepath.Join(dir, "edge.yaml")
		writeTestFile(t, file, fmt.Sprintf(acmeClusterConfig, port, p.Directory, p.CAFile, onDemand,
			filepath.Join(shared, "admin.token"), filepath.Join(shared, "db.url"), name))
		e := startEdge(t, "--config", file, "--watch-interval", "0")
		t.Cleanup(func() {
			e.stop(t)
			if t.Failed() {
				t.Logf("%s log:\n%s", name, e.logs.String())
			}
		})
		return e
	}
	a, b := start("edge-a", portA), start("edge-b", 0)

	const domain = "shop.cluster.test"
	req, _ := http.NewRequest("POST", "http://"+a.listening["admin"].(string)+"/api/apps",
		strings.NewReader(`{"name": "shop", "domains": ["`+domain+`"], "upstream": "`+backend.URL+`", "force_https": true}`))
	req.Header.Set("Authorization", "Bearer tok-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/apps on replica A = %d %s", resp.StatusCode, body)
	}

	serves := func(e *runningEdge) func() bool {
		return func() bool {
			return handshakeVerified(e.listening["https"].(string), domain, p.Roots) == nil
		}
	}
	waitUntilLong(t, "replica B to serve "+domain+" with its certificate", serves(b))
	waitUntilLong(t, "replica B to redirect "+domain, func() bool {
		req, _ := http.NewRequest("GET", "http://"+b.listening["http"].(string)+"/", nil)
		req.Host = domain
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusMovedPermanently
	})
	waitUntilLong(t, "replica A to serve "+domain+" with its certificate", serves(a))
	if n := p.Orders(); n != 1 {
		t.Errorf("Pebble received %d orders from two replicas, want 1", n)
	}
}

// handshakeVerified connects to addr with server name sni and verifies
// the certificate against roots.
func handshakeVerified(addr, sni string, roots *x509.CertPool) error {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", addr, &tls.Config{ServerName: sni, RootCAs: roots})
	if err != nil {
		return err
	}
	return conn.Close()
}

// waitUntilLong is waitUntil with a minute for ACME orders.
func waitUntilLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

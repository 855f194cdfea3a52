package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	ms := func(n ...int) []time.Duration {
		d := make([]time.Duration, len(n))
		for i, v := range n {
			d[i] = time.Duration(v) * time.Millisecond
		}
		return d
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      int
		want   time.Duration
	}{
		{"none", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of four is the second", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of a hundred is the 99th", ms(seq(100)...), 99, 99 * time.Millisecond},
		{"p99 of ten is the last", ms(seq(10)...), 99, 10 * time.Millisecond},
		{"p0 is the first", ms(5, 6), 0, 5 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %d) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i + 1
	}
	return s
}

func TestCheckLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:80", true},
		{"127.0.0.2:8080", true},
		{"[::1]:443", true},
		{"10.0.0.1:80", false},
		{"192.168.1.1:80", false},
		{"localhost:80", false}, // a name could resolve anywhere
		{"127.0.0.1", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			if err := checkLoopback(tt.addr); (err == nil) != tt.ok {
				t.Errorf("checkLoopback(%q) = %v, want ok %t", tt.addr, err, tt.ok)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"no mode", nil},
		{"unknown mode", []string{"flood"}},
		{"handshake to a public address", []string{"handshake", "-connect", "192.0.2.1:443", "-cacert", "x"}},
		{"handshake without a certificate", []string{"handshake", "-connect", "127.0.0.1:443"}},
		{"handshake too long", []string{"handshake", "-connect", "127.0.0.1:443", "-cacert", "testdata/none", "-d", "1h"}},
		{"idle without ready file", []string{"idle", "-connect", "127.0.0.1:443", "-cacert", "x"}},
		{"wait for a non-http URL", []string{"wait", "-connect", "127.0.0.1:80", "-url", "ftp://x/"}},
		{"unknown flag", []string{"wait", "-bogus"}},
		{"rate to a public address", []string{"rate", "-connect", "192.0.2.1:80"}},
		{"rate to a name", []string{"rate", "-connect", "localhost:80"}},
		{"rate over TLS to a public address", []string{"rate", "-connect", "192.0.2.1:443", "-cacert", "x"}},
		{"rate with an unreadable certificate", []string{"rate", "-connect", "127.0.0.1:443", "-cacert", "testdata/none"}},
		{"rate of zero", []string{"rate", "-connect", "127.0.0.1:80", "-rate", "0"}},
		{"rate without connections", []string{"rate", "-connect", "127.0.0.1:80", "-c", "0"}},
		{"rate too long", []string{"rate", "-connect", "127.0.0.1:80", "-d", "1h"}},
		{"rate with no grace", []string{"rate", "-connect", "127.0.0.1:80", "-grace", "0s"}},
		{"rate with too many requests", []string{"rate", "-connect", "127.0.0.1:80", "-rate", "1000000", "-d", "1m"}},
		{"rate with an impossible status", []string{"rate", "-connect", "127.0.0.1:80", "-status", "42"}},
		{"rate with an unknown timer", []string{"rate", "-connect", "127.0.0.1:80", "-timer", "tsc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), tt.args, &stdout, &stderr); code != 2 {
				t.Errorf("run(%q) = %d, want 2; stderr: %s", tt.args, code, stderr.String())
			}
		})
	}
}

// tlsServer starts an HTTPS server on loopback that counts connections and
// resumed handshakes, and writes its certificate to a file.
type tlsServer struct {
	*httptest.Server
	cacert  string
	conns   atomic.Int64
	closed  atomic.Int64
	resumed atomic.Int64
}

func newTLSServer(t *testing.T) *tlsServer {
	t.Helper()
	s := &tlsServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && r.TLS.DidResume {
			s.resumed.Add(1)
		}
		if r.Host != "example.com" {
			http.Error(w, "wrong host "+r.Host, http.StatusMisdirectedRequest)
			return
		}
		w.Write([]byte("ok\n"))
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are part of the tests
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.closed.Add(1)
		}
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	s.cacert = filepath.Join(t.TempDir(), "cert.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	if err := os.WriteFile(s.cacert, block, 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// parseKV reads the "key value" lines the modes print.
func parseKV(out string) map[string]string {
	kv := map[string]string{}
	for line := range strings.Lines(out) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
		kv[k] = v
	}
	return kv
}

func TestHandshakeIsFullEveryTime(t *testing.T) {
	t.Parallel()
	s := newTLSServer(t)
	var stdout, stderr bytes.Buffer
	args := []string{"handshake", "-connect", s.Listener.Addr().String(), "-host", "example.com",
		"-cacert", s.cacert, "-c", "2", "-n", "20", "-d", "30s"}
	if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("run(%q) = %d; stderr: %s", args, code, stderr.String())
	}
	kv := parseKV(stdout.String())
	got := map[string]string{"requests": kv["requests"], "errors": kv["errors"], "tls": kv["tls"]}
	want := map[string]string{"requests": "20", "errors": "0", "tls": "TLS 1.3 TLS_AES_128_GCM_SHA256 resumed=false"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("handshake output mismatch (-want +got):\n%s", diff)
	}
	if n := s.conns.Load(); n != 20 {
		t.Errorf("server saw %d connections for 20 requests, want one each", n)
	}
	if n := s.resumed.Load(); n != 0 {
		t.Errorf("%d handshakes resumed a session, want none", n)
	}
}

func TestHandshakeCountsWrongAnswers(t *testing.T) {
	t.Parallel()
	s := newTLSServer(t)
	var stdout, stderr bytes.Buffer
	args := []string{"handshake", "-connect", s.Listener.Addr().String(), "-host", "example.com",
		"-path", "/", "-cacert", s.cacert, "-c", "1", "-n", "3", "-tls", "1.2"}
	if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("run(%q) = %d; stderr: %s", args, code, stderr.String())
	}
	if got := parseKV(stdout.String())["tls"]; !strings.HasPrefix(got, "TLS 1.2 ") {
		t.Errorf("-tls 1.2 negotiated %q", got)
	}

	// The certificate is for example.com: another name fails its check.
	stdout.Reset()
	args = []string{"handshake", "-connect", s.Listener.Addr().String(), "-host", "bench.test",
		"-cacert", s.cacert, "-c", "1", "-n", "3"}
	if code := run(t.Context(), args, &stdout, &stderr); code != 1 {
		t.Errorf("run(%q) = %d, want 1 (no request succeeded)", args, code)
	}
	if got := parseKV(stdout.String())["errors"]; got != "3" {
		t.Errorf("errors = %q, want 3", got)
	}
}

func TestIdleHoldsConnectionsUntilReadyFileIsRemoved(t *testing.T) {
	t.Parallel()
	s := newTLSServer(t)
	ready := filepath.Join(t.TempDir(), "ready")
	var stdout, stderr bytes.Buffer
	args := []string{"idle", "-connect", s.Listener.Addr().String(), "-host", "example.com",
		"-cacert", s.cacert, "-n", "25", "-c", "4", "-ready", ready, "-hold", "1m"}
	var (
		code int
		wg   sync.WaitGroup
	)
	wg.Go(func() { code = run(t.Context(), args, &stdout, &stderr) })

	summary := waitForFile(t, ready)
	if diff := cmp.Diff("open 25\nfailed 0\nclosed_by_server 0\n", summary); diff != "" {
		t.Errorf("ready file mismatch (-want +got):\n%s", diff)
	}
	if n := s.conns.Load(); n != 25 {
		t.Errorf("server saw %d connections, want 25", n)
	}
	if err := os.Remove(ready); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if code != 0 {
		t.Fatalf("run(%q) = %d; stderr: %s", args, code, stderr.String())
	}
	if got := parseKV(stdout.String())["closed_during_hold"]; got != "0" {
		t.Errorf("closed_during_hold = %q, want 0", got)
	}
}

func TestIdleReportsConnectionsClosedByTheServer(t *testing.T) {
	t.Parallel()
	s := newTLSServer(t)
	ready := filepath.Join(t.TempDir(), "ready")
	var stdout, stderr bytes.Buffer
	args := []string{"idle", "-connect", s.Listener.Addr().String(), "-host", "example.com",
		"-cacert", s.cacert, "-n", "5", "-ready", ready, "-hold", "1m"}
	var (
		code int
		wg   sync.WaitGroup
	)
	wg.Go(func() { code = run(t.Context(), args, &stdout, &stderr) })
	waitForFile(t, ready)
	s.CloseClientConnections()
	deadline := time.Now().Add(10 * time.Second)
	for s.closed.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := os.Remove(ready); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if code != 0 {
		t.Fatalf("run(%q) = %d; stderr: %s", args, code, stderr.String())
	}
	if got := parseKV(stdout.String())["closed_during_hold"]; got != "5" {
		t.Errorf("closed_during_hold = %q, want 5", got)
	}
}

// waitForFile returns the content of a file once it exists.
func waitForFile(t *testing.T, name string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(name); err == nil {
			return string(b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s was not written", name)
	return ""
}

func TestWait(t *testing.T) {
	t.Parallel()
	s := newTLSServer(t)
	var stdout, stderr bytes.Buffer
	since := time.Now().Add(-time.Hour)
	args := []string{"wait", "-connect", s.Listener.Addr().String(), "-url", "https://example.com/",
		"-cacert", s.cacert, "-status", "200", "-since", strconv.FormatInt(since.UnixNano(), 10), "-timeout", "30s"}
	if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("run(%q) = %d; stderr: %s", args, code, stderr.String())
	}
	secs, err := strconv.ParseFloat(strings.TrimSpace(stdout.String()), 64)
	if err != nil || secs < 3600 {
		t.Errorf("wait printed %q, want the seconds since -since (over 3600)", stdout.String())
	}

	// A status that never comes: the wait ends at the timeout.
	args = []string{"wait", "-connect", s.Listener.Addr().String(), "-url", "https://example.com/",
		"-cacert", s.cacert, "-status", "301", "-timeout", "200ms"}
	if code := run(t.Context(), args, &stdout, &stderr); code != 1 {
		t.Errorf("run(%q) = %d, want 1", args, code)
	}
}

func TestWaitGivesUpWhenTheServerExits(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: every attempt fails

	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("no true command: %v", err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"wait", "-connect", addr, "-url", "http://bench.test/", "-status", "301",
		"-timeout", "1m", "-pid", strconv.Itoa(cmd.Process.Pid)}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if code := run(ctx, args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "exited") {
		t.Errorf("run(%q) = %d, stderr %q; want 1 and the process named as exited", args, code, stderr.String())
	}
}

func TestRunning(t *testing.T) {
	t.Parallel()
	if !running(os.Getpid()) {
		t.Errorf("running(own pid) = false")
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	if !running(cmd.Process.Pid) {
		t.Errorf("running(live child) = false")
	}
	cmd.Process.Kill()
	// Until it is waited for, the child is a zombie: not running.
	deadline := time.Now().Add(10 * time.Second)
	for running(cmd.Process.Pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if running(cmd.Process.Pid) {
		t.Errorf("running(killed child, not yet waited for) = true")
	}
	cmd.Wait()
}

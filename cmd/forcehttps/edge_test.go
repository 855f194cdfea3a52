package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/config"
	"github.com/forcehttps/forcehttps/internal/edge"
	"github.com/forcehttps/forcehttps/internal/testutil"
)

func TestEdgeFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	valid := filepath.Join(dir, "edge.yaml")
	invalid := filepath.Join(dir, "bad.yaml")
	jsonFile := filepath.Join(dir, "edge.json")
	writeTestFile(t, valid, "tls: {self_signed: [a.example.com]}\napps:\n  - {name: a, domains: [a.example.com], upstream: \"http://127.0.0.1:9000\"}\n")
	writeTestFile(t, jsonFile, `{"tls": {"self_signed": ["a.example.com"]}, "apps": [{"name": "a", "domains": ["a.example.com"], "upstream": "http://127.0.0.1:9000"}]}`)
	writeTestFile(t, invalid, "trusted_proxies: [10.0.0.0/33]\napps:\n  - {name: a, domains: [a.example.com], upstream: \"ftp://x\", colour: red}\n")
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout []string
		inStderr []string
	}{
		{"check valid", []string{"--check-config", valid}, 0, []string{"OK: " + valid + ": 1 app"}, nil},
		{"check json", []string{"--check-config", jsonFile}, 0, []string{"OK: "}, nil},
		{"check invalid", []string{"--check-config", invalid}, 1, nil, []string{
			"invalid configuration (4 errors)",
			`trusted_proxies[0]: "10.0.0.0/33" is not a CIDR prefix or an IP address (line 1)`,
			`tls: no certificate source`,
			`apps[0].upstream: "ftp://x": scheme must be http, https or h2c (line 3)`,
			`apps[0].colour: unknown key`,
		}},
		{"check missing file", []string{"--check-config", filepath.Join(dir, "nope.yaml")}, 1, nil, []string{"no such file"}},
		{"serve invalid", []string{"--config", invalid}, 1, nil, []string{"scheme must be http, https or h2c"}},
		{"print default", []string{"--print-default"}, 0, []string{"builtin:inspector", "127.0.0.1:8443"}, nil},
		{"unknown flag", []string{"--frobnicate"}, 2, nil, []string{"flag provided but not defined"}},
		{"extra argument", []string{valid}, 2, nil, []string{"unexpected argument"}},
		{"two modes", []string{"--config", valid, "--check-config", valid}, 2, nil, []string{"do not go together"}},
		{"help", []string{"-h"}, 0, nil, []string{"Usage: forcehttps edge", "-check-config", "-gc-floor"}},
		{"negative gc floor", []string{"--gc-floor", "-1"}, 2, nil, []string{"--gc-floor must not be negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			code := run(context.Background(), append([]string{"edge"}, tt.args...), &out, &errOut)
			if code != tt.code {
				t.Errorf("edge %q = %d, want %d\nstdout: %s\nstderr: %s", tt.args, code, tt.code, out.String(), errOut.String())
			}
			for _, s := range tt.inStdout {
				if !strings.Contains(out.String(), s) {
					t.Errorf("edge %q: stdout %q lacks %q", tt.args, out.String(), s)
				}
			}
			for _, s := range tt.inStderr {
				if !strings.Contains(errOut.String(), s) {
					t.Errorf("edge %q: stderr %q lacks %q", tt.args, errOut.String(), s)
				}
			}
		})
	}
}

// TestPrintDefaultParses checks that what --print-default prints is a
// configuration that --config accepts.
func TestPrintDefaultParses(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	run(context.Background(), []string{"edge", "--print-default"}, &out, io.Discard)
	if _, err := config.Parse(out.Bytes(), config.YAML); err != nil {
		t.Errorf("--print-default output does not parse: %v", err)
	}
}

// lockedBuffer collects the command's log lines.
type lockedBuffer struct {
	testutil.Buffer
}

// find returns the first JSON log line whose msg is msg.
func (b *lockedBuffer) find(msg string) map[string]any {
	for _, l := range strings.Split(b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			return m
		}
	}
	return nil
}

// TestEdgeServes runs the command as a user would, with the embedded
// default's app and certificate on ports of the system's choosing, and
// makes the two requests of the README.
func TestEdgeServes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "edge.yaml")
	def := strings.NewReplacer(`"127.0.0.1:8080"`, `"127.0.0.1:0"`, `"127.0.0.1:8443"`, `"127.0.0.1:0"`, `"127.0.0.1:9090"`, `"127.0.0.1:0"`).Replace(string(config.DefaultYAML()))
	writeTestFile(t, file, def)

	e := startEdge(t, "--config", file, "--watch-interval", "0")
	logs, listening := e.logs, e.listening
	httpAddr, httpsAddr, adminAddr := listening["http"].(string), listening["https"].(string), listening["admin"].(string)
	_, httpsPort, _ := net.SplitHostPort(httpsAddr)
	_, httpPort, _ := net.SplitHostPort(httpAddr)

	// The hints are logged just after "edge: listening".
	var hints []string
	waitUntil(t, "the try hints", func() bool {
		hints = nil
		for _, l := range strings.Split(logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "edge: try" {
				hints = append(hints, m["command"].(string))
			}
		}
		return len(hints) >= 2
	})
	wantHints := []string{"curl -sI http://localhost:" + httpPort + "/headers", "curl -skI https://localhost:" + httpsPort + "/headers"}
	if strings.Join(hints, "\n") != strings.Join(wantHints, "\n") {
		t.Errorf("hints %q, want %q", hints, wantHints)
	}

	// curl -sI http://localhost:8080/headers
	client := &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
				_, port, _ := net.SplitHostPort(addr)
				var d net.Dialer
				return d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", port))
			},
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // curl -k: the certificate is self-signed
			ForceAttemptHTTP2: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	resp, err := client.Head("http://localhost:" + httpPort + "/headers")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "https://localhost:" + httpsPort + "/headers"; resp.StatusCode != 301 || resp.Header.Get("Location") != want {
		t.Errorf("HEAD http://localhost/headers = %d %q, want 301 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	// curl -skI https://localhost:8443/headers
	resp, err = client.Head("https://localhost:" + httpsPort + "/headers")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" || resp.Header.Values("Strict-Transport-Security")[0] != "max-age=31536000" ||
		len(resp.Header.Values("Strict-Transport-Security")) != 1 || len(resp.Header.Get("X-Request-Id")) != 32 {
		t.Errorf("HEAD https://localhost/headers = %d %s %v, want 200 HTTP/2.0 with one HSTS max-age=31536000 and an X-Request-Id", resp.StatusCode, resp.Proto, resp.Header)
	}

	// The inspector saw the proxied request.
	resp, err = client.Get("https://localhost:" + httpsPort + "/headers.json")
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Headers  map[string][]string `json:"headers"`
		Decision struct {
			Secure bool   `json:"secure"`
			Source string `json:"source"`
		} `json:"decision"`
	}
	err = json.NewDecoder(resp.Body).Decode(&report)
	resp.Body.Close()
	if err != nil || !report.Decision.Secure || report.Decision.Source != "trusted-proxy:x-forwarded-proto" || report.Headers["X-Forwarded-Proto"][0] != "https" {
		t.Errorf("inspector report: %+v %v", report, err)
	}

	// Metrics are there, with the certificate.
	resp, err = http.Get("http://" + adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, s := range []string{
		`forcehttps_edge_redirects_total{app="inspector",reason="plain-http"} 1`,
		`forcehttps_edge_certificate_expiry_timestamp_seconds{name="localhost",source="self-signed"}`,
	} {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("/metrics lacks %s", s)
		}
	}

	// SIGHUP reloads the file (the polling is off).
	writeTestFile(t, file, strings.Replace(def, "include_dev_hosts: true", "include_dev_hosts: true\n    hsts: {max_age: 600}", 1))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the reload", func() bool { return logs.find("edge: configuration reloaded") != nil })
	if logs.find("request") == nil {
		t.Errorf("no access log line on stderr")
	}
	resp, err = client.Head("https://localhost:" + httpsPort + "/headers")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=600" {
		t.Errorf("after SIGHUP: HSTS %q, want max-age=600", got)
	}

	e.stop(t)
}

// runningEdge is the edge command run in the background by a test.
type runningEdge struct {
	logs      *lockedBuffer
	listening map[string]any // the "edge: listening" log line
	cancel    context.CancelFunc
	code      chan int
}

// startEdge runs "forcehttps edge args..." until stop, and waits until
// it listens.
func startEdge(t *testing.T, args ...string) *runningEdge {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e := &runningEdge{logs: &lockedBuffer{}, cancel: cancel, code: make(chan int, 1)}
	t.Cleanup(cancel)
	go func() {
		e.code <- run(ctx, append([]string{"edge", "--log-format", "json"}, args...), io.Discard, e.logs)
	}()
	waitUntil(t, "the edge to listen", func() bool { e.listening = e.logs.find("edge: listening"); return e.listening != nil })
	return e
}

// stop shuts the edge down and checks that it exits 0 within 30s.
func (e *runningEdge) stop(t *testing.T) {
	t.Helper()
	e.cancel()
	select {
	case c := <-e.code:
		if c != 0 {
			t.Errorf("edge exited %d after the shutdown, want 0\n%s", c, e.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("edge did not exit within 30s of the shutdown")
	}
}

func TestTryHints(t *testing.T) {
	t.Parallel()
	def := config.Default()
	tests := []struct {
		name  string
		cfg   *config.Config
		addrs edge.Addrs
		want  []string
	}{
		{"default", def, edge.Addrs{HTTP: "127.0.0.1:8080", HTTPS: "127.0.0.1:8443"},
			[]string{"curl -sI http://localhost:8080/headers", "curl -skI https://localhost:8443/headers"}},
		{"standard ports, ACME", &config.Config{Apps: []config.App{{Domains: []string{"*.shop.example.com", "shop.example.com"}, Upstream: "http://127.0.0.1:9000"}}},
			edge.Addrs{HTTP: "[::]:80", HTTPS: "[::]:443"},
			[]string{"curl -sI --resolve shop.example.com:80:127.0.0.1 http://shop.example.com/", "curl -sI --resolve shop.example.com:443:127.0.0.1 https://shop.example.com/"}},
		{"name on a loopback listener", &config.Config{Apps: []config.App{{Domains: []string{"shop.test"}}}, TLS: config.TLS{SelfSigned: []string{"shop.test"}}},
			edge.Addrs{HTTP: "127.0.0.2:8080", HTTPS: "[::1]:8443"},
			[]string{"curl -sI --resolve shop.test:8080:127.0.0.2 http://shop.test:8080/", "curl -skI --resolve shop.test:8443:[::1] https://shop.test:8443/"}},
		{"public port", &config.Config{Listen: config.Listen{HTTPSPublicPort: 443}, Apps: []config.App{{Domains: []string{"shop.example.com"}}}},
			edge.Addrs{HTTP: "0.0.0.0:8080", HTTPS: "0.0.0.0:8443"},
			[]string{"curl -sI --resolve shop.example.com:8080:127.0.0.1 http://shop.example.com:8080/", "curl -sI --resolve shop.example.com:443:127.0.0.1 https://shop.example.com/"}},
		{"IPv6 domain", &config.Config{Apps: []config.App{{Domains: []string{"::1"}}}, TLS: config.TLS{SelfSigned: []string{"::1"}}},
			edge.Addrs{HTTP: "[::1]:8080", HTTPS: "[::1]:443"},
			[]string{"curl -sI http://[::1]:8080/", "curl -skI https://[::1]/"}},
		{"only wildcards", &config.Config{Apps: []config.App{{Domains: []string{"*.example.com"}}}}, edge.Addrs{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tryHints(tt.cfg, tt.addrs)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("tryHints() = %q, want %q", got, tt.want)
			}
		})
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// waitUntil polls cond every 10ms for at most 20s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEdgeListenFlags checks that --http and --https replace the
// addresses of the file (and of the embedded default), on reloads too,
// and that a listener error is reported with its context once.
func TestEdgeListenFlags(t *testing.T) {
	t.Parallel()
	// The embedded default moves without a file.
	def, err := listenOverride{http: "127.0.0.1:18080", https: "[::1]:18443"}.apply(config.Default())
	if err != nil || def.Listen.HTTP != "127.0.0.1:18080" || def.Listen.HTTPS != "[::1]:18443" || def.PublicHTTPSPort() != 18443 {
		t.Errorf("override of the default = %+v, %v", def, err)
	}
	if _, err := (listenOverride{http: "8080"}).apply(config.Default()); err == nil || !strings.Contains(err.Error(), `listen.http: "8080": not host:port`) {
		t.Errorf("override with a bad address = %v, want the listen.http error", err)
	}

	// A file whose addresses are taken: the flags win.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyTLS, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busyTLS.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "edge.yaml")
	conf := "listen: {http: \"" + busy.Addr().String() + "\", https: \"" + busyTLS.Addr().String() + "\"}\n" +
		"tls: {self_signed: [localhost]}\napps:\n  - {name: a, domains: [localhost], upstream: \"http://127.0.0.1:9\"}\naccess_log: {output: \"off\"}\n"
	writeTestFile(t, file, conf)

	// Without the flags: the error says where, once.
	var errOut bytes.Buffer
	if code := run(context.Background(), []string{"edge", "--config", file, "--watch-interval", "0"}, io.Discard, &errOut); code != 1 {
		t.Fatalf("edge on a busy port = %d, want 1\n%s", code, errOut.String())
	}
	if s := errOut.String(); !strings.Contains(s, "edge: http listener: listen tcp "+busy.Addr().String()) || strings.Contains(s, "edge: edge:") {
		t.Errorf("edge on a busy port: stderr %q, want \"edge: http listener: listen tcp ...\" with the prefix once", s)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs lockedBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"edge", "--config", file, "--watch-interval", "20ms", "--log-format", "json",
			"--http", "127.0.0.1:0", "--https", "127.0.0.1:0"}, io.Discard, &logs)
	}()
	var listening map[string]any
	waitUntil(t, "the edge to listen", func() bool { listening = logs.find("edge: listening"); return listening != nil })
	if listening["http"] == busy.Addr().String() || listening["https"] == busyTLS.Addr().String() {
		t.Errorf("the edge listens on %v, want the addresses of the flags", listening)
	}
	writeTestFile(t, file, strings.Replace(conf, "upstream", "force_https: false, upstream", 1))
	waitUntil(t, "the reload", func() bool { return logs.find("edge: configuration reloaded") != nil })
	if m := logs.find("edge: these settings changed but apply only after a restart"); m != nil {
		t.Errorf("the reload saw the file's listen addresses: %v", m)
	}
	cancel()
	waitExit(t, code, &logs)
}

// waitExit waits at most 30s for the command's exit code, which must be
// 0 after a shutdown.
func waitExit(t *testing.T, code <-chan int, logs *lockedBuffer) {
	t.Helper()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("edge exited %d after the shutdown, want 0\n%s", c, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("edge did not exit within 30s of the shutdown")
	}
}

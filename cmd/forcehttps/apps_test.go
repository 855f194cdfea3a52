package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func TestAppsUsage(t *testing.T) {
	t.Setenv("FORCEHTTPS_ADMIN_TOKEN", "t")
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no command", []string{"apps"}, "a command is required"},
		{"unknown command", []string{"apps", "frob"}, `unknown command "frob"`},
		{"show without name", []string{"apps", "show"}, "exactly one app NAME"},
		{"list with name", []string{"apps", "list", "x"}, "no argument expected"},
		{"two names", []string{"apps", "enable", "a", "b"}, "exactly one app NAME"},
		{"set nothing", []string{"apps", "set", "a"}, "nothing to change"},
		{"bad boolean", []string{"apps", "set", "a", "--temporary=maybe"}, "wants true or false"},
		{"bad drain", []string{"apps", "disable", "a", "--drain", "soon"}, "not a duration"},
		{"bad admin URL", []string{"apps", "--admin", "ftp://x", "list"}, "not an http or https URL"},
		{"unknown flag", []string{"apps", "enable", "a", "--forse"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(context.Background(), tt.args, &out, &errOut); code != 2 {
				t.Errorf("run(%q) = %d, want 2; stderr %q", tt.args, code, errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.stderr) {
				t.Errorf("run(%q): stderr %q, want it to contain %q", tt.args, errOut.String(), tt.stderr)
			}
		})
	}
	t.Run("no token", func(t *testing.T) {
		t.Setenv("FORCEHTTPS_ADMIN_TOKEN", "")
		var errOut bytes.Buffer
		if code := run(context.Background(), []string{"apps", "list"}, io.Discard, &errOut); code != 2 || !strings.Contains(errOut.String(), "no token") {
			t.Errorf("apps list without a token = %d %q, want 2, no token", code, errOut.String())
		}
	})
}

const appsConfig = `listen: {http: "127.0.0.1:0", https: "127.0.0.1:0"}
tls:
  self_signed: [shop.test, blog.test, "*.blog.test"]
apps:
  - name: shop
    domains: [shop.test]
    upstream: %[1]s
    force_https: false
  - name: blog
    domains: [blog.test, "*.blog.test"]
    upstream: %[1]s
admin: {listen: "127.0.0.1:0"}
access_log: {output: "off"}
`

// startAppsEdge runs "forcehttps edge" on a configuration with two apps
// and returns the admin URL, the token file and the HTTP address.
func startAppsEdge(t *testing.T) (adminURL, tokenFile, httpAddr string) {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(backend.Close)
	dir := t.TempDir()
	file := filepath.Join(dir, "edge.yaml")
	writeTestFile(t, file, fmt.Sprintf(appsConfig, backend.URL))
	ctx, cancel := context.WithCancel(context.Background())
	var logs lockedBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"edge", "--config", file, "--watch-interval", "0", "--log-format", "json"}, io.Discard, &logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-code:
		case <-time.After(30 * time.Second):
			t.Error("the edge did not stop within 30s")
		}
		if t.Failed() {
			t.Logf("edge log:\n%s", logs.String())
		}
	})
	var listening map[string]any
	waitUntil(t, "the edge to listen", func() bool { listening = logs.find("edge: listening"); return listening != nil })
	tokenFile = file + ".state.token"
	if fi, err := os.Stat(tokenFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v, want mode 0600", fi, err)
	}
	return "http://" + listening["admin"].(string), tokenFile, listening["http"].(string)
}

func TestAppsCLI(t *testing.T) {
	adminURL, tokenFile, httpAddr := startAppsEdge(t)
	apps := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"apps", "--admin", adminURL, "--token-file", tokenFile}, args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	golden := func(name, got string) {
		t.Helper()
		path := filepath.Join("testdata", name)
		if *update {
			os.MkdirAll("testdata", 0o755)
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if diff := cmp.Diff(string(want), got); diff != "" {
			t.Errorf("apps output mismatch with %s (-want +got):\n%s", path, diff)
		}
	}

	code, out, errOut := apps("list")
	if code != 0 {
		t.Fatalf("apps list = %d, stderr %q", code, errOut)
	}
	golden("apps_list.golden", out)

	// The self-signed certificate fails the preflight.
	code, _, errOut = apps("enable", "shop")
	if code != 1 || !strings.Contains(errOut, "FAILED") || !strings.Contains(errOut, "not signed by a trusted authority") {
		t.Errorf("apps enable shop = %d, stderr %q; want 1 with the failing domain", code, errOut)
	}
	code, out, errOut = apps("enable", "shop", "--force", "--ramp")
	if code != 0 || !strings.Contains(out, "ramping 1/4") {
		t.Fatalf("apps enable shop --force --ramp = %d %q %q", code, out, errOut)
	}
	client := &http.Client{
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", httpAddr)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
	resp, err := client.Get("http://shop.test/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 301 {
		t.Errorf("http://shop.test/ after enable = %d, want 301", resp.StatusCode)
	}

	if code, out, errOut = apps("set", "shop", "--temporary=true", "--hsts-max-age", "600"); code != 0 || !strings.Contains(out, "(temporary)") {
		t.Errorf("apps set = %d %q %q", code, out, errOut)
	}
	if code, _, errOut = apps("set", "shop", "--redirect-status", "200"); code != 1 || !strings.Contains(errOut, "(400)") {
		t.Errorf("apps set --redirect-status 200 = %d %q, want 1 and 400", code, errOut)
	}
	code, out, errOut = apps("disable", "blog", "--drain", "1h")
	if code != 0 || !strings.Contains(out, "max-age=0 is sent over HTTPS until") {
		t.Errorf("apps disable blog = %d %q %q", code, out, errOut)
	}
	code, out, _ = apps("list")
	if code != 0 {
		t.Fatalf("apps list = %d", code)
	}
	golden("apps_list_after.golden", out)

	code, out, _ = apps("--json", "show", "blog")
	var v map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["force_https"] != false || v["drain_until"] == nil {
		t.Errorf("apps --json show blog = %d %q", code, out)
	}
	if code, _, errOut = apps("show", "nope"); code != 1 || !strings.Contains(errOut, "no app with this name (404)") {
		t.Errorf("apps show nope = %d %q, want 1 and 404", code, errOut)
	}

	var errBuf bytes.Buffer
	t.Setenv("FORCEHTTPS_ADMIN_TOKEN", "wrong")
	if code := run(context.Background(), []string{"apps", "--admin", adminURL, "list"}, io.Discard, &errBuf); code != 1 || !strings.Contains(errBuf.String(), "(401)") {
		t.Errorf("apps list with a wrong token = %d %q, want 1 and 401", code, errBuf.String())
	}
}

func TestAdminToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	given := filepath.Join(dir, "given.token")
	writeTestFile(t, given, "  s3cret\n")
	empty := filepath.Join(dir, "empty.token")
	writeTestFile(t, empty, " \n")

	if tok, err := adminToken(given, "", quiet); err != nil || tok != "s3cret" {
		t.Errorf("adminToken(token_file) = %q, %v; want the trimmed content", tok, err)
	}
	if _, err := adminToken(empty, "", quiet); err == nil {
		t.Error("adminToken(empty token_file) = nil error, want one")
	}
	if _, err := adminToken(filepath.Join(dir, "missing"), "", quiet); err == nil {
		t.Error("adminToken(missing token_file) = nil error, want one")
	}
	a, err := adminToken("", "", quiet)
	b, _ := adminToken("", "", quiet)
	if err != nil || len(a) != 64 || a == b {
		t.Errorf("adminToken without files = %q, %q, %v; want fresh 64-digit tokens", a, b, err)
	}
	state := filepath.Join(dir, "edge.yaml.state.json")
	first, err := adminToken("", state, quiet)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "edge.yaml.state.token"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("generated token file: %v %v, want mode 0600", fi, err)
	}
	if again, err := adminToken("", state, quiet); err != nil || again != first {
		t.Errorf("adminToken at the second start = %q, %v; want the same token %q", again, err, first)
	}
}

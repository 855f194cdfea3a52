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

	"github.com/forcehttps/forcehttps/internal/admin"
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
		{"flag of another command", []string{"apps", "list", "--force"}, "--force: not a flag of list"},
		{"flag of another command after NAME", []string{"apps", "enable", "a", "--drain", "1h"}, "--drain: not a flag of enable"},
		{"misspelled command", []string{"apps", "enabel", "a"}, `did you mean "enable"?`},
		{"bad reset drain", []string{"apps", "reset", "a", "--drain", "soon"}, "not a duration"},
		{"create without upstream", []string{"apps", "create", "a", "--domain", "a.example"}, "--domain and --upstream are required"},
		{"create bad force-https", []string{"apps", "create", "a", "--domain", "a.example", "--upstream", "http://x", "--force-https=yes"}, "wants true or false"},
		{"domains without verb", []string{"apps", "domains", "a", "b.example"}, "want add or remove"},
		{"domain flag on delete", []string{"apps", "delete", "a", "--domain", "x"}, "--domain: not a flag of delete"},
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
	return startEdgeWith(t, t.TempDir(), appsConfig)
}

// startEdgeWith runs "forcehttps edge" on the configuration cfgText, with
// %[1]s for the URL of a backend, in dir.
func startEdgeWith(t *testing.T, dir, cfgText string) (adminURL, tokenFile, httpAddr string) {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(backend.Close)
	file := filepath.Join(dir, "edge.yaml")
	writeTestFile(t, file, fmt.Sprintf(cfgText, backend.URL))
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
	// blog sent max-age=31536000: a 1h drain leaves the pins of a year.
	if !strings.Contains(errOut, "warning: The drain (1 h) is shorter than the largest HSTS max-age sent") ||
		!strings.Contains(errOut, "keep forcing HTTPS for up to 364 days 23 h after the drain ends") {
		t.Errorf("apps disable blog --drain 1h: stderr %q, want a warning with the max-age gap", errOut)
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
	if code, _, errOut = apps("show", "nope"); code != 1 || !strings.Contains(errOut, `no app named "nope"; apps: shop, blog (404)`) {
		t.Errorf("apps show nope = %d %q, want 1 and 404 naming the app and listing the apps", code, errOut)
	}
	if code, _, errOut = apps("enable", "shpo"); code != 1 || !strings.Contains(errOut, `no app named "shpo"; did you mean "shop"? (404)`) {
		t.Errorf("apps enable shpo = %d %q, want 1 and 404 suggesting shop", code, errOut)
	}

	// shop's values come from the API now; reset drops them. The file
	// says Force HTTPS off, so the reset turns it off with a drain.
	code, out, errOut = apps("show", "shop")
	if code != 0 || !strings.Contains(out, "force_https (the file says false)") || !strings.Contains(out, "hsts.max_age (the file says 31536000)") {
		t.Errorf("apps show shop = %d %q %q, want the keys the API set", code, out, errOut)
	}
	code, out, errOut = apps("reset", "shop")
	if code != 0 || strings.Contains(out, "Set through the admin API") || !strings.Contains(out, "Force HTTPS:  off") || !strings.Contains(out, "max-age=0") {
		t.Errorf("apps reset shop = %d %q %q, want off, draining, no API values", code, out, errOut)
	}
	// blog: the file says on; turning it back on runs the preflight,
	// which the self-signed certificate fails.
	code, _, errOut = apps("reset", "blog")
	if code != 1 || !strings.Contains(errOut, "skip the check with --force") || !strings.Contains(errOut, "FAILED") {
		t.Errorf("apps reset blog = %d %q, want 1, the failed preflight and --force named", code, errOut)
	}
	if code, out, errOut = apps("reset", "--force", "blog"); code != 0 || !strings.Contains(out, "Force HTTPS:  on") {
		t.Errorf("apps reset --force blog = %d %q %q, want on", code, out, errOut)
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

// TestAppsFlagOrder sends the same requests with the flags before, between
// and after the command and NAME, to a fake admin API.
func TestAppsFlagOrder(t *testing.T) {
	type call struct{ Method, Path, Body, Token string }
	calls := make(chan call, 1)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		calls <- call{r.Method, r.URL.EscapedPath(), string(body), r.Header.Get("Authorization")}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/apps" {
			io.WriteString(w, `{"apps":[]}`)
			return
		}
		io.WriteString(w, `{"name":"shop","message":"ok"}`)
	}))
	t.Cleanup(api.Close)
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeTestFile(t, tokenFile, "file-token\n")
	t.Setenv("FORCEHTTPS_ADMIN_TOKEN", "env-token")
	u := api.URL
	appFile := filepath.Join(t.TempDir(), "app.json")
	writeTestFile(t, appFile, `{"name":"other","domains":["f.example"],"upstream":"http://10.0.0.1:1","hsts":{"max_age":300}}`)
	tests := []struct {
		name string
		args []string
		want call
	}{
		{"common flags after the command", []string{"list", "--admin", u, "--token-file", tokenFile}, call{"GET", "/api/apps", "", "Bearer file-token"}},
		{"common flags before, json after", []string{"--admin", u, "list", "--json"}, call{"GET", "/api/apps", "", "Bearer env-token"}},
		{"= forms", []string{"--admin=" + u, "show", "shop", "--token-file=" + tokenFile}, call{"GET", "/api/apps/shop", "", "Bearer file-token"}},
		{"command flag before the command", []string{"--force", "enable", "--admin", u, "shop"}, call{"POST", "/api/apps/shop/enable", `{"force":true,"ramp":false}`, "Bearer env-token"}},
		{"command flags after NAME", []string{"enable", "shop", "--ramp", "--admin", u, "--force"}, call{"POST", "/api/apps/shop/enable", `{"force":true,"ramp":true}`, "Bearer env-token"}},
		{"drain between", []string{"disable", "--drain", "2h", "shop", "--admin", u}, call{"POST", "/api/apps/shop/disable", `{"drain":"2h"}`, "Bearer env-token"}},
		{"reset", []string{"--admin", u, "reset", "shop", "--force", "--drain=1h"}, call{"POST", "/api/apps/shop/reset", `{"drain":"1h","force":true}`, "Bearer env-token"}},
		{"set with flags around NAME", []string{"set", "--temporary=true", "shop", "--hsts-max-age", "600", "--admin", u}, call{"PATCH", "/api/apps/shop", `{"hsts":{"max_age":600},"redirect":{"temporary":true}}`, "Bearer env-token"}},
		{"-- ends the flags", []string{"--admin", u, "show", "--", "-odd"}, call{"GET", "/api/apps/-odd", "", "Bearer env-token"}},
		{"create with flags anywhere", []string{"--domain", "a.example", "create", "--upstream", "http://10.0.0.1:8080", "web", "--domain=b.example", "--force-https=false", "--admin", u},
			call{"POST", "/api/apps", `{"domains":["a.example","b.example"],"force_https":false,"name":"web","upstream":"http://10.0.0.1:8080"}`, "Bearer env-token"}},
		{"create from a file", []string{"create", "web", "--file", appFile, "--admin", u},
			call{"POST", "/api/apps", `{"domains":["f.example"],"hsts":{"max_age":300},"name":"web","upstream":"http://10.0.0.1:1"}`, "Bearer env-token"}},
		{"delete", []string{"delete", "web", "--admin", u}, call{"DELETE", "/api/apps/web", "", "Bearer env-token"}},
		{"domains add", []string{"domains", "--admin", u, "add", "web", "c.example"}, call{"POST", "/api/apps/web/domains", `{"domain":"c.example"}`, "Bearer env-token"}},
		{"domains remove", []string{"domains", "remove", "web", "*.c.example", "--admin", u}, call{"DELETE", "/api/apps/web/domains/%2A.c.example", "", "Bearer env-token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(context.Background(), append([]string{"apps"}, tt.args...), &out, &errOut); code != 0 {
				t.Fatalf("apps %q = %d, stderr %q", tt.args, code, errOut.String())
			}
			var got call
			select {
			case got = <-calls:
			default:
				t.Fatalf("apps %q sent no request", tt.args)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("apps %q request mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

// TestAppsHelp: help never needs a token, whatever the order.
func TestAppsHelp(t *testing.T) {
	t.Setenv("FORCEHTTPS_ADMIN_TOKEN", "")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"apps", "enable", "--help"}, "Usage: forcehttps apps enable NAME [--force] [--ramp]"},
		{[]string{"apps", "enable", "shop", "-h"}, "Usage: forcehttps apps enable NAME"},
		{[]string{"apps", "--admin", "http://127.0.0.1:1", "disable", "-help"}, "Usage: forcehttps apps disable NAME [--drain D]"},
		{[]string{"apps", "reset", "--help"}, "--drain"},
		{[]string{"apps", "--help"}, "Usage: forcehttps apps COMMAND"},
		{[]string{"apps", "-h", "list"}, "Usage: forcehttps apps COMMAND"},
		{[]string{"apps", "help"}, "reset NAME"},
		{[]string{"apps", "help", "set"}, "--hsts-preload"},
		{[]string{"apps", "create", "--help"}, "--upstream"},
		{[]string{"apps", "help", "domains"}, "domains add|remove NAME DOMAIN"},
		{[]string{"apps", "delete", "web", "-h"}, "max-age expires"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(context.Background(), tt.args, &out, &errOut); code != 0 {
				t.Errorf("run(%q) = %d, stderr %q; want 0", tt.args, code, errOut.String())
			}
			if !strings.Contains(out.String(), tt.want) || strings.Contains(out.String(), "no token") {
				t.Errorf("run(%q): stdout %q stderr %q, want the usage with %q", tt.args, out.String(), errOut.String(), tt.want)
			}
			if errOut.Len() > 0 {
				t.Errorf("run(%q): stderr %q, want nothing", tt.args, errOut.String())
			}
		})
	}
}

func TestCertificateLine(t *testing.T) {
	t.Parallel()
	exp := time.Date(2027, 3, 4, 10, 0, 0, 0, time.UTC)
	next := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   admin.CertificateView
		want string
	}{
		{"file", admin.CertificateView{Domain: "a.test", Source: "file", NotAfter: &exp}, "file, expires 2027-03-04"},
		{"issued", admin.CertificateView{Domain: "a.test", Source: "acme", NotAfter: &exp, State: "issued"}, "acme, expires 2027-03-04"},
		{"missing", admin.CertificateView{Domain: "a.test", Missing: true}, "no certificate"},
		{"pending, waiting", admin.CertificateView{Domain: "a.test", Missing: true, State: "pending", Redirect: admin.RedirectWaiting},
			"certificate pending; not redirected yet: waiting for certificate"},
		{"on demand", admin.CertificateView{Domain: "a.test", Missing: true, State: "pending", OnDemand: true}, "certificate pending (ordered at the first HTTPS visit)"},
		{"failed", admin.CertificateView{Domain: "a.test", Missing: true, State: "failed", Error: "404", NextTry: &next},
			"certificate order failed: 404 (next try 2026-12-04T15:00:00Z)"},
	}
	for _, tt := range tests {
		if got := certificateLine(tt.in); got != tt.want {
			t.Errorf("%s: certificateLine = %q, want %q", tt.name, got, tt.want)
		}
	}
}

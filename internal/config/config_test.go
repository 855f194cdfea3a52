package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/forcehttps/forcehttps"
	"github.com/forcehttps/forcehttps/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const minimal = `
tls: {self_signed: [localhost]}
apps:
  - name: shop
    domains: [shop.example.com]
    upstream: http://127.0.0.1:9000
`

func TestParseFillsDefaults(t *testing.T) {
	t.Parallel()
	got, err := Parse([]byte(minimal), YAML)
	if err != nil {
		t.Fatalf("Parse(minimal): %v", err)
	}
	want := &Config{
		Listen: Listen{HTTP: ":80", HTTPS: ":443", HTTP2Server: HTTP2Builtin},
		TLS:    TLS{SelfSigned: []string{"localhost"}},
		Apps: []App{{
			Name:       "shop",
			Domains:    []string{"shop.example.com"},
			Upstream:   "http://127.0.0.1:9000",
			ForceHTTPS: true,
			HSTS:       HSTS{MaxAge: 31536000},
		}},
		Timeouts: Timeouts{
			ReadHeader: 10 * time.Second, ClientIdle: time.Minute, StreamIdle: time.Hour, Idle: 2 * time.Minute,
			UpstreamDial: 5 * time.Second, UpstreamResponseHeader: 30 * time.Second, UpstreamReadIdle: time.Minute,
			Shutdown: 20 * time.Second,
		},
		Limits:    Limits{MaxHeaderBytes: 65536},
		AccessLog: AccessLog{Format: "json", Output: "stderr"},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Config{})); diff != "" {
		t.Errorf("Parse(minimal) mismatch (-want +got):\n%s", diff)
	}
	if !got.Checked() || want.Checked() {
		t.Errorf("Checked() = %v for Parse's Config, %v for the same built in code; want true, false", got.Checked(), want.Checked())
	}
}

func TestParseACMEDefaults(t *testing.T) {
	t.Parallel()
	if _, err := Parse([]byte(minimal+"\n"+`tls: {acme: {email: ops@example.com}}`), YAML); !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("Parse(two tls keys) = %v, want a duplicate key error", err)
	}
	got, err := Parse([]byte(strings.Replace(minimal, "tls: {self_signed: [localhost]}", "tls: {acme: {email: ops@example.com, challenges: {http: false}}}", 1)), YAML)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := &ACME{Email: "ops@example.com", Directory: LetsEncrypt, Challenges: Challenges{HTTP: false, TLSALPN: true}, OnDemandOrdersPerHour: 50, OnDemandTimeout: 8 * time.Second}
	if diff := cmp.Diff(want, got.TLS.ACME); diff != "" {
		t.Errorf("Parse ACME mismatch (-want +got):\n%s", diff)
	}
}

// TestExamplesYAMLAndJSON checks that the sample configurations are valid
// and that the JSON one decodes to the same Config as the YAML one.
func TestExamplesYAMLAndJSON(t *testing.T) {
	t.Parallel()
	var got [2]*Config
	for i, name := range []string{"edge.yaml", "edge.json"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		c, err := Parse(data, FormatOf(name))
		if err != nil {
			t.Fatalf("Parse(examples/%s): %v", name, err)
		}
		got[i] = c
	}
	if diff := cmp.Diff(got[0], got[1], cmp.AllowUnexported(Config{})); diff != "" {
		t.Errorf("examples/edge.yaml and edge.json differ (-yaml +json):\n%s", diff)
	}
	if got[0].Apps[1].ForceHTTPS || !got[0].Apps[1].HSTS.Revoke {
		t.Errorf("examples/edge.yaml: blog app = %+v, want force_https off with hsts.revoke", got[0].Apps[1])
	}
	// Load finds nothing else wrong than the certificate files the
	// example names and does not ship (a private key in a repository
	// would be a bad example): the wildcard domain is covered by them,
	// the others by ACME.
	for _, name := range []string{"edge.yaml", "edge.json"} {
		_, err := Load(filepath.Join("..", "..", "examples", name))
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("Load(examples/%s) = %v, want the missing certificate files", name, err)
		}
		var paths []string
		for _, fe := range ve.Errors {
			if !strings.Contains(fe.Message, "no such file") {
				t.Errorf("Load(examples/%s): %v", name, fe)
			}
			paths = append(paths, fe.Path)
		}
		if want := []string{"tls.certificates[0].cert_file", "tls.certificates[0].key_file", "admin.tls.cert_file", "admin.tls.key_file"}; !slices.Equal(paths, want) {
			t.Errorf("Load(examples/%s) errors at %q, want %q", name, paths, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	app := func(s string) string {
		return "tls: {self_signed: [localhost]}\napps:\n  - name: a\n    domains: [a.example.com]\n    upstream: http://127.0.0.1:1\n" + s
	}
	tests := []struct {
		name   string
		format Format
		in     string
		want   []string
		is     error
	}{
		{"empty", YAML, "", []string{"the file is empty"}, ErrSyntax},
		{"comment only", YAML, "# nothing\n", []string{"the file is empty"}, ErrSyntax},
		{"yaml syntax", YAML, "apps: [\n", []string{"invalid YAML: did not find expected node content (line 1)"}, ErrSyntax},
		{"two documents", YAML, minimal + "---\nlisten: {}\n", []string{"the file holds more than one YAML document (line 7)"}, ErrSyntax},
		{"not a mapping", YAML, "- a\n", []string{`expected a mapping, got a list (line 1)`}, ErrType},
		{"json syntax", JSON, "{\n\"apps\": [,]}", []string{"invalid JSON: invalid character ',' looking for beginning of value (line 2)"}, ErrSyntax},
		{"json two values", JSON, "{}\n{}", []string{"invalid JSON: more than one value (line 2)"}, ErrSyntax},
		{"json unknown key", JSON, `{"tls": {"self_signed": ["localhost"]}, "apps": [{"name": "a", "domains": ["a.example.com"], "upstream": "http://127.0.0.1:1", "Name": "b"}]}`,
			[]string{`apps[0].Name: unknown key (did you mean "name"?) (line 1)`}, ErrUnknownKey},
		{"unknown key", YAML, app("    upstrem: blue\n"), []string{`apps[0].upstrem: unknown key (did you mean "upstream"?) (line 6)`}, ErrUnknownKey},
		{"unknown key far from any", YAML, app("    zzzzzzzzzzzz: 1\n"), []string{`apps[0].zzzzzzzzzzzz: unknown key (known keys: domains, exempt_paths, force_https, hsts, http2, include_dev_hosts, name, redirect, respond, secure_cookies, security_headers, timeouts, upstream) (line 6)`}, ErrUnknownKey},
		{"duplicate key", YAML, app("    name: b\n"), []string{"apps[0].name: key repeated (first at line 3) (line 6)"}, ErrDuplicateKey},
		{"duplicate key in a long mapping", YAML, app("    security_headers: {headers: {" + manyHeaders(20) + ", X-H3: b}}\n"),
			[]string{`apps[0].security_headers.headers["X-H3"]: key repeated (first at line 6) (line 6)`}, ErrDuplicateKey},
		{"a key repeated many times", YAML, app("    hsts: {max_age: 1" + strings.Repeat(", max_age: 2", 17) + "}\n"),
			slices.Repeat([]string{`apps[0].hsts.max_age: key repeated (first at line 6) (line 6)`}, 17), ErrDuplicateKey},
		{"bool type", YAML, app("    force_https: maybe\n"), []string{`apps[0].force_https: expected true or false, got "maybe" (line 6)`}, ErrType},
		{"int type", YAML, app("    hsts: {max_age: 1y}\n"), []string{`apps[0].hsts.max_age: expected an integer, got "1y" (line 6)`}, ErrType},
		{"list type", YAML, app("    domains: a.example.com\n"), []string{"apps[0].domains: key repeated (first at line 4) (line 6)"}, ErrDuplicateKey},
		{"list expected", YAML, strings.Replace(app(""), "domains: [a.example.com]", "domains: a.example.com", 1), []string{`apps[0].domains: expected a list, got "a.example.com" (line 4)`}, ErrType},
		{"duration without unit", YAML, app("timeouts: {client_idle: 10}\n"), []string{`timeouts.client_idle: "10" is not a duration like "10s" or "1m30s" (add a unit: s, m or h) (line 6)`}, ErrDuration},
		{"bad CIDR", YAML, app("trusted_proxies: [10.0.0.0/33]\n"), []string{`trusted_proxies[0]: "10.0.0.0/33" is not a CIDR prefix or an IP address (line 6)`}, ErrCIDR},
		{"upstream scheme", YAML, strings.Replace(app(""), "http://127.0.0.1:1", "ftp://x", 1), []string{`apps[0].upstream: "ftp://x": scheme must be http, https or h2c (line 5)`}, ErrUpstream},
		{"timeouts.read removed", YAML, app("timeouts: {read: 60s}\n"), []string{"timeouts.read: removed: it bounded a whole request, body included, and cut slow uploads; use timeouts.client_idle (the longest a client may send nothing) and, for a hard cap, apps[].timeouts.max_duration (line 6)"}, ErrUnknownKey},
		{"timeouts.write removed", YAML, app("timeouts: {write: 0s}\n"), []string{"timeouts.write: removed: it bounded a whole response and cut long downloads and event streams; use timeouts.client_idle (the longest a client may take nothing), timeouts.stream_idle for WebSockets and server-sent events, and, for a hard cap, apps[].timeouts.max_duration (line 6)"}, ErrUnknownKey},
		{"client_idle zero", YAML, app("timeouts: {client_idle: 0s}\n"), []string{"timeouts.client_idle: must be more than 0 (line 6)"}, ErrDuration},
		{"upstream_read_idle negative", YAML, app("timeouts: {upstream_read_idle: -1s}\n"), []string{`timeouts.upstream_read_idle: "-1s" is negative (line 6)`}, ErrDuration},
		{"max_duration negative", YAML, app("    timeouts: {max_duration: -1s}\n"), []string{`apps[0].timeouts.max_duration: "-1s" is negative (line 6)`}, ErrDuration},
		{"http2 on http", YAML, app("    http2: true\n"), []string{"apps[0].http2: only for https upstreams: h2c:// is always HTTP/2, http:// always HTTP/1.1 (line 6)"}, ErrUpstream},
		{"upstream path", YAML, strings.Replace(app(""), "http://127.0.0.1:1", "http://x/p", 1), []string{`apps[0].upstream: "http://x/p": a path is not supported; requests keep their own path (line 5)`}, ErrUpstream},
		{"upstream no host", YAML, strings.Replace(app(""), "http://127.0.0.1:1", "http:///x", 1), []string{`apps[0].upstream: "http:///x": a host is required (line 5)`}, ErrUpstream},
		{"upstream without scheme", YAML, strings.Replace(app(""), "http://127.0.0.1:1", "127.0.0.1:1", 1), []string{`apps[0].upstream: "127.0.0.1:1" has no scheme: want http://host:port, https://host:port or h2c://host:port (line 5)`}, ErrUpstream},
		{"upstream name without scheme", YAML, strings.Replace(app(""), "http://127.0.0.1:1", "localhost:9001", 1), []string{`apps[0].upstream: "localhost:9001" has no scheme: want http://host:port, https://host:port or h2c://host:port (line 5)`}, ErrUpstream},
		{"upstream bad URL", YAML, strings.Replace(app(""), "http://127.0.0.1:1", `"http://[::1"`, 1), []string{`apps[0].upstream: "http://[::1" is not a URL: missing ']' in host (want http://host:port, https://host:port or h2c://host:port) (line 5)`}, ErrUpstream},
		{"preload", YAML, app("    hsts: {preload: true}\n"), []string{"apps[0].hsts.preload: preload needs max_age ≥ 31536000 and include_subdomains (line 6)"}, forcehttps.ErrPreload},
		{"redirect status", YAML, app("    redirect: {status: 303}\n"), []string{`apps[0].redirect.status: "303": status not allowed here: want 301, 302, 307 or 308 (line 6)`}, forcehttps.ErrInvalidStatus},
		{"exempt path", YAML, app("    exempt_paths: [/a, b]\n"), []string{`apps[0].exempt_paths[1]: "b": path must start with / and have no dot or empty segments (line 6)`}, forcehttps.ErrInvalidPath},
		{"duplicate domain across apps", YAML, app("  - name: b\n    domains: [A.Example.com.]\n    upstream: http://127.0.0.1:2\n"),
			[]string{`apps[1].domains[0]: "A.Example.com." is also a domain of app "a" (apps[0]) (line 7)`}, ErrDuplicateDomain},
		{"duplicate name", YAML, app("  - name: A\n    domains: [b.example.com]\n    upstream: http://127.0.0.1:2\n"),
			[]string{`apps[1].name: "A" is also the name of apps[0] (line 6)`}, ErrDuplicateName},
		{"no apps", YAML, "tls: {self_signed: [localhost]}\n", []string{"apps: at least one app is required (or an admin listener or a cluster, whose API adds apps)"}, ErrRequired},
		{"no tls", YAML, strings.Replace(app(""), "tls: {self_signed: [localhost]}", "", 1), []string{"tls: no certificate source: set certificates, self_signed or acme"}, ErrTLS},
		{"on-demand orders", YAML, strings.Replace(app(""), "tls: {self_signed: [localhost]}", "tls: {acme: {on_demand: true, on_demand_orders_per_hour: 1000}}", 1),
			[]string{"tls.acme.on_demand_orders_per_hour: 1000 is not in [1, 300] (Let's Encrypt allows 300 new orders per account per 3 hours) (line 1)"}, ErrTLS},
		{"on-demand timeout", YAML, strings.Replace(app(""), "tls: {self_signed: [localhost]}", "tls: {acme: {on_demand: true, on_demand_timeout: 10m}}", 1),
			[]string{"tls.acme.on_demand_timeout: 10m0s is not between 1s and 5m (line 1)"}, ErrTLS},
		{"on-demand timeout past read_header", YAML, strings.Replace(app(""), "tls: {self_signed: [localhost]}", "tls: {acme: {on_demand: true, on_demand_timeout: 30s}}", 1),
			[]string{"tls.acme.on_demand_timeout: 30s is not shorter than timeouts.read_header (10s), which bounds the whole TLS handshake: raise timeouts.read_header too (line 1)"}, ErrTLS},
		{"same listeners", YAML, app("listen: {http: \":8080\", https: \":8080\"}\n"), []string{`listen.https: ":8080" is also the address of listen.http (line 6)`}, ErrAddress},
		{"listen without colon", YAML, app("listen: {http: \"8080\"}\n"), []string{`listen.http: "8080": not host:port (for every address, write ":8080") (line 6)`}, ErrAddress},
		{"cluster without URL", YAML, app("cluster: {replica: a}\n"), []string{"cluster.postgres: a PostgreSQL URL (postgres) or a file holding one (postgres_file) is required (line 6)"}, ErrRequired},
		{"cluster URL and file", YAML, app("cluster: {postgres: \"postgres://db/x\", postgres_file: u}\n"), []string{"cluster.postgres: give postgres or postgres_file, not both (line 6)"}, ErrValue},
		// The URL is not quoted back: it may carry a password.
		{"cluster URL scheme", YAML, app("cluster: {postgres: \"mysql://u:secret@db/x\"}\n"), []string{"cluster.postgres: not a PostgreSQL URL: want postgres://user@host/database?sslmode=verify-full or key=value pairs (line 6)"}, ErrValue},
		{"cluster replica", YAML, app("cluster: {postgres: \"postgres://db/x\", replica: \"a b\"}\n"), []string{`cluster.replica: "a b": want 1 to 63 letters, digits, '.', '_' or '-' (line 6)`}, ErrValue},
		{"cluster member timeout", YAML, app("cluster: {postgres: \"postgres://db/x\", member_timeout: 10ms}\n"), []string{"cluster.member_timeout: 10ms is too short: want at least 1s (line 6)"}, ErrDuration},
		{"cluster resync", YAML, app("cluster: {postgres: \"host=db dbname=x\", resync: 0s}\n"), []string{"cluster.resync: 0s is out of range: want more than 0 and at most 1h (line 6)"}, ErrDuration},
		{"cluster unknown key", YAML, app("cluster: {postgress: \"postgres://db/x\"}\n"), []string{`cluster.postgress: unknown key (did you mean "postgres"?) (line 6)`, "cluster.postgres: a PostgreSQL URL (postgres) or a file holding one (postgres_file) is required (line 6)"}, ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.in), tt.format)
			checkErrors(t, fmt.Sprintf("Parse(%q)", tt.in), err, tt.want, tt.is)
		})
	}
}

// checkErrors compares the field errors of err, a *ValidationError from
// call, with want: whole lines, or prefixes for those ending in "...";
// err must also wrap is.
func checkErrors(t *testing.T, call string, err error, want []string, is error) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("%s error = %v, want a *ValidationError", call, err)
	}
	var got []string
	for _, fe := range ve.Errors {
		got = append(got, fe.Error())
	}
	if len(got) != len(want) {
		t.Fatalf("%s errors mismatch (-want +got):\n%s", call, cmp.Diff(want, got))
	}
	for i := range got {
		if w, ok := strings.CutSuffix(want[i], "..."); ok {
			if !strings.HasPrefix(got[i], w) {
				t.Errorf("%s error %d = %q, want prefix %q", call, i, got[i], w)
			}
		} else if got[i] != want[i] {
			t.Errorf("%s errors mismatch (-want +got):\n%s", call, cmp.Diff(want, got))
		}
	}
	if !errors.Is(err, is) {
		t.Errorf("%s: errors.Is(err, %v) = false", call, is)
	}
}

// TestLoadInvalidGolden checks the whole report for a file with every
// kind of mistake.
func TestLoadInvalidGolden(t *testing.T) {
	t.Parallel()
	_, loadErr := Load(filepath.Join("testdata", "invalid.yaml"))
	if loadErr == nil {
		t.Fatal("Load(testdata/invalid.yaml) = nil error")
	}
	got := loadErr.Error() + "\n"
	golden := filepath.Join("testdata", "invalid.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("Load(testdata/invalid.yaml) mismatch (-want +got):\n%s", diff)
	}
	// Every error has a path and a line.
	var ve *ValidationError
	if !errors.As(loadErr, &ve) {
		t.Fatalf("Load(testdata/invalid.yaml) = %T, want *ValidationError", loadErr)
	}
	for _, fe := range ve.Errors {
		if fe.Path == "" || fe.Line == 0 {
			t.Errorf("error %q has no path or line", fe)
		}
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	leaf := testutil.NewCA(t, testutil.CAOptions{}).Issue(t, testutil.LeafOptions{Names: []string{"shop.example.com"}})
	write("certs/a.pem", string(leaf.CertPEM()))
	write("certs/a.key", string(leaf.KeyPEM()))
	yml := write("conf/edge.yaml", strings.Replace(minimal, "tls: {self_signed: [localhost]}",
		"tls: {certificates: [{cert_file: ../certs/a.pem, key_file: ../certs/a.key}], acme: {storage: state}}\naccess_log: {output: access.log}", 1))

	c, err := Load(yml)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []string{filepath.Join(dir, "certs/a.pem"), filepath.Join(dir, "certs/a.key"), filepath.Join(dir, "conf/state"), filepath.Join(dir, "conf/access.log")}
	got := []string{c.TLS.Certificates[0].CertFile, c.TLS.Certificates[0].KeyFile, c.TLS.ACME.Storage, c.AccessLog.Output}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load resolved paths mismatch (-want +got):\n%s", diff)
	}

	missing := write("conf/missing.json", `{"tls": {"certificates": [{"cert_file": "nope.pem", "key_file": "../certs/a.key"}]},
"apps": [{"name": "a", "domains": ["a.example.com"], "upstream": "http://127.0.0.1:1"}]}`)
	_, err = Load(missing)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.File != missing || len(ve.Errors) != 1 || ve.Errors[0].Path != "tls.certificates[0].cert_file" {
		t.Errorf("Load(missing cert) = %v, want one error at tls.certificates[0].cert_file", err)
	}

	if _, err := Load(filepath.Join(dir, "nope.yaml")); err == nil || errors.As(err, &ve) {
		t.Errorf("Load(nonexistent) = %v, want an I/O error", err)
	}
	if _, err := Load(dir); err == nil {
		t.Errorf("Load(directory) = nil error")
	}
}

func TestDefault(t *testing.T) {
	t.Parallel()
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	want := App{
		Name: "inspector", Domains: []string{"localhost", "127.0.0.1", "::1"}, Upstream: "builtin:inspector",
		ForceHTTPS: true, IncludeDevHosts: true, HSTS: HSTS{MaxAge: 31536000},
	}
	if diff := cmp.Diff([]App{want}, c.Apps); diff != "" {
		t.Errorf("Default().Apps mismatch (-want +got):\n%s", diff)
	}
	if c.Listen.HTTP != "127.0.0.1:8080" || c.Listen.HTTPS != "127.0.0.1:8443" || c.PublicHTTPSPort() != 8443 {
		t.Errorf("Default().Listen = %+v", c.Listen)
	}
	if name, ok := c.Apps[0].BuiltinName(); !ok || name != "inspector" {
		t.Errorf("BuiltinName() = %q, %v", name, ok)
	}
	// Each call is independent.
	c.Apps[0].Name = "changed"
	if Default().Apps[0].Name != "inspector" {
		t.Error("Default() returned shared state")
	}
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	c := &Config{TrustedProxies: []string{"10.0.0.0/8"}}
	tests := []struct {
		name string
		app  App
		want forcehttps.Config
	}{
		{"forced", App{Domains: []string{"a.example"}, ForceHTTPS: true, HSTS: HSTS{MaxAge: 600, IncludeSubdomains: true}, ExemptPaths: []string{"/healthz"}},
			forcehttps.Config{Trust: forcehttps.PresetNone, TrustedProxies: []string{"10.0.0.0/8"}, AllowedHosts: []string{"a.example"}, HTTPSPort: 8443,
				ExemptPaths: []string{"/healthz"}, HSTSMaxAge: 600 * time.Second, HSTSIncludeSubDomains: true, DisableSecurityHeaders: true, DisableSecureCookies: true}},
		{"off", App{Domains: []string{"a.example"}, HSTS: HSTS{MaxAge: 600}},
			forcehttps.Config{Trust: forcehttps.PresetNone, TrustedProxies: []string{"10.0.0.0/8"}, AllowedHosts: []string{"a.example"}, HTTPSPort: 8443,
				DisableRedirect: true, HSTSMaxAge: 600 * time.Second, DisableHSTS: true, DisableSecurityHeaders: true, DisableSecureCookies: true}},
		{"off with revoke", App{Domains: []string{"a.example"}, HSTS: HSTS{Revoke: true}},
			forcehttps.Config{Trust: forcehttps.PresetNone, TrustedProxies: []string{"10.0.0.0/8"}, AllowedHosts: []string{"a.example"}, HTTPSPort: 8443,
				DisableRedirect: true, HSTSRevoke: true, DisableSecurityHeaders: true, DisableSecureCookies: true}},
		{"headers opted in", App{Domains: []string{"a.example"}, ForceHTTPS: true, HSTS: HSTS{MaxAge: 1}, SecureCookies: true,
			SecurityHeaders: SecurityHeaders{Defaults: true, Headers: map[string]string{"X-Frame-Options": ""}}},
			forcehttps.Config{Trust: forcehttps.PresetNone, TrustedProxies: []string{"10.0.0.0/8"}, AllowedHosts: []string{"a.example"}, HTTPSPort: 8443,
				HSTSMaxAge: time.Second, SecurityHeaders: map[string]string{"X-Frame-Options": ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := c.Policy(&tt.app, 8443)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Policy(%+v) mismatch (-want +got):\n%s", tt.app, diff)
			}
			if _, err := forcehttps.New(got); err != nil {
				t.Errorf("forcehttps.New(Policy(%+v)) = %v", tt.app, err)
			}
		})
	}
}

func TestPublicHTTPSPort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		listen Listen
		want   int
	}{
		{Listen{HTTPS: ":443"}, 443},
		{Listen{HTTPS: "127.0.0.1:8443"}, 8443},
		{Listen{HTTPS: "[::1]:0"}, 0},
		{Listen{HTTPS: ":8443", HTTPSPublicPort: 443}, 443},
	}
	for _, tt := range tests {
		c := Config{Listen: tt.listen}
		if got := c.PublicHTTPSPort(); got != tt.want {
			t.Errorf("PublicHTTPSPort(%+v) = %d, want %d", tt.listen, got, tt.want)
		}
	}
}

func TestAliasesAndLimits(t *testing.T) {
	t.Parallel()
	in := `
tls: {self_signed: [localhost]}
strict: &strict {max_age: 63072000, include_subdomains: true}
apps:
  - {name: a, domains: [a.example.com], upstream: "http://127.0.0.1:1", hsts: *strict}
`
	_, err := Parse([]byte(in), YAML)
	if err == nil || !strings.Contains(err.Error(), "strict: unknown key") {
		t.Fatalf("Parse(anchor at an unknown key) = %v, want an unknown key error", err)
	}
	in = `
tls: {self_signed: [localhost]}
apps:
  - {name: a, domains: &d [a.example.com], upstream: "http://127.0.0.1:1", hsts: &strict {max_age: 63072000, include_subdomains: true}}
  - {name: b, domains: [b.example.com], upstream: "http://127.0.0.1:2", hsts: *strict}
`
	c, err := Parse([]byte(in), YAML)
	if err != nil {
		t.Fatalf("Parse(aliases): %v", err)
	}
	if c.Apps[1].HSTS != (HSTS{MaxAge: 63072000, IncludeSubdomains: true}) {
		t.Errorf("Parse(aliases): apps[1].hsts = %+v", c.Apps[1].HSTS)
	}

	// Aliases multiply the work (a billion laughs): it is cut short.
	var b strings.Builder
	b.WriteString("tls: {self_signed: [localhost]}\napps:\n  - &app {name: a, upstream: \"http://127.0.0.1:1\", domains: [")
	for i := range 1000 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("x.example")
	}
	b.WriteString("]}\n")
	for range 1000 {
		b.WriteString("  - *app\n")
	}
	_, err = Parse([]byte(b.String()), YAML)
	var ve *ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrSyntax) || len(ve.Errors) > maxErrors+1 {
		t.Errorf("Parse(billion laughs) = %v, want a size error and at most %d errors", err, maxErrors+1)
	}
}

// manyHeaders returns n entries "X-Hi: a" of a flow mapping, more than
// the mappings searched for repeated keys without a map.
func manyHeaders(n int) string {
	var list []string
	for i := range n {
		list = append(list, fmt.Sprintf("X-H%d: a", i))
	}
	return strings.Join(list, ", ")
}

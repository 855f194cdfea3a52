package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/forcehttps/forcehttps"
	"github.com/forcehttps/forcehttps/internal/testutil"
)

// checkEnv is a test site on loopback for "forcehttps check": a CA file,
// an HTTPS server for example.test and, optionally, a plain-HTTP one.
type checkEnv struct {
	caFile              string
	httpsPort, httpPort int
}

// args returns the flags that point "check" at the test site.
func (e *checkEnv) args(extra ...string) []string {
	a := []string{"check",
		"--resolve", "example.test:127.0.0.1",
		"--ca", e.caFile,
		"--https-port", strconv.Itoa(e.httpsPort),
		"--http-port", strconv.Itoa(e.httpPort),
		"--timeout", "5s",
	}
	return append(a, extra...)
}

// newCheckEnv starts the servers. With withHTTP false the plain-HTTP port
// is closed. handler gets the HTTPS port so it can build redirects.
func newCheckEnv(t *testing.T, withHTTP bool, handler func(httpsPort int) http.Handler) *checkEnv {
	t.Helper()
	ca := testutil.NewCA(t, testutil.CAOptions{Name: "check test CA"})
	leaf := ca.Issue(t, testutil.LeafOptions{Names: []string{"example.test"}})
	e := &checkEnv{caFile: ca.WriteFile(t)}
	quiet := log.New(io.Discard, "", 0) // the version probes fail handshakes on purpose
	ts := httptest.NewUnstartedServer(nil)
	ts.Config.ErrorLog = quiet
	e.httpsPort = ts.Listener.Addr().(*net.TCPAddr).Port
	h := handler(e.httpsPort)
	ts.Config.Handler = h
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	if withHTTP {
		hs := httptest.NewUnstartedServer(h)
		hs.Config.ErrorLog = quiet
		hs.Start()
		t.Cleanup(hs.Close)
		e.httpPort = hs.Listener.Addr().(*net.TCPAddr).Port
	} else {
		e.httpPort = closedLoopbackPort(t)
	}
	return e
}

func closedLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var helloWorld = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "hello, world\n")
})

// defaultsHandler is forcehttps' middleware with its defaults.
func defaultsHandler(t *testing.T) func(int) http.Handler {
	return func(httpsPort int) http.Handler {
		m, err := forcehttps.New(forcehttps.Config{
			AllowedHosts: []string{"example.test"},
			HTTPSPort:    httpsPort,
			Logger:       slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		return m.Handler(helloWorld)
	}
}

func TestCheckExitCodes(t *testing.T) {
	t.Parallel()
	good := newCheckEnv(t, true, defaultsHandler(t))
	hello := newCheckEnv(t, false, func(int) http.Handler { return helloWorld })
	httpOnly := newHTTPOnlyEnv(t)
	emptyPEM := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(emptyPEM, []byte("no certificates here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"defaults meet B", good.args("example.test"), 0, "Grade A+", ""},
		{"defaults meet A+", good.args("--min-grade", "A+", "example.test"), 0, "Grade A+", ""},
		{"flags after the host", append(good.args("example.test"), "--min-grade", "a+"), 0, "Grade A+", ""},
		{"https URL", good.args("https://example.test/"), 0, "Grade A+", ""},
		{"hello world is below B", hello.args("example.test"), 1, "Grade F", "grade F is below --min-grade B"},
		{"hello world meets F", hello.args("--min-grade", "F", "example.test"), 0, "Grade F", ""},
		{"help", []string{"check", "-h"}, 0, "", "Usage: forcehttps check"},
		{"no target", []string{"check"}, 2, "", "want exactly one URL or host, got 0"},
		{"two targets", []string{"check", "a.test", "b.test"}, 2, "", "got 2"},
		{"malformed URL", []string{"check", "ftp://example.test"}, 2, "", `scheme "ftp" is not http or https`},
		{"bad host", []string{"check", "exa mple.test"}, 2, "", "invalid target"},
		{"unknown flag", []string{"check", "--frobnicate", "example.test"}, 2, "", "flag provided but not defined"},
		{"bad grade", []string{"check", "--min-grade", "E", "example.test"}, 2, "", `invalid grade "E"`},
		{"bad color", []string{"check", "--color", "sometimes", "example.test"}, 2, "", `--color "sometimes"`},
		{"bad resolve", []string{"check", "--resolve", "example.test", "example.test"}, 2, "", "want host:ip or host:port:ip"},
		{"resolve to a name", []string{"check", "--resolve", "example.test:localhost", "example.test"}, 2, "", "not an IP address"},
		{"bad port", []string{"check", "--https-port", "70000", "example.test"}, 2, "", "not between 1 and 65535"},
		{"zero timeout", []string{"check", "--timeout", "0s", "example.test"}, 2, "", "--timeout must be positive"},
		{"too many redirects allowed", []string{"check", "--max-redirects", "1000", "example.test"}, 2, "", "--max-redirects"},
		{"missing CA file", []string{"check", "--ca", filepath.Join(t.TempDir(), "nope.pem"), "example.test"}, 2, "", "--ca:"},
		{"CA file without certificates", []string{"check", "--ca", emptyPEM, "example.test"}, 2, "", "no PEM certificate"},
		{"unreachable", []string{"check", "--resolve", "example.test:127.0.0.1", "--https-port", strconv.Itoa(closedLoopbackPort(t)), "--http-port", strconv.Itoa(closedLoopbackPort(t)), "--timeout", "2s", "example.test"}, 2, "", "connection refused"},
		{"plain HTTP only is F", httpOnly.args("example.test"), 1, "tls-no-https", "grade F is below --min-grade B"},
		{"curl's resolve form", append(good.args("example.test"), "--resolve", "example.test:"+strconv.Itoa(good.httpsPort)+":127.0.0.1"), 0, "Grade A+", ""},
		{"resolve list", []string{"check", "--resolve", "example.test:443:192.0.2.1,192.0.2.2", "example.test"}, 2, "", "one address only"},
		{"resolve ambiguous", []string{"check", "--resolve", "example.test:2001:db8::1", "example.test"}, 2, "", "ambiguous"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errOut)
			if code != tt.code || !strings.Contains(out.String(), tt.inStdout) || !strings.Contains(errOut.String(), tt.inStderr) {
				t.Errorf("run(%q) = %d, want %d with %q in stdout and %q in stderr\nstdout:\n%s\nstderr:\n%s",
					tt.args, code, tt.code, tt.inStdout, tt.inStderr, out.String(), errOut.String())
			}
		})
	}
}

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	env := newCheckEnv(t, true, defaultsHandler(t))
	var out, errOut bytes.Buffer
	if code := run(context.Background(), env.args("--json", "example.test"), &out, &errOut); code != 0 {
		t.Fatalf("run = %d, stderr:\n%s", code, errOut.String())
	}
	var rep map[string]any
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, out.String())
	}
	// The documented top-level keys, written out independently.
	for _, k := range []string{"schema_version", "target", "host", "checked_at", "grade", "score", "base_score", "score_grade", "capped_by", "findings", "http", "https", "headers", "tls"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("--json output has no %q key", k)
		}
	}
	if rep["schema_version"] != float64(1) || rep["grade"] != "A+" || rep["host"] != "example.test" {
		t.Errorf("schema_version %v, grade %v, host %v; want 1, A+, example.test", rep["schema_version"], rep["grade"], rep["host"])
	}
	findings, _ := rep["findings"].([]any)
	if len(findings) == 0 {
		t.Fatal("--json output has no findings")
	}
	for _, f := range findings {
		m := f.(map[string]any)
		for _, k := range []string{"id", "category", "severity", "message", "modifier", "counted"} {
			if _, ok := m[k]; !ok {
				t.Errorf("finding %v has no %q", m["id"], k)
			}
		}
		if sev := m["severity"].(string); !slices.Contains([]string{"pass", "info", "warn", "fail"}, sev) {
			t.Errorf("finding %v has severity %q", m["id"], sev)
		}
	}
	if bytes.Contains(out.Bytes(), []byte("\x1b[")) {
		t.Error("--json output contains escape sequences")
	}
}

func TestCheckColor(t *testing.T) {
	t.Parallel()
	env := newCheckEnv(t, true, defaultsHandler(t))
	for _, tt := range []struct {
		mode string
		want bool
	}{{"always", true}, {"never", false}, {"auto", false}} { // auto: a bytes.Buffer is no terminal
		var out, errOut bytes.Buffer
		if code := run(context.Background(), env.args("--color", tt.mode, "example.test"), &out, &errOut); code != 0 {
			t.Fatalf("run(--color %s) = %d, stderr:\n%s", tt.mode, code, errOut.String())
		}
		if got := bytes.Contains(out.Bytes(), []byte("\x1b[")); got != tt.want {
			t.Errorf("--color %s: escape sequences %v, want %v", tt.mode, got, tt.want)
		}
	}
}

// TestUseColor uses /dev/null, a character device like a terminal, to
// check the auto mode's environment rules. It sets environment variables,
// so it does not run in parallel.
func TestUseColor(t *testing.T) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no %s: %v", os.DevNull, err)
	}
	defer devNull.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	tests := []struct {
		name, noColor, term, mode string
		out                       io.Writer
		want                      bool
	}{
		{"character device", "", "xterm", "auto", devNull, true},
		{"NO_COLOR set", "1", "xterm", "auto", devNull, false},
		{"dumb terminal", "", "dumb", "auto", devNull, false},
		{"pipe", "", "xterm", "auto", pw, false},
		{"always beats NO_COLOR", "1", "xterm", "always", pw, true},
		{"never", "", "xterm", "never", devNull, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NO_COLOR", tt.noColor)
			t.Setenv("TERM", tt.term)
			got, err := useColor(tt.mode, tt.out)
			if err != nil || got != tt.want {
				t.Errorf("useColor(%q) = %v, %v; want %v", tt.mode, got, err, tt.want)
			}
		})
	}
}

func TestResolveFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		host    string
		ip      string
		wantErr bool
	}{
		{"example.com:192.0.2.1", "example.com", "192.0.2.1", false},
		{"Example.COM.:192.0.2.1", "example.com", "192.0.2.1", false},
		{"example.com:::1", "example.com", "::1", false},
		{"example.com:[2001:db8::1]", "example.com", "2001:db8::1", false},
		{"example.com:::ffff:192.0.2.1", "example.com", "192.0.2.1", false},
		{"example.com", "", "", true},
		{":192.0.2.1", "", "", true},
		{"example.com:", "", "", true},
		{"example.com:host.test", "", "", true},
		{"exa mple.com:192.0.2.1", "", "", true},
		// curl's host:port:ip: that port only.
		{"example.com:443:192.0.2.1", "example.com:443", "192.0.2.1", false},
		{"Example.COM:0443:192.0.2.1", "example.com:443", "192.0.2.1", false},
		{"example.com:8443:::1", "example.com:8443", "::1", false},
		{"example.com:8443:[2001:db8::1]", "example.com:8443", "2001:db8::1", false},
		{"example.com:443::1", "example.com", "443::1", false}, // a whole IPv6 address, not port 443 with ":1"
		{"example.com:2001:db8::1", "", "", true},              // ambiguous
		{"example.com:0:192.0.2.1", "", "", true},
		{"example.com:70000:192.0.2.1", "", "", true},
		{"example.com:443:", "", "", true},
		{"example.com:443:host.test", "", "", true},
		{"example.com:443:192.0.2.1,192.0.2.2", "", "", true},
		{"+example.com:443:192.0.2.1", "", "", true},
		{"-example.com:443", "", "", true},
		{"example.com:443:[fe80::1%eth0]", "", "", true},
		{"example.com:https:192.0.2.1", "", "", true},
	}
	for _, tt := range tests {
		r := resolveFlag{}
		err := r.Set(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("Set(%q) = nil, want an error", tt.in)
			}
			continue
		}
		if err != nil || r[tt.host] != netip.MustParseAddr(tt.ip) {
			t.Errorf("Set(%q) = %v, map %v; want %s → %s", tt.in, err, r, tt.host, tt.ip)
		}
	}
	r := resolveFlag{}
	if err := r.Set("a.test:192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if err := r.Set("a.test:192.0.2.2"); err == nil {
		t.Error("a second, different address for the same host was accepted")
	}
}

// newHTTPOnlyEnv is a site that answers plain HTTP and nothing on its
// HTTPS port.
func newHTTPOnlyEnv(t *testing.T) *checkEnv {
	t.Helper()
	ca := testutil.NewCA(t, testutil.CAOptions{Name: "check test CA"})
	hs := httptest.NewUnstartedServer(helloWorld)
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	hs.Start()
	t.Cleanup(hs.Close)
	return &checkEnv{caFile: ca.WriteFile(t), httpPort: hs.Listener.Addr().(*net.TCPAddr).Port, httpsPort: closedLoopbackPort(t)}
}

// TestCheckHTTPSPortFromRedirect: "check http://host:PORT/" audits the
// HTTPS port the redirect points to, not 443; --https-port overrides it.
func TestCheckHTTPSPortFromRedirect(t *testing.T) {
	t.Parallel()
	env := newCheckEnv(t, true, defaultsHandler(t))
	base := []string{"check", "--resolve", "example.test:127.0.0.1", "--ca", env.caFile, "--timeout", "5s", "--json"}
	url := "http://example.test:" + strconv.Itoa(env.httpPort) + "/"
	var out, errOut bytes.Buffer
	if code := run(context.Background(), append(base, url), &out, &errOut); code != 0 {
		t.Fatalf("check %s = %d, stderr:\n%s", url, code, errOut.String())
	}
	var rep struct {
		Target          string `json:"target"`
		HTTPSPortSource string `json:"https_port_source"`
		Grade           string `json:"grade"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	want := "https://example.test:" + strconv.Itoa(env.httpsPort) + "/"
	if rep.Target != want || rep.HTTPSPortSource != "redirect" || rep.Grade != "A+" {
		t.Errorf("check %s audited %s (port from %q), grade %s; want %s from the redirect, A+", url, rep.Target, rep.HTTPSPortSource, rep.Grade, want)
	}

	// --https-port wins over the redirect: here, a closed port.
	out.Reset()
	errOut.Reset()
	closed := strconv.Itoa(closedLoopbackPort(t))
	code := run(context.Background(), append(base, "--https-port", closed, url), &out, &errOut)
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || code != 1 || rep.Target != "https://example.test:"+closed+"/" || rep.HTTPSPortSource != "given" {
		t.Errorf("check --https-port %s %s = %d, %+v (%v); want exit 1 for the closed port given", closed, url, code, rep, err)
	}
}

// TestCheckJSONFailure: with --json, stdout is JSON even when the site
// cannot be audited or the command line is wrong, and the exit status is 2.
func TestCheckJSONFailure(t *testing.T) {
	t.Parallel()
	closed := strconv.Itoa(closedLoopbackPort(t))
	tests := []struct {
		name string
		args []string
		kind string
		host string
	}{
		{"unreachable", []string{"check", "--json", "--resolve", "example.test:127.0.0.1", "--https-port", closed, "--http-port", closed, "--timeout", "2s", "example.test"}, "unreachable", "example.test"},
		{"json after the target", []string{"check", "--resolve", "example.test:127.0.0.1", "--https-port", closed, "--http-port", closed, "example.test", "--json"}, "unreachable", "example.test"},
		{"bad target", []string{"check", "--json", "ftp://example.test"}, "target", ""},
		{"unknown flag", []string{"check", "--json", "--frobnicate", "example.test"}, "usage", ""},
		{"bad grade", []string{"check", "--json=true", "--min-grade", "E", "example.test"}, "usage", "example.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errOut)
			var f struct {
				SchemaVersion *int   `json:"schema_version"`
				Host          string `json:"host"`
				CheckedAt     string `json:"checked_at"`
				Grade         *string
				Error         *struct{ Kind, Message string }
			}
			if err := json.Unmarshal(out.Bytes(), &f); err != nil {
				t.Fatalf("run(%q) = %d; stdout is not JSON: %v\n%s\nstderr:\n%s", tt.args, code, err, out.String(), errOut.String())
			}
			if code != 2 || f.SchemaVersion == nil || *f.SchemaVersion != 1 || f.Error == nil || f.Error.Kind != tt.kind || f.Error.Message == "" || f.Grade != nil || f.Host != tt.host || f.CheckedAt == "" {
				t.Errorf("run(%q) = %d, %s; want 2 and schema_version 1, error kind %q, host %q, no grade", tt.args, code, out.String(), tt.kind, tt.host)
			}
			if errOut.Len() == 0 {
				t.Error("nothing on stderr")
			}
		})
	}
}

// FuzzResolveFlag: --resolve never panics, and what it accepts prints
// back (String) in a form it parses to the same entries.
func FuzzResolveFlag(f *testing.F) {
	for _, s := range []string{
		"example.com:192.0.2.1", "example.com:::1", "example.com:[2001:db8::1]", "example.com:443:192.0.2.1",
		"example.com:443:[::1]", "example.com:443:::1", "example.com:443::1", "example.com:2001:db8::1",
		"+example.com:443:192.0.2.1", "-example.com:443", "bücher.example:80:10.0.0.1", "a:1:2:3", ":::", "example.com:443:[fe80::1%eth0]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := resolveFlag{}
		if err := r.Set(in); err != nil {
			if err.Error() == "" {
				t.Fatalf("Set(%q): empty error", in)
			}
			return
		}
		if len(r) != 1 {
			t.Fatalf("Set(%q) made %d entries", in, len(r))
		}
		for k, ip := range r {
			host := k
			if h, port, err := net.SplitHostPort(k); err == nil {
				p, err := strconv.Atoi(port)
				if err != nil || p < 1 || p > 65535 || strconv.Itoa(p) != port {
					t.Fatalf("Set(%q): key %q has a bad port", in, k)
				}
				host = h
			}
			if nh, err := forcehttps.NormalizeHost(host); err != nil || nh != host {
				t.Fatalf("Set(%q): host %q is not normalised", in, host)
			}
			if !ip.IsValid() || ip.Zone() != "" || ip.Is4In6() {
				t.Fatalf("Set(%q): address %v", in, ip)
			}
		}
		again := resolveFlag{}
		if err := again.Set(r.String()); err != nil {
			t.Fatalf("Set(%q) = %v; its String %q does not parse: %v", in, r, r.String(), err)
		}
		if !maps.Equal(r, again) {
			t.Fatalf("Set(%q) = %v; String %q parses to %v", in, r, r.String(), again)
		}
	})
}

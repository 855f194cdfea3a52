package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

// envMap returns a getenv for the given variables.
func envMap(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestListenAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		flag    string
		port    string // $PORT
		want    string
		wantErr string
	}{
		{"default", "", "", ":8080", ""},
		{"PORT", "", "9000", ":9000", ""},
		{"PORT max", "", "65535", ":65535", ""},
		{"flag wins", "127.0.0.1:8081", "9000", "127.0.0.1:8081", ""},
		{"flag wins over bad PORT", "127.0.0.1:8081", "nope", "127.0.0.1:8081", ""},
		{"flag ipv6", "[::1]:8080", "", "[::1]:8080", ""},
		{"PORT not a number", "", "http", "", `invalid $PORT "http"`},
		{"PORT zero", "", "0", "", `invalid $PORT "0"`},
		{"PORT too large", "", "65536", "", `invalid $PORT "65536"`},
		{"PORT negative", "", "-1", "", `invalid $PORT "-1"`},
		{"PORT with sign", "", "+80", "", `invalid $PORT "+80"`},
		{"PORT with spaces", "", " 80", "", `invalid $PORT " 80"`},
		{"PORT leading zero", "", "080", "", `invalid $PORT "080"`},
		{"flag without port", "127.0.0.1", "", "", `invalid --listen "127.0.0.1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := listenAddr(tt.flag, envMap("PORT", tt.port))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("listenAddr(%q, PORT=%q) = %q, %v; want error containing %q", tt.flag, tt.port, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("listenAddr(%q, PORT=%q) = %q, %v; want %q", tt.flag, tt.port, got, err, tt.want)
			}
		})
	}
}

// TestHeadersUsageErrors: bad flags and bad environment variables exit 2
// with a message, before anything listens.
func TestHeadersUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  []string
		msg  string
	}{
		{"bad PORT", nil, []string{"PORT", "eighty"}, `invalid $PORT "eighty": want a port number from 1 to 65535`},
		{"PORT out of range", nil, []string{"PORT", "99999"}, `invalid $PORT "99999"`},
		{"unknown preset", []string{"--trust", "aws"}, nil, "aws"},
		{"unknown preset from env", nil, []string{"FORCEHTTPS_TRUST", "gcp"}, "gcp"},
		{"bad proxy", []string{"--trusted-proxies", "10.0.0.0/33"}, nil, "10.0.0.0/33"},
		{"bad host", []string{"--allowed-hosts", "exa mple.com"}, nil, "exa mple.com"},
		{"any-host and allowed-hosts", []string{"--any-host", "--allowed-hosts", "example.com"}, nil, "exclude each other"},
		{"bad boolean env", nil, []string{"FORCEHTTPS_TEMPORARY", "maybe"}, `invalid $FORCEHTTPS_TEMPORARY "maybe"`},
		{"bad any-host env", nil, []string{"FORCEHTTPS_ANY_HOST", "yes please"}, `invalid $FORCEHTTPS_ANY_HOST`},
		{"bad https port env", nil, []string{"FORCEHTTPS_HTTPS_PORT", "x"}, `invalid $FORCEHTTPS_HTTPS_PORT "x"`},
		{"https port out of range", []string{"--https-port", "70000"}, nil, "HTTPSPort"},
		{"bad log level", []string{"--log-level", "loud"}, nil, `invalid log level "loud"`},
		{"positional argument", []string{"extra"}, nil, `unexpected argument "extra"`},
		{"unknown flag", []string{"--nope"}, nil, "flag provided but not defined: -nope"},
		{"bad listen", []string{"--listen", "8080"}, nil, `invalid --listen "8080"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			code := headersMain(context.Background(), tt.args, io.Discard, &stderr, headersDeps{
				getenv: envMap(tt.env...),
				ready:  func(net.Addr) { t.Errorf("headers %q listened", tt.args) },
			})
			if code != 2 {
				t.Errorf("headers %q (env %q) = %d, want 2; stderr:\n%s", tt.args, tt.env, code, &stderr)
			}
			if !strings.Contains(stderr.String(), tt.msg) {
				t.Errorf("headers %q (env %q): stderr lacks %q:\n%s", tt.args, tt.env, tt.msg, &stderr)
			}
		})
	}
}

func TestHeadersHelp(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	if code := headersMain(context.Background(), []string{"-h"}, io.Discard, &stderr, headersDeps{getenv: envMap()}); code != 0 {
		t.Errorf("headers -h = %d, want 0", code)
	}
	for _, want := range []string{"Usage: forcehttps headers", "$PORT", "127.0.0.1:8080", "Cloud Run", "Google's front end is the only way", "-trusted-proxies", "-any-host", "-temporary"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("headers -h lacks %q", want)
		}
	}
}

// startHeaders runs headersMain on a loopback port until the test ends and
// returns the base URL.
func startHeaders(t *testing.T, args []string, env ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &testutil.Buffer{}
	addrc := make(chan net.Addr, 1)
	done := make(chan int, 1)
	go func() {
		done <- headersMain(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), io.Discard, stderr, headersDeps{
			getenv: envMap(env...),
			ready:  func(a net.Addr) { addrc <- a },
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("headers %q exited %d after cancel; stderr:\n%s", args, code, stderr)
			}
			if !strings.Contains(stderr.String(), "stopped") {
				t.Errorf("headers %q: no graceful stop in the logs:\n%s", args, stderr)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("headers %q did not stop within 15s of cancel", args)
		}
	})
	select {
	case a := <-addrc:
		return "http://" + a.String()
	case code := <-done:
		t.Fatalf("headers %q exited %d; stderr:\n%s", args, code, stderr)
	case <-time.After(15 * time.Second):
		t.Fatalf("headers %q did not listen within 15s", args)
	}
	return ""
}

// noRedirect is a client that returns redirects instead of following them.
var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// get sends a GET with the Host and headers given, returns the response and
// body.
func get(t *testing.T, url, host string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("GET %s (Host %s): %v", url, host, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// TestHeadersServe runs the command on loopback and checks the policy it
// wraps the inspector in, with flags and with environment variables.
func TestHeadersServe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		env      []string
		path     string
		host     string
		hdr      []string
		status   int
		location string
		body     string // substring
	}{
		{"redirect", []string{"--allowed-hosts", "example.com"}, nil, "/headers?a=1", "example.com", nil, 301, "https://example.com/headers?a=1", ""},
		{"temporary", []string{"--allowed-hosts", "example.com", "--temporary"}, nil, "/headers", "example.com", nil, 302, "https://example.com/headers", ""},
		{"temporary from env", nil, []string{"FORCEHTTPS_ALLOWED_HOSTS", "example.com", "FORCEHTTPS_TEMPORARY", "true"}, "/headers", "example.com", nil, 302, "https://example.com/headers", ""},
		{"flag wins over env", []string{"--temporary=false"}, []string{"FORCEHTTPS_ALLOWED_HOSTS", "example.com", "FORCEHTTPS_TEMPORARY", "1"}, "/", "example.com", nil, 301, "https://example.com/", ""},
		{"https port", []string{"--allowed-hosts", "example.com", "--https-port", "8443"}, nil, "/headers", "example.com", nil, 301, "https://example.com:8443/headers", ""},
		{"any host", []string{"--any-host"}, nil, "/x", "other.example", nil, 301, "https://other.example/x", ""},
		{"unknown host refused", []string{"--allowed-hosts", "example.com"}, nil, "/headers", "evil.example", nil, 400, "", "not served here"},
		{"no allowed hosts", nil, nil, "/headers", "example.com", nil, 400, "", "not served here"},
		{"healthz exempt", []string{"--allowed-hosts", "example.com"}, nil, "/healthz", "example.com", nil, 200, "", "ok\n"},
		{"untrusted claim ignored", []string{"--allowed-hosts", "example.com"}, nil, "/headers", "example.com", []string{"X-Forwarded-Proto", "https"}, 301, "https://example.com/headers", ""},
		{"trusted proxy", []string{"--allowed-hosts", "example.com", "--trusted-proxies", "127.0.0.1"}, nil, "/headers.json", "example.com",
			[]string{"X-Forwarded-Proto", "https"}, 200, "", `"source": "trusted-proxy:x-forwarded-proto"`},
		{"cloudrun preset from env", nil, []string{"FORCEHTTPS_TRUST", "cloudrun", "FORCEHTTPS_ALLOWED_HOSTS", "example.com"}, "/headers.json", "example.com",
			[]string{"X-Forwarded-Proto", "https"}, 200, "", `"trust": "cloudrun"`},
		{"cloudrun preset says http", []string{"--trust", "cloudrun", "--allowed-hosts", "example.com"}, nil, "/headers", "example.com",
			[]string{"X-Forwarded-Proto", "http"}, 301, "https://example.com/headers", ""},
		{"localhost served", nil, nil, "/headers", "localhost", nil, 200, "", `<code id="reason">dev-host</code>`},
		{"credentials shown on request", []string{"--show-credentials"}, nil, "/headers.json", "localhost", []string{"Authorization", "Bearer t0ken"}, 200, "", "Bearer t0ken"},
		{"credentials redacted", nil, nil, "/headers.json", "localhost", []string{"Authorization", "Bearer t0ken"}, 200, "", "Bearer [redacted, 12 bytes]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base := startHeaders(t, tt.args, tt.env...)
			res, body := get(t, base+tt.path, tt.host, tt.hdr...)
			if res.StatusCode != tt.status {
				t.Errorf("GET %s (Host %s): status %d, want %d; body %q", tt.path, tt.host, res.StatusCode, tt.status, body)
			}
			if got := res.Header.Get("Location"); got != tt.location {
				t.Errorf("GET %s (Host %s): Location %q, want %q", tt.path, tt.host, got, tt.location)
			}
			if !strings.Contains(body, tt.body) {
				t.Errorf("GET %s (Host %s): body lacks %q:\n%.400s", tt.path, tt.host, tt.body, body)
			}
		})
	}
}

// TestHeadersTrustedHSTS: behind a trusted proxy that says https, the
// response carries HSTS and the security headers.
func TestHeadersTrustedHSTS(t *testing.T) {
	t.Parallel()
	base := startHeaders(t, []string{"--trusted-proxies", "127.0.0.0/8", "--allowed-hosts", "example.com"})
	res, body := get(t, base+"/headers", "example.com", "X-Forwarded-Proto", "https", "X-Forwarded-For", "198.51.100.7")
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	for k, want := range map[string]string{
		"Strict-Transport-Security": "max-age=31536000",
		"X-Frame-Options":           "DENY",
		"Content-Type":              "text/html; charset=utf-8",
	} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(body, `<code id="client-ip">198.51.100.7</code>`) {
		t.Error("page does not show the forwarded client IP")
	}
}

func TestHeadersListenError(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stderr bytes.Buffer
	code := headersMain(context.Background(), []string{"--listen", ln.Addr().String()}, io.Discard, &stderr, headersDeps{getenv: envMap()})
	if code != 1 || !strings.Contains(stderr.String(), "cannot listen") {
		t.Errorf("headers on a busy port = %d, want 1; stderr:\n%s", code, &stderr)
	}
}

// TestHeadersBrowser builds the real binary, runs "forcehttps headers" and
// loads /headers in headless Chromium: the DOM must hold the header table
// (with Chromium's own User-Agent) and the decision panel, and a
// screenshot must show the stylesheet applied under the default CSP.
func TestHeadersBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped in -short mode")
	}
	if runtime.GOOS == "windows" {
		t.Skip("browser test: needs SIGTERM")
	}
	chromium := testutil.FindChromium(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	tmp := t.TempDir()

	bin := filepath.Join(tmp, "forcehttps")
	buildCtx, cancelBuild := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancelBuild()
	if out, err := exec.CommandContext(buildCtx, goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	base, stop := startBinary(t, bin, "headers", "--listen", "127.0.0.1:0", "--trust", "none", "--allowed-hosts", "example.com")
	defer stop()

	res, body := get(t, base+"/healthz", "example.com")
	if res.StatusCode != 200 || body != "ok\n" {
		t.Fatalf("GET /healthz: %d %q", res.StatusCode, body)
	}

	dom := chromium.Run(t, "--dump-dom", base+"/headers")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`<h2 id="decision-title">What forcehttps decided</h2>`),
		regexp.MustCompile(`<code id="source">plain-http</code>`),
		regexp.MustCompile(`<code id="reason">dev-host</code>`),
		regexp.MustCompile(`<code id="action">serve</code>`),
		regexp.MustCompile(`<code id="client-ip">127\.0\.0\.1</code>`),
		regexp.MustCompile(`<table class="headers">`),
		regexp.MustCompile(`(?s)<span class="hname">User-Agent</span>.{0,200}HeadlessChrome/`),
		regexp.MustCompile(`(?s)<span class="hname">Upgrade-Insecure-Requests</span> <span class="mark"[^>]*>HTTPS</span>.{0,100}>1<`),
		regexp.MustCompile(`<code>GET /headers HTTP/1\.1</code>`),
	} {
		if !want.MatchString(dom) {
			t.Errorf("Chromium's DOM of /headers does not match %s", want)
		}
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}

	shot := filepath.Join(t.TempDir(), "headers.png")
	chromium.Run(t, "--screenshot="+shot, "--window-size=1280,1600", "--hide-scrollbars", base+"/headers")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 1600 {
		t.Errorf("screenshot is %dx%d, want 1280x1600", b.Dx(), b.Dy())
	}
	// The page background comes from the stylesheet: if the CSP or a wrong
	// Content-Type had blocked it, the corner would be white.
	r, g, b, _ := img.At(3, 3).RGBA()
	if r>>8 != 0xf6 || g>>8 != 0xf7 || b>>8 != 0xf9 {
		t.Errorf("screenshot corner is #%02x%02x%02x, want #f6f7f9: the stylesheet was not applied", r>>8, g>>8, b>>8)
	}
	colors := map[[3]uint32]bool{}
	for y := 0; y < 1600 && len(colors) < 64; y += 7 {
		for x := 0; x < 1280; x += 5 {
			r, g, b, _ := img.At(x, y).RGBA()
			colors[[3]uint32{r >> 8, g >> 8, b >> 8}] = true
		}
	}
	if len(colors) < 64 {
		t.Errorf("screenshot has %d colours: a blank page?", len(colors))
	}
	if dir := os.Getenv("FORCEHTTPS_SCREENSHOT_DIR"); dir != "" {
		if data, err := os.ReadFile(shot); err == nil {
			if err := os.WriteFile(filepath.Join(dir, "headers.png"), data, 0o644); err != nil {
				t.Errorf("keeping the screenshot: %v", err)
			}
		}
	}

	if code := stop(); code != 0 {
		t.Errorf("forcehttps headers exited %d after SIGTERM, want 0", code)
	}
}

// startBinary starts the built binary, waits for its "listening" log line
// and returns the base URL and a stop function that sends SIGTERM, waits
// (bounded) and returns the exit code; stop may be called more than once.
func startBinary(t *testing.T, bin string, args ...string) (string, func() int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "PORT=", "FORCEHTTPS_TRUST=", "FORCEHTTPS_ALLOWED_HOSTS=", "FORCEHTTPS_TEMPORARY=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	logs := &testutil.Buffer{}
	addrc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg="forcehttps headers: listening" addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(logs, sc.Text())
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	var once sync.Once
	code := -1
	stop := func() int {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			var err error
			select {
			case err = <-waited:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				err = <-waited
				t.Errorf("%s did not stop within 15s of SIGTERM; logs:\n%s", bin, logs)
			}
			var exit *exec.ExitError
			switch {
			case err == nil:
				code = 0
			case errors.As(err, &exit):
				code = exit.ExitCode()
			}
		})
		return code
	}
	select {
	case addr := <-addrc:
		return "http://" + addr, stop
	case err := <-waited:
		t.Fatalf("%s exited before listening: %v; logs:\n%s", bin, err, logs)
	case <-time.After(30 * time.Second):
		stop()
		t.Fatalf("%s did not listen within 30s; logs:\n%s", bin, logs)
	}
	return "", stop
}

package forcehttps

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestNewErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr error
		field   string // must appear in the message
	}{
		{"unknown preset", Config{Trust: "gcp"}, ErrUnknownPreset, "Trust"},
		{"bad CIDR", Config{TrustedProxies: []string{"10.0.0.0/8", "10.0.0.0/33"}}, ErrInvalidProxy, "TrustedProxies[1]"},
		{"hostname as proxy", Config{TrustedProxies: []string{"proxy.internal"}}, ErrInvalidProxy, "TrustedProxies[0]"},
		{"cloudfront needs ranges", Config{Trust: PresetCloudFront}, ErrNeedsTrustedProxies, "TrustedProxies"},
		{"unknown header", Config{TrustedProxies: []string{"10.0.0.1"}, ProtoHeaders: []string{"X-Scheme"}}, ErrUnknownHeader, "ProtoHeaders[0]"},
		{"bad host", Config{AllowedHosts: []string{"ok.example", "bad host"}}, ErrInvalidHost, "AllowedHosts[1]"},
		{"TLD wildcard", Config{AllowedHosts: []string{"*.com"}}, ErrInvalidHost, "AllowedHosts[0]"},
		{"IP wildcard", Config{AllowedHosts: []string{"*.10.0.0.1"}}, ErrInvalidHost, "AllowedHosts[0]"},
		{"host with port", Config{AllowedHosts: []string{"example.com:443"}}, ErrInvalidHost, "AllowedHosts[0]"},
		{"redirect 303", Config{RedirectStatus: 303}, ErrInvalidStatus, "RedirectStatus"},
		{"POST 301", Config{UnsafeMethodStatus: 301}, ErrInvalidStatus, "UnsafeMethodStatus"},
		{"credentials 308", Config{RefuseCredentialsStatus: 308}, ErrInvalidStatus, "RefuseCredentialsStatus"},
		{"preload without subdomains", Config{HSTSPreload: true}, ErrPreload, "HSTSPreload"},
		{"preload short max-age", Config{HSTSPreload: true, HSTSIncludeSubDomains: true, HSTSMaxAge: time.Hour}, ErrPreload, "HSTSPreload"},
		{"negative max-age", Config{HSTSMaxAge: -time.Second}, ErrInvalidMaxAge, "HSTSMaxAge"},
		{"fractional max-age", Config{HSTSMaxAge: 1500 * time.Millisecond}, ErrInvalidMaxAge, "HSTSMaxAge"},
		{"HSTS via headers", Config{SecurityHeaders: map[string]string{"strict-transport-security": "max-age=1"}}, ErrInvalidHeader, "strict-transport-security"},
		{"bad header name", Config{SecurityHeaders: map[string]string{"X Bad": "1"}}, ErrInvalidHeader, "X Bad"},
		{"bad header value", Config{SecurityHeaders: map[string]string{"X-Ok": "a\r\nb"}}, ErrInvalidHeader, "X-Ok"},
		{"nonce outside CSP", Config{SecurityHeaders: map[string]string{"X-Ok": "{nonce}"}}, ErrInvalidHeader, "X-Ok"},
		{"relative exempt path", Config{ExemptPaths: []string{"healthz"}}, ErrInvalidPath, "ExemptPaths[0]"},
		{"dotted exempt path", Config{ExemptPaths: []string{"/a/../b"}}, ErrInvalidPath, "ExemptPaths[0]"},
		{"port out of range", Config{HTTPSPort: 70000}, nil, "HTTPSPort"},
		{"empty user agent", Config{ExemptUserAgents: []string{" "}}, nil, "ExemptUserAgents[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := New(tt.cfg)
			if err == nil || m != nil {
				t.Fatalf("New() = %v, %v; want an error", m, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("New() error %v is not %v", err, tt.wantErr)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("New() error %v has no *FieldError", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("New() error %q does not name %q", err, tt.field)
			}
		})
	}
}

// TestNewReportsEverything checks that New lists every problem at once.
func TestNewReportsEverything(t *testing.T) {
	t.Parallel()
	_, err := New(Config{
		Trust:              "nope",
		TrustedProxies:     []string{"x"},
		AllowedHosts:       []string{"a b"},
		RedirectStatus:     200,
		UnsafeMethodStatus: 301,
		HSTSPreload:        true,
	})
	if err == nil {
		t.Fatal("New() succeeded")
	}
	for _, want := range []string{"Trust", "TrustedProxies[0]", "AllowedHosts[0]", "RedirectStatus", "UnsafeMethodStatus", "HSTSPreload"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

func TestNewValid(t *testing.T) {
	t.Parallel()
	for _, p := range Presets() {
		cfg := Config{Trust: p, AllowedHosts: []string{"example.com"}, Logger: slog.New(slog.DiscardHandler)}
		if p == PresetCloudFront {
			cfg.TrustedProxies = []string{"130.176.0.0/16"}
		}
		if _, err := New(cfg); err != nil {
			t.Errorf("New with preset %q: %v", p, err)
		}
		if p.Summary() == "" {
			t.Errorf("preset %q has no summary", p)
		}
	}
	if Preset("").Summary() != PresetNone.Summary() {
		t.Error("the zero preset is not none")
	}
	cfg := Config{
		TrustedProxies: []string{"10.0.0.1", " 192.168.0.0/16 ", "2001:db8::/32"},
		ProtoHeaders:   []string{"x-forwarded-proto", "FORWARDED"},
		AllowedHosts:   []string{"Example.COM.", "*.xn--bcher-kva.example", "[2001:db8::1]"},
		HSTSPreload:    true, HSTSIncludeSubDomains: true, HSTSMaxAge: 2 * DefaultHSTSMaxAge,
		Logger: slog.New(slog.DiscardHandler),
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if m.Config().HSTSMaxAge != cfg.HSTSMaxAge {
		t.Error("Config() does not return the configuration")
	}
}

func TestFieldError(t *testing.T) {
	t.Parallel()
	e := &FieldError{Field: "F", Value: "v\n", Err: ErrInvalidHost}
	if got := e.Error(); got != `F "v\n": invalid host` {
		t.Errorf("Error() = %q", got)
	}
	if got := (&FieldError{Field: "F", Err: ErrPreload}).Error(); !strings.HasPrefix(got, "F: preload") {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(e, ErrInvalidHost) {
		t.Error("FieldError does not unwrap")
	}
}

func TestIsCleanPath(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]bool{
		"/": true, "/a": true, "/a/": true, "/a/b.c": true, "/.well-known/x": true, "/...": true,
		"": false, "a": false, "//": false, "/a//b": false, "/./a": false, "/a/..": false, "/a/../b": false, "/a/.": false,
	} {
		if got := isCleanPath(p); got != want {
			t.Errorf("isCleanPath(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestMappedTrustedProxies checks that an IPv4-mapped prefix trusts the
// IPv4 peers it names (peers are compared unmapped).
func TestMappedTrustedProxies(t *testing.T) {
	t.Parallel()
	m := mustNew(t, Config{TrustedProxies: []string{"::ffff:10.0.0.0/104"}, AllowedHosts: hosts})
	for remote, want := range map[string]bool{"10.1.2.3:1": true, "[::ffff:10.1.2.3]:1": true, "11.0.0.1:1": false} {
		if got := m.Check(request{remote: remote}.build(t)).TrustedPeer; got != want {
			t.Errorf("TrustedPeer for %s = %v, want %v", remote, got, want)
		}
	}
}

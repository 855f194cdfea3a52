package forcehttps

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// The request path has one-pass versions of a few checks; these tests
// hold each to the general code it shortcuts.

func TestIsCanonicalName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"example.com", true},
		{"a-b.c_d.example", true},
		{"_acme.example.com", true},
		{"localhost", true},
		{"", false},
		{"Example.com", false},           // upper case: lowered by the full path
		{"example.com.", false},          // trailing dot
		{"a..b", false},                  // empty label
		{".a", false},                    // empty label
		{"-a.com", false},                // leading hyphen
		{"a-.com", false},                // trailing hyphen
		{"xn--bcher-kva.example", false}, // punycode: validated by the full path
		{"a.xn--p1ai", false},
		{"192.0.2.1", false}, // numeric last label
		{"a.0x7f", false},    // hex last label
		{"bücher.example", false},
		{"a b.com", false},
		{strings.Repeat("a", 63) + ".com", true},
		{strings.Repeat("a", 64) + ".com", false},
		{strings.Repeat("a.", 125) + "abc", true}, // 253 bytes
		{strings.Repeat("a.", 126) + "ab", false}, // 254 bytes
	}
	for _, tt := range tests {
		if got := isCanonicalName(tt.in); got != tt.want {
			t.Errorf("isCanonicalName(%q) = %v, want %v", tt.in, got, tt.want)
		}
		if tt.want {
			if h, kind, err := normalizeHostSlow(tt.in); err != nil || h != tt.in || kind != kindName {
				t.Errorf("normalizeHostSlow(%q) = %q, %v, %v; the one-pass check says it is canonical", tt.in, h, kind, err)
			}
		}
	}
}

// FuzzNormalizeHostFast checks that the one-pass check of canonical
// names decides as the full normalization does.
func FuzzNormalizeHostFast(f *testing.F) {
	for _, s := range []string{"example.com", "EXAMPLE.com.", "xn--bcher-kva.example", "a.xn--", "xn--a", "1.2.3", "a.0x1f", "a-.b", "_a.b", "2001:db8::1", "192.0.2.1", "a..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		h1, k1, err1 := normalizeHost(in)
		h2, k2, err2 := normalizeHostSlow(in)
		if h1 != h2 || k1 != k2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("normalizeHost(%q) = %q, %v, %v; the full path says %q, %v, %v", in, h1, k1, err1, h2, k2, err2)
		}
	})
}

// locationByURL is what location returns, built with url.URL.String.
func locationByURL(m *Middleware, host string, kind hostKind, u *url.URL) string {
	hostport := host
	if kind == kindIPv6 {
		hostport = "[" + host + "]"
	}
	if m.httpsPort != "" {
		hostport += ":" + m.httpsPort
	}
	path, rawPath := u.Path, u.RawPath
	if !strings.HasPrefix(path, "/") {
		path, rawPath = "/", ""
	}
	target := url.URL{Scheme: "https", Host: hostport, Path: path, RawPath: rawPath, RawQuery: escapeQuery(u.RawQuery)}
	return target.String()
}

// FuzzLocation checks that the redirect target is what url.URL.String
// makes of it, for any request-target and any valid host.
func FuzzLocation(f *testing.F) {
	for _, s := range [][2]string{
		{"/cart?id=7", "example.com"}, {"/a%2Fb?c=%00", "EXAMPLE.COM."}, {"*", "a.example.com"},
		{"/", "2001:DB8::1"}, {"/p?q=\"<x>\" y", "192.0.2.1"}, {"/%zz", "bücher.example"},
		{"/a b/ü?ü", "example.com"}, {"//x//y?", "example.com"}, {"/a;b,c=d@e:f", "example.com"},
	} {
		f.Add(s[0], s[1])
	}
	plain := mustNew(f, Config{})
	port := mustNew(f, Config{HTTPSPort: 8443})
	f.Fuzz(func(t *testing.T, target, hostIn string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		host, kind, err := normalizeHost(hostIn)
		if err != nil {
			return
		}
		for _, m := range []*Middleware{plain, port} {
			if got, want := m.location(host, kind, u), locationByURL(m, host, kind, u); got != want {
				t.Fatalf("location(%q, %q) = %q, url.URL.String makes %q", host, target, got, want)
			}
		}
	})
}

// FuzzPeerAddr checks that the one-pass IPv4 parse agrees with netip.
func FuzzPeerAddr(f *testing.F) {
	for _, s := range []string{"192.0.2.1:5000", "0.0.0.0:0", "255.255.255.255:65535", "1.2.3.4:65536", "01.2.3.4:1",
		"1.2.3:4", "1.2.3.4:", "1.2.3.4:00080", "1.2.3.4:000080", "256.1.1.1:1", "[::1]:80", "1.2.3.4", "1.2.3.4:+1", "1.2.3.4.5:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := parseIPv4Port(s)
		if !ok {
			return
		}
		ap, err := netip.ParseAddrPort(s)
		if err != nil || ap.Addr() != a {
			t.Fatalf("parseIPv4Port(%q) = %v; netip.ParseAddrPort says %v, %v", s, a, ap, err)
		}
	})
}

func TestParseIPv4Port(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"192.0.2.1:5000", "10.0.0.1:1", "0.0.0.0:0", "255.255.255.255:65535"} {
		if a, ok := parseIPv4Port(s); !ok || a != netip.MustParseAddrPort(s).Addr() {
			t.Errorf("parseIPv4Port(%q) = %v, %v", s, a, ok)
		}
	}
	for _, s := range []string{"", "1.2.3.4", "01.2.3.4:1", "1.2.3.4:65536", "1.2.3.4:", "256.0.0.1:1", "[::1]:1", "1.2.3.4:1a", "1.2.3.4:000080"} {
		if _, ok := parseIPv4Port(s); ok {
			t.Errorf("parseIPv4Port(%q) = ok, want the general path", s)
		}
	}
}

func TestIsForwardingHeader(t *testing.T) {
	t.Parallel()
	for _, k := range forwardingHeaders {
		if !isForwardingHeader(k) {
			t.Errorf("isForwardingHeader(%q) = false", k)
		}
	}
	for _, k := range []string{"", "User-Agent", "X-Forwarded", "Forwarded-For", "x-forwarded-proto", "X-Real-Ip"} {
		if isForwardingHeader(k) {
			t.Errorf("isForwardingHeader(%q) = true", k)
		}
	}
}

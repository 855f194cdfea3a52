package audit

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/forcehttps/forcehttps"
	"github.com/google/go-cmp/cmp"
)

var targetTests = []struct {
	name    string
	in      string
	want    Target
	wantErr bool
}{
	{"bare host: HTTPS port from the redirect", "example.com", Target{Host: "example.com", HTTPPort: 80, HTTPSPort: 0, Path: "/"}, false},
	{"bare host with port is HTTPS", "example.com:8443", Target{Host: "example.com", HTTPPort: 80, HTTPSPort: 8443, Path: "/"}, false},
	{"bare host with path", "example.com/a/b?x=1", Target{Host: "example.com", HTTPPort: 80, Path: "/a/b?x=1"}, false},
	{"https URL", "https://Example.COM./login?next=%2F#frag", Target{Host: "example.com", HTTPPort: 80, HTTPSPort: 443, Path: "/login?next=%2F"}, false},
	{"http URL with port: HTTPS port from the redirect", "HTTP://example.com:8080", Target{Host: "example.com", HTTPPort: 8080, Path: "/"}, false},
	{"IPv6", "[::1]:8443", Target{Host: "::1", HTTPPort: 80, HTTPSPort: 8443, Path: "/"}, false},
	{"IPv4", "https://127.0.0.1/", Target{Host: "127.0.0.1", HTTPPort: 80, HTTPSPort: 443, Path: "/"}, false},
	{"IDN", "bücher.example", Target{Host: "xn--bcher-kva.example", HTTPPort: 80, Path: "/"}, false},
	{"escaped path kept", "https://example.com/a%2Fb", Target{Host: "example.com", HTTPPort: 80, HTTPSPort: 443, Path: "/a%2Fb"}, false},
	{"double slash path stays a path", "https://example.com//evil.test/", Target{Host: "example.com", HTTPPort: 80, HTTPSPort: 443, Path: "//evil.test/"}, false},
	{"surrounding spaces", "  example.com  ", Target{Host: "example.com", HTTPPort: 80, Path: "/"}, false},
	{"empty", "", Target{}, true},
	{"scheme only", "https://", Target{}, true},
	{"other scheme", "ftp://example.com", Target{}, true},
	{"javascript", "javascript://example.com/%0aalert(1)", Target{}, true},
	{"credentials", "https://user:pass@example.com/", Target{}, true},
	{"port zero", "example.com:0", Target{}, true},
	{"port too big", "https://example.com:65536/", Target{}, true},
	{"port not a number", "example.com:https", Target{}, true},
	{"empty port", "example.com:", Target{}, true},
	{"space inside", "exa mple.com", Target{}, true},
	{"control byte", "example.com\x00", Target{}, true},
	{"unbracketed IPv6", "::1", Target{}, true},
	{"brackets around a name", "[example.com]", Target{}, true},
	{"bad host characters", "exa_mple!.com", Target{}, true},
	{"too long", strings.Repeat("a", 3000) + ".com", Target{}, true},
	{"mailto", "mailto:someone@example.com", Target{}, true},
}

func TestParseTarget(t *testing.T) {
	t.Parallel()
	for _, tt := range targetTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTarget(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrTarget) {
					t.Fatalf("ParseTarget(%q) = %+v, %v; want an error wrapping ErrTarget", tt.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTarget(%q) error: %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseTarget(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestTargetURLs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in                  Target
		http, https, tlsDst string
	}{
		{Target{Host: "example.com"}, "http://example.com/", "https://example.com/", "example.com:443"},
		{Target{Host: "example.com", HTTPPort: 8080, HTTPSPort: 8443, Path: "/a?b=1"}, "http://example.com:8080/a?b=1", "https://example.com:8443/a?b=1", "example.com:8443"},
		{Target{Host: "::1", HTTPPort: 80, HTTPSPort: 443}, "http://[::1]/", "https://[::1]/", "[::1]:443"},
		{Target{Host: "example.com", Path: "//x.test/y"}, "http://example.com//x.test/y", "https://example.com//x.test/y", "example.com:443"},
		{Target{Host: "example.com", Path: "not-a-path"}, "http://example.com/", "https://example.com/", "example.com:443"},
	}
	for _, tt := range tests {
		if got := tt.in.HTTPURL(); got != tt.http {
			t.Errorf("%+v.HTTPURL() = %q, want %q", tt.in, got, tt.http)
		}
		if got := tt.in.HTTPSURL(); got != tt.https {
			t.Errorf("%+v.HTTPSURL() = %q, want %q", tt.in, got, tt.https)
		}
		if got := tt.in.TLSAddr(); got != tt.tlsDst {
			t.Errorf("%+v.TLSAddr() = %q, want %q", tt.in, got, tt.tlsDst)
		}
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, tt := range targetTests {
		if len(tt.in) < 256 {
			f.Add(tt.in)
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseTarget(in)
		if err != nil {
			if !errors.Is(err, ErrTarget) {
				t.Fatalf("ParseTarget(%q) error %v does not wrap ErrTarget", in, err)
			}
			return
		}
		if nh, err := forcehttps.NormalizeHost(got.Host); err != nil || nh != got.Host {
			t.Fatalf("ParseTarget(%q).Host = %q, not normalized (%q, %v)", in, got.Host, nh, err)
		}
		if got.HTTPPort < 1 || got.HTTPPort > 65535 || got.HTTPSPort < 0 || got.HTTPSPort > 65535 {
			t.Fatalf("ParseTarget(%q) ports out of range: %+v", in, got)
		}
		if !strings.HasPrefix(got.Path, "/") {
			t.Fatalf("ParseTarget(%q).Path = %q, not absolute", in, got.Path)
		}
		// The URLs built from a target parse back to the same target.
		back, err := ParseTarget(got.HTTPSURL())
		if err != nil {
			t.Fatalf("ParseTarget(HTTPSURL() = %q) of %q: %v", got.HTTPSURL(), in, err)
		}
		back.HTTPPort = got.HTTPPort
		if got.HTTPSPort == 0 && back.HTTPSPort == 443 {
			back.HTTPSPort = 0 // left for Run to take from the redirect; the URL says 443
		}
		if back != got {
			t.Fatalf("ParseTarget(%q) = %+v; its HTTPS URL %q parses to %+v", in, got, got.HTTPSURL(), back)
		}
		back, err = ParseTarget(got.HTTPURL())
		if err != nil || back.Host != got.Host || back.HTTPPort != got.HTTPPort || back.Path != got.Path {
			t.Fatalf("ParseTarget(HTTPURL() = %q) of %q = %+v, %v", got.HTTPURL(), in, back, err)
		}
		for _, u := range []string{got.HTTPURL(), got.HTTPSURL()} {
			if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
				t.Fatalf("URL %q of %q has another scheme", u, in)
			}
		}
	})
}

func ExampleParseTarget() {
	t, err := ParseTarget("shop.example.com:8443")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.HTTPURL())
	fmt.Println(t.HTTPSURL())
	_, err = ParseTarget("ftp://shop.example.com")
	fmt.Println(err)
	// Output:
	// http://shop.example.com/
	// https://shop.example.com:8443/
	// invalid target: "ftp://shop.example.com": scheme "ftp" is not http or https
}

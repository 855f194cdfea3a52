package audit

import (
	"slices"
	"strings"
	"testing"

	"github.com/forcehttps/forcehttps/internal/csp"
)

var referrerTests = []struct {
	name  string
	lines []string
	want  string
	ok    bool
}{
	{"one", []string{"no-referrer"}, "no-referrer", true},
	{"case and spaces", []string{"  Strict-Origin-When-Cross-Origin "}, "strict-origin-when-cross-origin", true},
	{"last valid wins", []string{"no-referrer, unsafe-url"}, "unsafe-url", true},
	{"unknown tokens ignored", []string{"same-origin, brand-new-policy"}, "same-origin", true},
	{"across lines", []string{"origin", "strict-origin"}, "strict-origin", true},
	{"empty", []string{""}, "", false},
	{"only unknown", []string{"never, always"}, "", false},
	{"nothing", nil, "", false},
}

func TestParseReferrerPolicy(t *testing.T) {
	t.Parallel()
	for _, tt := range referrerTests {
		got, ok := ParseReferrerPolicy(tt.lines)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseReferrerPolicy(%q) = %q, %v; want %q, %v", tt.lines, got, ok, tt.want, tt.ok)
		}
	}
}

// knownReferrerPolicies is the list of Referrer Policy §3, written out
// independently of headers.go.
var knownReferrerPolicies = []string{
	"no-referrer", "no-referrer-when-downgrade", "same-origin", "origin",
	"strict-origin", "origin-when-cross-origin", "strict-origin-when-cross-origin",
	"unsafe-url",
}

func FuzzParseReferrerPolicy(f *testing.F) {
	for _, tt := range referrerTests {
		f.Add(strings.Join(tt.lines, "\n"))
	}
	f.Fuzz(func(t *testing.T, in string) {
		lines := strings.Split(in, "\n")
		got, ok := ParseReferrerPolicy(lines)
		if ok != (got != "") {
			t.Fatalf("ParseReferrerPolicy(%q) = %q, %v", lines, got, ok)
		}
		if ok && !slices.Contains(knownReferrerPolicies, got) {
			t.Fatalf("ParseReferrerPolicy(%q) = %q, not a policy", lines, got)
		}
		// Lines are one comma-separated list.
		if joined, jok := ParseReferrerPolicy([]string{strings.Join(lines, ",")}); joined != got || jok != ok {
			t.Fatalf("ParseReferrerPolicy of joined %q = %q, want %q", lines, joined, got)
		}
		// Appending a known policy makes it the policy.
		if again, _ := ParseReferrerPolicy(append(lines, "same-origin")); again != "same-origin" {
			t.Fatalf("ParseReferrerPolicy(%q + same-origin) = %q", lines, again)
		}
	})
}

func TestBroadSource(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"*", "https:", "HTTP:", "wss:", "https://*", "*:443", "http://*/path"} {
		if !broadSource(s) {
			t.Errorf("broadSource(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"'self'", "data:", "blob:", "https://cdn.example.com", "*.example.com", "'nonce-abc'", "'unsafe-inline'"} {
		if broadSource(s) {
			t.Errorf("broadSource(%q) = true, want false", s)
		}
	}
}

func TestHumanAge(t *testing.T) {
	t.Parallel()
	tests := map[int64]string{
		0: "0 seconds", 1: "1 second", 300: "5 minutes", 3600: "1 hour", 86400: "1 day",
		604800: "1 week", 2592000: "1 month", 15552000: "6 months", 31536000: "1 year", 63072000: "2 years",
	}
	for in, want := range tests {
		if got := humanAge(in); got != want {
			t.Errorf("humanAge(%d) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkPolicyWeaknesses(b *testing.B) {
	b.ReportAllocs()
	ps, err := csp.ParseHeader([]string{"default-src 'self'; script-src 'nonce-abc' 'strict-dynamic' https:; object-src 'none'; img-src * data:; frame-ancestors 'none'"})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		policyWeaknesses(&ps[0])
		policyHygiene(&ps[0])
	}
}

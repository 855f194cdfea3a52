package upstream

import (
	"net/url"
	"testing"
)

// TestAppendTarget checks that the request-target is written as
// url.URL.RequestURI writes it, and without allocating for a plain path
// and query.
func TestAppendTarget(t *testing.T) {
	targets := []string{
		"/", "/cart?id=7", "/a/b?x=1&y=%20z", "/a%2Fb/c%20d", "/a!b'(c)*~", "/a?",
		"/a b", "/é", "*", "/p;q=1", "/a/../b", "//double", "/?", "/x?a=1#frag",
	}
	for _, target := range targets {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			t.Fatalf("ParseRequestURI(%q): %v", target, err)
		}
		if got, want := string(appendTarget(nil, u)), u.RequestURI(); got != want {
			t.Errorf("appendTarget(%q) = %q, want %q", target, got, want)
		}
	}
	// Built by hand: a URL with an unescaped Path and no RawPath.
	u := &url.URL{Path: "/a b/ü", RawQuery: "q=1"}
	if got, want := string(appendTarget(nil, u)), u.RequestURI(); got != want {
		t.Errorf("appendTarget(%#v) = %q, want %q", u, got, want)
	}
	plain, _ := url.ParseRequestURI("/cart?id=7")
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = appendTarget(buf[:0], plain) }); n != 0 {
		t.Errorf("appendTarget allocates %v times for a plain target", n)
	}
}

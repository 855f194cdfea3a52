package forcehttps

import (
	"bufio"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func FuzzParseHSTS(f *testing.F) {
	for _, s := range []string{
		"max-age=31536000", "max-age=0", "MAX-AGE=10; INCLUDESUBDOMAINS; PRELOAD", `max-age="1\0"`,
		"max-age=1, max-age=2", "max-age=1; max-age=2", "max-age=5; x=\"a;b\"", ";;max-age=1;;", "max-age=99999999999999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHSTS(s)
		if err != nil {
			if h != (HSTS{}) {
				t.Fatalf("ParseHSTS(%q) returned %+v with error %v", s, h, err)
			}
			return
		}
		if h.MaxAge < 0 {
			t.Fatalf("ParseHSTS(%q).MaxAge = %d < 0", s, h.MaxAge)
		}
		back, err := ParseHSTS(h.String())
		if err != nil || back != h {
			t.Fatalf("round trip of %q: %q parses to %+v, %v", s, h.String(), back, err)
		}
	})
}

// FuzzCheckScheme feeds arbitrary forwarding headers from a trusted or an
// untrusted peer. Properties: no panic; the decision is consistent (HSTS
// only when secure, a reason always set); an untrusted peer's headers never
// make a plain request secure.
func FuzzCheckScheme(f *testing.F) {
	f.Add("10.0.0.1:1", "https", "", "", "", false)
	f.Add("10.0.0.1:1", "https, http", "198.51.100.1, 10.0.0.2", "", "", false)
	f.Add("10.0.0.1:1", "", "", `for="[2001:db8::1]:80";proto=https`, "", false)
	f.Add("10.0.0.1:1", "http", "", "proto=https", "", true)
	f.Add("198.51.100.1:1", "https", "", "proto=https", `{"scheme":"https"}`, false)
	f.Add("[fd00::1]:1", "WSS", "", `for=_x;proto=https, for=unknown`, "", false)
	f.Add("@", "https", "x", "for=", "{", false)
	m, err := New(Config{
		TrustedProxies: []string{"10.0.0.0/8", "fd00::/8"},
		ProtoHeaders:   []string{"Forwarded", "X-Forwarded-Proto", "CF-Visitor"},
		AllowedHosts:   []string{"example.com"},
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, remote, xfp, xff, fwd, cfv string, overTLS bool) {
		q := request{remote: remote, tls: overTLS, header: []string{
			"X-Forwarded-Proto", xfp, "X-Forwarded-For", xff, "Forwarded", fwd, "CF-Visitor", cfv}}
		r := q.build(t)
		r.RemoteAddr = remote // even an empty or odd one
		d := m.Check(r)
		if d.Source == "" || d.Reason == "" {
			t.Fatalf("decision without reason: %+v", d)
		}
		if d.HSTS != "" && !d.Secure {
			t.Fatalf("HSTS on an insecure decision: %+v", d)
		}
		if d.Secure && !overTLS && !d.TrustedPeer {
			t.Fatalf("untrusted peer %q made a plain request secure: %+v", remote, d)
		}
		if d.Secure && d.Action != Serve {
			t.Fatalf("secure request not served: %+v", d)
		}
		if d.Action == Redirect {
			assertRedirect(t, m, d)
		}
	})
}

// FuzzRedirectTarget parses a raw request with net/http's own parser, as a
// server would, and checks the redirect: it is https, it stays on the
// validated host, which is an allowed one, and its path is the request's.
func FuzzRedirectTarget(f *testing.F) {
	for _, s := range [][2]string{
		{"/cart?id=7", "example.com"}, {"//evil.com/x", "example.com"}, {`/\evil.com`, "example.com"},
		{"http://evil.com/x", "example.com"}, {"http://example.com:80/a?b", "evil.com"}, {"*", "a.example.com"},
		{"/a%2Fb?c=%00", "EXAMPLE.COM."}, {"/", "[2001:db8::1]:8080"}, {"/", "xn--bcher-kva.example"},
		{"/p", "example.com:99999"}, {"/?q=\"<x>\"", "a.example.com"}, {"https://example.com/", "example.com"},
	} {
		f.Add(s[0], s[1], "GET")
	}
	m, err := New(Config{
		AllowedHosts:    []string{"example.com", "*.example.com", "bücher.example", "2001:db8::1"},
		IncludeDevHosts: true,
		HTTPSPort:       8443,
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, target, host, method string) {
		raw := method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // net/http would have refused it before any handler
		}
		r.RemoteAddr = "198.51.100.1:1"
		d := m.Check(r)
		if d.Action == Redirect {
			assertRedirect(t, m, d)
			u, _ := url.Parse(d.Location)
			if want := r.URL.EscapedPath(); strings.HasPrefix(r.URL.Path, "/") && u.EscapedPath() != want {
				t.Fatalf("redirect path %q, request path %q", u.EscapedPath(), want)
			}
		}
	})
}

// assertRedirect checks the invariants of every redirect.
func assertRedirect(t *testing.T, m *Middleware, d Decision) {
	t.Helper()
	u, err := url.Parse(d.Location)
	if err != nil {
		t.Fatalf("Location %q does not parse: %v", d.Location, err)
	}
	if u.Scheme != "https" || u.User != nil || u.Opaque != "" || u.Fragment != "" {
		t.Fatalf("Location %q is not a plain https URL", d.Location)
	}
	if u.Hostname() != d.Host || d.Host == "" {
		t.Fatalf("Location %q leaves the validated host %q", d.Location, d.Host)
	}
	if !m.hosts.match(d.Host) {
		t.Fatalf("redirect to a host that is not allowed: %q", d.Host)
	}
	if got, want := u.Port(), m.httpsPort; got != want {
		t.Fatalf("Location %q has port %q, want %q", d.Location, got, want)
	}
	if d.Secure || d.HSTS != "" {
		t.Fatalf("redirect of a secure request: %+v", d)
	}
	if d.Status != 301 && d.Status != 302 && d.Status != 307 && d.Status != 308 {
		t.Fatalf("redirect status %d", d.Status)
	}
}

// FuzzNormalizeHost checks that normalization is idempotent and that its
// result is plain lower-case ASCII.
func FuzzNormalizeHost(f *testing.F) {
	for _, s := range []string{"example.com", "EXAMPLE.com.", "bücher.example", "xn--bcher-kva.example", "2001:DB8::1", "192.0.2.1", "\x80", "a\xffb.com", "1.2.3", "_a.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeHost(in)
		if err != nil {
			return
		}
		again, err := NormalizeHost(out)
		if err != nil || again != out {
			t.Fatalf("NormalizeHost(%q) = %q, which normalizes to %q, %v", in, out, again, err)
		}
		if !isASCII(out) || !isLowerASCII(out) {
			t.Fatalf("NormalizeHost(%q) = %q is not lower-case ASCII", in, out)
		}
	})
}

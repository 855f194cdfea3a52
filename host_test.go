package forcehttps

import (
	"errors"
	"testing"
)

func TestSplitHostPort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, host, port string
		ok             bool
	}{
		{"example.com", "example.com", "", true},
		{"example.com:8080", "example.com", "8080", true},
		{"example.com:", "example.com", "", true},
		{"[::1]", "::1", "", true},
		{"[::1]:443", "::1", "443", true},
		{"[::1]:", "::1", "", true},
		{"", "", "", false},
		{":80", "", "80", false},
		{"[]", "", "", false},
		{"[example.com]", "", "", false},
		{"[::1", "", "", false},
		{"[::1]x", "", "", false},
		{"::1", "", "", false},
		{"a:b:c", "", "", false},
		{"example.com:65536", "", "", false},
		{"example.com:123456", "", "", false},
		{"example.com:+1", "", "", false},
		{"example.com:-1", "", "", false},
	}
	for _, tt := range tests {
		host, port, ok := splitHostPort(tt.in)
		if host != tt.host || port != tt.port || ok != tt.ok {
			t.Errorf("splitHostPort(%q) = %q, %q, %v; want %q, %q, %v", tt.in, host, port, ok, tt.host, tt.port, tt.ok)
		}
	}
}

func TestNormalizeHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "example.com", want: "example.com"},
		{in: "EXAMPLE.com.", want: "example.com"},
		{in: "bücher.example", want: "xn--bcher-kva.example"},
		{in: "BÜCHER.example", want: "xn--bcher-kva.example"},
		{in: "xn--bcher-kva.example", want: "xn--bcher-kva.example"},
		{in: "_acme.example.com", want: "_acme.example.com"},
		{in: "192.0.2.1", want: "192.0.2.1"},
		{in: "2001:DB8::1", want: "2001:db8::1"},
		{in: "2001:db8:0:0::1", want: "2001:db8::1"},
		{in: "localhost", want: "localhost"},
		{in: "", bad: true},
		{in: ".", bad: true},
		{in: "example..com", bad: true},
		{in: "-example.com", bad: true},
		{in: "example-.com", bad: true},
		{in: "exa mple.com", bad: true},
		{in: "example.com/x", bad: true},
		{in: "user@example.com", bad: true},
		{in: `a\b`, bad: true},
		{in: "xn--zz.example", bad: true},
		{in: "1.2.3", bad: true},
		{in: "0x7f.1", bad: true},
		{in: "a.0x", bad: true},
		{in: "192.0.2.01", bad: true},
		{in: "\x80", bad: true},
		{in: "a\xffb.com", bad: true},
		{in: "::ffff:192.0.2.1", bad: true},
		{in: "fe80::1%eth0", bad: true},
		{in: "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.com", bad: true},
		{in: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", bad: true},
	}
	for _, tt := range tests {
		got, err := NormalizeHost(tt.in)
		if tt.bad {
			if err == nil || !errors.Is(err, ErrInvalidHost) {
				t.Errorf("NormalizeHost(%q) = %q, %v; want ErrInvalidHost", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestHostMatcher(t *testing.T) {
	t.Parallel()
	m, errs := newHostMatcher("AllowedHosts", []string{"example.com", "*.apps.example.net", "[2001:db8::1]", "Bücher.example"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for h, want := range map[string]bool{
		"example.com":           true,
		"www.example.com":       false,
		"a.apps.example.net":    true,
		"apps.example.net":      false,
		"a.b.apps.example.net":  false,
		"2001:db8::1":           true,
		"xn--bcher-kva.example": true,
		"example.com.evil.test": false,
		"xapps.example.net":     false,
	} {
		if got := m.match(h); got != want {
			t.Errorf("match(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestIsDevHostport(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]bool{
		"localhost": true, "LOCALHOST:8443": true, "localhost.": true, "app.localhost": true,
		"127.0.0.1:8443": true, "[::1]:8443": true, "10.0.0.1": true,
		"example.com": false, "notlocalhost": false, "localhost.example.com": false, "bad host:x": false,
	} {
		if got := isDevHostport(h); got != want {
			t.Errorf("isDevHostport(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestEscapeQuery(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                 "",
		"a=1&b=%2F":        "a=1&b=%2F",
		"q=a b":            "q=a%20b",
		"q=\"<x>\"":        "q=%22%3Cx%3E%22",
		"q=é":              "q=%C3%A9",
		"q=\x7f":           "q=%7F",
		"a=1;b=2?c=/d@e:f": "a=1;b=2?c=/d@e:f",
	} {
		if got := escapeQuery(in); got != want {
			t.Errorf("escapeQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeHostNoAllocs(t *testing.T) {
	for _, h := range []string{"www.example.test", "192.0.2.1", "2001:db8::1", "localhost"} {
		if n := testing.AllocsPerRun(100, func() { NormalizeHost(h) }); n != 0 {
			t.Errorf("NormalizeHost(%q) allocs = %v, want 0", h, n)
		}
	}
}

func TestParseHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, host, port, joined string
		bad                    bool
	}{
		{in: "Example.COM.:8443", host: "example.com", port: "8443", joined: "example.com:8443"},
		{in: "example.com", host: "example.com", joined: "example.com"},
		{in: "[2001:DB8::1]:443", host: "2001:db8::1", port: "443", joined: "[2001:db8::1]:443"},
		{in: "bücher.example", host: "xn--bcher-kva.example", joined: "xn--bcher-kva.example"},
		{in: "example.com:evil", bad: true},
		{in: "example.com:%2F%2Fevil.com", bad: true},
		{in: "[example.com]", bad: true},
		{in: "shop.example.com:\\evil.com", bad: true},
		{in: "a b", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		host, port, err := ParseHost(tt.in)
		if tt.bad {
			if !errors.Is(err, ErrInvalidHost) {
				t.Errorf("ParseHost(%q) = %q, %q, %v; want ErrInvalidHost", tt.in, host, port, err)
			}
			continue
		}
		if err != nil || host != tt.host || port != tt.port {
			t.Errorf("ParseHost(%q) = %q, %q, %v; want %q, %q", tt.in, host, port, err, tt.host, tt.port)
		}
		if got := JoinHost(host, port); got != tt.joined {
			t.Errorf("JoinHost(%q, %q) = %q, want %q", host, port, got, tt.joined)
		}
	}
}

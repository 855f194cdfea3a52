package forcehttps

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// browserHost parses a Location roughly as a WHATWG URL parser does:
// tabs and newlines removed, backslashes read as slashes, leading C0
// and space trimmed.
func browserHost(loc string) string {
	loc = strings.TrimLeft(loc, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(loc)
	loc = strings.ReplaceAll(loc, "\\", "/")
	i := strings.Index(loc, "://")
	if i < 0 {
		return "<relative>"
	}
	rest := strings.TrimLeft(loc[i+3:], "/")
	end := strings.IndexAny(rest, "/?#")
	if end >= 0 {
		rest = rest[:end]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest = rest[at+1:]
	}
	if strings.HasPrefix(rest, "[") {
		if j := strings.IndexByte(rest, ']'); j >= 0 {
			return rest[:j+1]
		}
	}
	if j := strings.LastIndexByte(rest, ':'); j >= 0 {
		rest = rest[:j]
	}
	return strings.ToLower(rest)
}

func TestAdversarialRedirectNeverLeavesHost(t *testing.T) {
	m, err := New(Config{AllowedHosts: []string{"example.com", "*.example.com", "[2001:db8::1]"}, IncludeDevHosts: true, HTTPSPort: 8443})
	if err != nil {
		t.Fatal(err)
	}
	hosts := []string{
		"example.com", "EXAMPLE.COM.", "a.example.com", "example.com:80", "example.com:", "example.com:0080",
		"evil.com", "example.com.evil.com", "evil.com:example.com", "a.b.example.com", "xn--exmple-cua.com",
		"[2001:db8::1]", "[2001:db8::1]:80", "[2001:db8::1%25eth0]", "[::ffff:1.2.3.4]", "2001:db8::1",
		"example.com%2f.evil.com", "example.com%00", "example%2ecom", "*.example.com", "_.example.com",
		strings.Repeat("a", 63) + ".example.com", strings.Repeat("a.", 120) + "example.com",
	}
	targets := []string{
		"/", "//evil.com/", "///evil.com", "/\\evil.com", "/%2f%2fevil.com", "/%5c%5cevil.com", "/..;/x",
		"/a?b#c", "/a?%0d%0aSet-Cookie:x=1", "/a?\\evil", "/%00", "/a/../..//evil.com", "*",
		"http://evil.com/", "https://example.com//evil.com", "//example.com@evil.com/", "/@evil.com",
		"/%09/evil.com", "/.%2e/x", "/a%23b?c%23d", "/a?b=https://evil.com",
	}
	methods := []string{"GET", "POST", "OPTIONS", "CONNECT"}
	n := 0
	for _, meth := range methods {
		for _, h := range hosts {
			for _, tg := range targets {
				raw := meth + " " + tg + " HTTP/1.1\r\nHost: " + h + "\r\n\r\n"
				r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
				if err != nil {
					continue
				}
				r.RemoteAddr = "192.0.2.1:1234"
				d := m.Check(r)
				n++
				if d.Action != Redirect && !strings.Contains(d.Message, "https://") {
					continue
				}
				loc := d.Location
				if loc == "" {
					loc = d.Message[strings.Index(d.Message, "https://"):]
				}
				u, err := url.Parse(loc)
				if err != nil {
					t.Errorf("%q: Location %q does not parse: %v", raw, loc, err)
					continue
				}
				want := d.Host
				if strings.IndexByte(want, ':') >= 0 {
					want = "[" + want + "]"
				}
				if !m.hosts.match(d.Host) {
					t.Errorf("%q: redirect to a host not allowed: %q", raw, loc)
				}
				if got := u.Hostname(); got != d.Host {
					t.Errorf("%q: net/url host of %q is %q, want %q", raw, loc, got, d.Host)
				}
				if got := browserHost(loc); got != want {
					t.Errorf("%q: browser host of %q is %q, want %q", raw, loc, got, want)
				}
				if strings.ContainsAny(loc, "\r\n\x00 \t\\") {
					t.Errorf("%q: Location %q has a forbidden byte", raw, loc)
				}
			}
		}
	}
	t.Logf("%d requests checked", n)
}

// TestAdversarialHSTSIn1xxOverPlainHTTP: a handler that sets HSTS, then
// sends 103 Early Hints or 101 Switching Protocols over plain HTTP: neither
// informational response may carry HSTS.
func TestAdversarialHSTSIn1xxOverPlainHTTP(t *testing.T) {
	for _, code := range []int{http.StatusEarlyHints, http.StatusSwitchingProtocols} {
		t.Run(http.StatusText(code), func(t *testing.T) { testHSTS1xx(t, code) })
	}
}

func testHSTS1xx(t *testing.T, code int) {
	m, err := New(Config{AllowedHosts: []string{"example.com"}, DisableRedirect: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=63072000")
		w.Header().Set("Link", "</a.css>; rel=preload")
		if code == http.StatusSwitchingProtocols {
			w.Header().Set("Connection", "Upgrade")
			w.Header().Set("Upgrade", "websocket")
			w.WriteHeader(code)
			http.NewResponseController(w).Flush()
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				c.Close()
			}
			return
		}
		w.WriteHeader(code)
		io.WriteString(w, "ok")
	})))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
	b, _ := io.ReadAll(conn)
	t.Logf("raw response:\n%s", b)
	if strings.Contains(strings.ToLower(string(b)), "strict-transport-security") {
		t.Errorf("Strict-Transport-Security sent over plain HTTP")
	}
}

// TestAdversarialExemptPathEscapes: segments that servlet containers (";"
// path parameters) and Windows servers ("\") normalize to ".." must not
// ride on an exemption: the backend would resolve them outside the exempt
// prefix, over plain HTTP.
func TestAdversarialExemptPathEscapes(t *testing.T) {
	m, err := New(Config{AllowedHosts: []string{"example.com"}, ExemptPaths: []string{"/healthz"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{
		"/healthz/..;/admin", "/healthz/..%3B/admin", "/healthz/..%5Cadmin", "/healthz/.%2e;/admin",
		"/.well-known/acme-challenge/..;/..;/admin", "/.well-known/acme-challenge/..%5C..%5Cadmin",
		"/healthz/../admin", "/healthz/%2e%2e/admin", // control: must redirect
	} {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: example.com\r\n\r\n")))
		if err != nil {
			t.Logf("%s: %v", target, err)
			continue
		}
		r.RemoteAddr = "192.0.2.1:1"
		d := m.Check(r)
		if d.Action == Serve {
			t.Errorf("Check(GET %s) = serve (%s) over plain HTTP; a servlet/IIS backend resolves it to a path outside the exemption", target, d.Reason)
		}
	}
}

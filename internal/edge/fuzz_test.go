package edge

import (
	"net/url"
	"strings"
	"testing"

	"github.com/forcehttps/forcehttps"
)

// fuzzSnapshot is a routing table with exact, wildcard and IP domains.
func fuzzSnapshot(t testing.TB) *snapshot {
	t.Helper()
	s := &Server{}
	env := &appEnv{s: s, httpsPort: "8443"}
	shop := &app{name: "shop", snap: env, force: true}
	web := &app{name: "web", snap: env, force: true}
	edit := func(key string, a *app) indexEdit[*app] { return indexEdit[*app]{key: key, v: a} }
	sn := &snapshot{env: env, exact: newIndex[*app](), wildcard: newIndex[*app]()}
	sn.exact = sn.exact.with([]indexEdit[*app]{
		edit("shop.example.com", shop), edit("xn--bcher-kva.example", web), edit("::1", web), edit("127.0.0.1", web),
	})
	sn.wildcard = sn.wildcard.with([]indexEdit[*app]{edit("shop.example.com", shop)})
	s.snap.Store(sn)
	return sn
}

// FuzzRoute checks that a Host value either selects no app, or an app
// whose domain it is after normalisation.
func FuzzRoute(f *testing.F) {
	for _, s := range []string{"shop.example.com", "SHOP.example.com.:80", "a.shop.example.com", "a.b.shop.example.com",
		"[::1]:8443", "::1", "127.0.0.1:80", "bücher.example", "xn--bcher-kva.example", "[::1", "shop.example.com:x", ""} {
		f.Add(s)
	}
	sn := fuzzSnapshot(f)
	f.Fuzz(func(t *testing.T, host string) {
		a := sn.route(host)
		if a == nil {
			return
		}
		n, _, err := forcehttps.ParseHost(host)
		if err != nil {
			t.Fatalf("route(%q) = %s for an invalid Host: %v", host, a.name, err)
		}
		if e, _ := sn.exact.get(n); e != a {
			i := strings.IndexByte(n, '.')
			if i <= 0 || wildcardOf(sn, n[i+1:]) != a {
				t.Fatalf("route(%q) = %s, but %q is not its domain", host, a.name, n)
			}
		}
	})
}

// FuzzHTTPSLocation checks that a rewritten Location is https, on one of
// the app's domains and the public port, with the path and query kept.
func FuzzHTTPSLocation(f *testing.F) {
	for _, s := range []string{"http://shop.example.com/a?b=c", "HTTP://Shop.Example.COM:9000/x#f", "http://a.shop.example.com",
		"http://evil.example/", "http://shop.example.com@evil.example/", "http://[::1]:80/", "/relative", "https://shop.example.com/",
		"http://shop.example.com/%2F?q=%zz", "http://shop.example.com\\@evil.example/"} {
		f.Add(s)
	}
	sn := fuzzSnapshot(f)
	shop, _ := sn.exact.get("shop.example.com")
	f.Fuzz(func(t *testing.T, loc string) {
		got, ok := shop.httpsLocation(loc)
		if !ok {
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("httpsLocation(%q) = %q, which does not parse: %v", loc, got, err)
		}
		if u.Scheme != "https" || u.Port() != "8443" || u.User != nil {
			t.Fatalf("httpsLocation(%q) = %q: want https on port 8443 without userinfo", loc, got)
		}
		if a := sn.route(u.Host); a != shop {
			t.Fatalf("httpsLocation(%q) = %q: host is not the app's", loc, got)
		}
		orig, _ := url.Parse(loc)
		if orig.EscapedPath() != u.EscapedPath() || orig.RawQuery != u.RawQuery {
			t.Fatalf("httpsLocation(%q) = %q: path or query changed", loc, got)
		}
	})
}

// FuzzRequestID checks that the request ID is always valid, and is the
// client's when the client's is valid.
func FuzzRequestID(f *testing.F) {
	for _, s := range []string{"", "abcdefghij0123456789", strings.Repeat("a", 129), "abc def ghi jkl mno pq", "a+b/c=d-e0123456789Z"} {
		f.Add(s)
	}
	var ids requestIDs
	f.Fuzz(func(t *testing.T, in string) {
		v := ids.next([]string{in})
		if len(v) != 1 || cap(v) != 1 {
			t.Fatalf("next(%q) = %q (cap %d), want one element", in, v, cap(v))
		}
		got := v[0]
		if !validRequestID(got) {
			t.Fatalf("next(%q) = %q, not a valid ID", in, got)
		}
		if validRequestID(in) != (got == in) {
			t.Fatalf("next(%q) = %q: a valid ID is kept, an invalid one replaced", in, got)
		}
	})
}

func wildcardOf(sn *snapshot, parent string) *app {
	a, _ := sn.wildcard.get(parent)
	return a
}

package audit

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var cookieTests = []struct {
	name    string
	cookies []setCookie
	hsts    bool
	want    map[string]int // finding ID → modifier
}{
	{"none", nil, true, map[string]int{"cookies-none": 0}},
	{"all good", []setCookie{{raw: "__Host-sessionid=1; Secure; HttpOnly; Path=/; SameSite=Lax"}, {raw: "theme=dark; Secure; SameSite=Strict"}}, false,
		map[string]int{"cookies-ok": 5}},
	{"no SameSite", []setCookie{{raw: "theme=dark; Secure"}}, false, map[string]int{"cookies-no-samesite": 0}},
	{"no Secure, no HSTS", []setCookie{{raw: "theme=dark; SameSite=Lax"}}, false, map[string]int{"cookie-no-secure": -20}},
	{"no Secure, HSTS", []setCookie{{raw: "theme=dark; SameSite=Lax"}}, true, map[string]int{"cookie-no-secure": -5}},
	{"session without Secure", []setCookie{{raw: "PHPSESSID=1; HttpOnly; SameSite=Lax"}}, false, map[string]int{"cookie-session-no-secure": -40}},
	{"session without Secure, HSTS", []setCookie{{raw: "login_token=1; HttpOnly; SameSite=Lax"}}, true, map[string]int{"cookie-session-no-secure": -10}},
	{"session without HttpOnly", []setCookie{{raw: "connect.sid=1; Secure; SameSite=Lax"}}, false, map[string]int{"cookie-session-no-httponly": -30}},
	{"Secure set over plain HTTP does not count", []setCookie{{raw: "auth=1; Secure; HttpOnly; SameSite=Lax", overHTTP: true}}, true, map[string]int{"cookie-session-no-secure": -10}},
	{"invalid SameSite", []setCookie{{raw: "theme=dark; Secure; SameSite=Sometimes"}}, false, map[string]int{"cookie-samesite-invalid": -20}},
	{"SameSite=None without Secure", []setCookie{{raw: "theme=dark; SameSite=None"}}, true, map[string]int{"cookie-samesite-invalid": -20, "cookie-no-secure": -5}},
	{"anti-CSRF without SameSite", []setCookie{{raw: "XSRF-TOKEN=1; Secure"}}, false, map[string]int{"cookie-csrf-no-samesite": -20, "cookies-no-samesite": 0}},
	{"__Host- with Domain", []setCookie{{raw: "__Host-id=1; Secure; Path=/; Domain=example.com; SameSite=Lax"}}, false, map[string]int{"cookie-prefix-invalid": 0, "cookies-ok": 5}},
	{"__Host- without Path", []setCookie{{raw: "__host-id=1; Secure; SameSite=Lax"}}, false, map[string]int{"cookie-prefix-invalid": 0, "cookies-ok": 5}},
	{"__Secure- without Secure", []setCookie{{raw: "__Secure-id=1; SameSite=Lax"}}, true, map[string]int{"cookie-prefix-invalid": 0, "cookie-no-secure": -5}},
	{"unparsable", []setCookie{{raw: "no equals sign"}}, false, map[string]int{"cookie-invalid": 0}},
	{"several problems, one finding each", []setCookie{{raw: "sessa=1"}, {raw: "sessb=2"}, {raw: "sessa=3"}}, false,
		map[string]int{"cookie-session-no-secure": -40, "cookie-session-no-httponly": -30, "cookies-no-samesite": 0}},
}

func TestCookieFindings(t *testing.T) {
	t.Parallel()
	for _, tt := range cookieTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := map[string]int{}
			for _, f := range cookieFindings(tt.cookies, tt.hsts) {
				got[f.ID] = f.Modifier
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("cookieFindings(%v, hsts=%v) mismatch (-want +got):\n%s", tt.cookies, tt.hsts, diff)
			}
		})
	}
}

func TestSessionCookie(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"sessionid", "PHPSESSID", "JSESSIONID", "connect.sid", "user_sid", "login", "auth_token", "jwt"} {
		if !sessionCookie(n) {
			t.Errorf("sessionCookie(%q) = false, want true", n)
		}
	}
	for _, n := range []string{"theme", "consider", "_ga", "lang", "sidebar"} {
		if sessionCookie(n) {
			t.Errorf("sessionCookie(%q) = true, want false", n)
		}
	}
}

// cookieModifiers are the modifiers each cookie finding may carry.
var cookieModifiers = map[string][]int{
	"cookies-none": {0}, "cookies-ok": {5}, "cookies-no-samesite": {0},
	"cookie-no-secure": {-5, -20}, "cookie-session-no-secure": {-10, -40},
	"cookie-session-no-httponly": {-30}, "cookie-samesite-invalid": {-20},
	"cookie-csrf-no-samesite": {-20}, "cookie-prefix-invalid": {0}, "cookie-invalid": {0},
}

func FuzzCookieFindings(f *testing.F) {
	for _, tt := range cookieTests {
		var lines []string
		for _, c := range tt.cookies {
			lines = append(lines, c.raw)
		}
		f.Add(strings.Join(lines, "\n"), tt.hsts, false)
	}
	f.Fuzz(func(t *testing.T, in string, hsts, overHTTP bool) {
		var cs []setCookie
		for _, l := range strings.Split(in, "\n") {
			cs = append(cs, setCookie{raw: l, overHTTP: overHTTP})
		}
		fs := cookieFindings(cs, hsts)
		if len(fs) == 0 {
			t.Fatalf("cookieFindings(%q) returned nothing", in)
		}
		seen := map[string]bool{}
		negative := false
		for _, f := range fs {
			mods, ok := cookieModifiers[f.ID]
			if !ok || f.Category != CategoryCookies || seen[f.ID] {
				t.Fatalf("cookieFindings(%q): unexpected or repeated finding %+v", in, f)
			}
			seen[f.ID] = true
			if !containsInt(mods, f.Modifier) {
				t.Fatalf("cookieFindings(%q): %s has modifier %d, want one of %v", in, f.ID, f.Modifier, mods)
			}
			if len(f.Message) > 4096 {
				t.Fatalf("cookieFindings(%q): message of %d bytes", in, len(f.Message))
			}
			negative = negative || f.Modifier < 0
		}
		if seen["cookies-ok"] && negative {
			t.Fatalf("cookieFindings(%q): bonus with penalties: %+v", in, fs)
		}
		if overHTTP && seen["cookies-ok"] {
			t.Fatalf("cookieFindings(%q): cookies set over plain HTTP earn the bonus", in)
		}
	})
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func BenchmarkCookieFindings(b *testing.B) {
	b.ReportAllocs()
	cs := []setCookie{
		{raw: "__Host-session=abc; Secure; HttpOnly; Path=/; SameSite=Lax"},
		{raw: "theme=dark; Secure; SameSite=Strict; Max-Age=31536000"},
		{raw: "csrftoken=xyz; Secure; Path=/"},
	}
	for b.Loop() {
		cookieFindings(cs, true)
	}
}

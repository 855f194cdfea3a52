package audit

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// setCookie is one Set-Cookie header line and whether it came over plain
// HTTP.
type setCookie struct {
	raw      string
	overHTTP bool
}

// setCookies collects the Set-Cookie lines of every response of both
// chains: a cookie set by a redirect is stored as much as one set by the
// final page.
func (a *analysis) setCookies() []setCookie {
	var out []setCookie
	for _, h := range a.hops() {
		for _, v := range h.header.Values("Set-Cookie") {
			out = append(out, setCookie{raw: v, overHTTP: !h.secure()})
		}
	}
	return out
}

// sessionCookie guesses from its name whether a cookie holds a session or
// a login. Mozilla Observatory looks for "login" and "sess"; "auth",
// "jwt" and a "sid" name part are added here.
func sessionCookie(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"sess", "login", "auth", "jwt"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	for part := range strings.FieldsFuncSeq(n, func(r rune) bool { return r == '.' || r == '_' || r == '-' }) {
		if part == "sid" {
			return true
		}
	}
	return false
}

// csrfCookie guesses from its name whether a cookie holds an anti-CSRF
// token.
func csrfCookie(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "csrf") || strings.Contains(n, "xsrf")
}

// cookieFindings judges the cookies set, with Mozilla Observatory's
// modifiers: Secure is missing (-20, or -5 when HSTS of at least six months
// protects the host), a session cookie lacks Secure (-40, or -10 with HSTS)
// or HttpOnly (-30), SameSite is invalid (-20), an anti-CSRF cookie lacks
// SameSite (-20); +5 when every cookie is Secure and SameSite and session
// cookies are HttpOnly. It also flags __Host- and __Secure- prefix
// violations and unparsable lines, which browsers drop.
func cookieFindings(cookies []setCookie, hsts bool) []Finding {
	type problem struct {
		id, fix string
		sev     Severity
		mod     int
		what    string
		names   []string
	}
	var problems []*problem
	flag := func(id string, sev Severity, mod int, what, fix, name string) {
		i := slices.IndexFunc(problems, func(p *problem) bool { return p.id == id })
		if i < 0 {
			problems = append(problems, &problem{id: id, sev: sev, mod: mod, what: what, fix: fix})
			i = len(problems) - 1
		}
		if !slices.Contains(problems[i].names, name) {
			problems[i].names = append(problems[i].names, name)
		}
	}
	var noSameSite, names []string
	for _, sc := range cookies {
		c, err := http.ParseSetCookie(sc.raw)
		if err != nil {
			flag("cookie-invalid", Warn, 0, "Set-Cookie lines browsers cannot parse and ignore", "fix the Set-Cookie syntax: name=value; attributes", fmt.Sprintf("%q", clip(sc.raw)))
			continue
		}
		name := clip(c.Name)
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
		session, csrf := sessionCookie(c.Name), csrfCookie(c.Name)
		secure := c.Secure && !sc.overHTTP
		where := ""
		if sc.overHTTP {
			where = " (set over plain HTTP)"
		}
		switch {
		case !secure && session && hsts:
			flag("cookie-session-no-secure", Warn, -10, "session cookies without Secure (HSTS keeps them off plain HTTP in browsers that have seen it)", "add Secure (forcehttps adds it to cookies set over HTTPS unless DisableSecureCookies; edge YAML: secure_cookies: true)", name+where)
		case !secure && session:
			flag("cookie-session-no-secure", Fail, -40, "session cookies without Secure, sent in clear over plain HTTP", "add Secure (forcehttps adds it to cookies set over HTTPS unless DisableSecureCookies; edge YAML: secure_cookies: true), and set them over HTTPS only", name+where)
		case !secure && hsts:
			flag("cookie-no-secure", Warn, -5, "cookies without Secure (HSTS keeps them off plain HTTP in browsers that have seen it)", "add Secure (forcehttps adds it to cookies set over HTTPS unless DisableSecureCookies; edge YAML: secure_cookies: true)", name+where)
		case !secure:
			flag("cookie-no-secure", Fail, -20, "cookies without Secure, sent in clear over plain HTTP", "add Secure (forcehttps adds it to cookies set over HTTPS unless DisableSecureCookies; edge YAML: secure_cookies: true)", name+where)
		}
		if session && !c.HttpOnly {
			flag("cookie-session-no-httponly", Fail, -30, "session cookies without HttpOnly, readable by injected scripts", "add HttpOnly to session cookies", name)
		}
		switch {
		case c.SameSite == http.SameSiteDefaultMode:
			// net/http parses a SameSite attribute with an unknown or
			// empty value to this mode.
			flag("cookie-samesite-invalid", Fail, -20, "cookies with a SameSite value other than Strict, Lax or None", "use SameSite=Lax or SameSite=Strict", name)
		case c.SameSite == http.SameSiteNoneMode && !c.Secure:
			flag("cookie-samesite-invalid", Fail, -20, "cookies with SameSite=None but no Secure, which browsers reject", "add Secure, or use SameSite=Lax", name)
		case c.SameSite == 0 && csrf:
			flag("cookie-csrf-no-samesite", Fail, -20, "anti-CSRF cookies without SameSite", "add SameSite=Strict to anti-CSRF cookies", name)
		}
		if c.SameSite == 0 && !slices.Contains(noSameSite, name) {
			noSameSite = append(noSameSite, name)
		}
		lower := strings.ToLower(c.Name)
		switch {
		case strings.HasPrefix(lower, "__host-") && (!secure || c.Path != "/" || c.Domain != ""):
			flag("cookie-prefix-invalid", Warn, 0, "cookies that break their name prefix's rules and that browsers reject (__Host- needs Secure, Path=/ and no Domain over HTTPS; __Secure- needs Secure over HTTPS)", "fix the attributes, or rename the cookie", name)
		case strings.HasPrefix(lower, "__secure-") && !secure:
			flag("cookie-prefix-invalid", Warn, 0, "cookies that break their name prefix's rules and that browsers reject (__Host- needs Secure, Path=/ and no Domain over HTTPS; __Secure- needs Secure over HTTPS)", "fix the attributes, or rename the cookie", name)
		}
	}

	var out []Finding
	negative := false
	for _, p := range problems {
		out = append(out, Finding{ID: p.id, Category: CategoryCookies, Severity: p.sev, Modifier: p.mod,
			Message: fmt.Sprintf("%s: %s", p.what, strings.Join(limit(p.names), ", ")), Fix: p.fix})
		negative = negative || p.mod < 0
	}
	switch {
	case len(names) == 0 && len(problems) == 0:
		out = append(out, Finding{ID: "cookies-none", Category: CategoryCookies, Severity: Pass, Message: "no cookies are set"})
	case len(names) > 0 && len(noSameSite) > 0:
		out = append(out, Finding{ID: "cookies-no-samesite", Category: CategoryCookies, Severity: Info,
			Message: fmt.Sprintf("cookies without SameSite, whose default differs between browsers: %s", strings.Join(limit(noSameSite), ", ")),
			Fix:     "add SameSite=Lax (or Strict)"})
	case len(names) > 0 && !negative:
		out = append(out, Finding{ID: "cookies-ok", Category: CategoryCookies, Severity: Pass, Modifier: 5,
			Message: fmt.Sprintf("every cookie (%s) is Secure and SameSite, and session cookies are HttpOnly", strings.Join(limit(names), ", "))})
	}
	return out
}

package pg

import (
	"net/url"
	"regexp"
	"strings"
)

// mask replaces a password in a redacted connection string.
const mask = "xxxxx"

// Redact returns the connection string with every password masked, for
// logs and error messages: the password of a URL's user information, and
// the value of any parameter whose name contains "password" (password,
// sslpassword), in a URL's query or a keyword/value string. It never
// fails: a string that pgx would not accept is masked generously (all
// that could be a password), so that a typing mistake in a URL does not
// put the secret in a log.
func Redact(conn string) string {
	out, _ := redact(conn)
	return out
}

// redact is Redact, also returning the raw text of each masked value, so
// that an error text from elsewhere can be scrubbed of them.
func redact(conn string) (string, []string) {
	// Any scheme, not only postgres:// and postgresql://: a URL of the
	// wrong kind still carries a password.
	if m := urlScheme.FindString(conn); m != "" {
		out, secrets := redactURL(conn[len(m):])
		return m + out, secrets
	}
	return redactKeywords(conn)
}

var urlScheme = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*://`)

// redactURL masks the password of "user:password@" and password query
// values in rest (a URL without its scheme).
//
// pgx (like libpq) ends the user information at the first '@' met before
// any '/'. When there is no such '@' but the string starts like
// "user:" (a ':' before any '/' or '?') and has an '@' further on, it is
// probably a mistyped URL whose password holds a '/' ("u:pa/ss@host"),
// so everything from that ':' to the last '@' is masked: too much, never
// too little. An '@' in the path or the query ("/db?password=p@ss") is
// not user information: the query is masked as such.
func redactURL(rest string) (string, []string) {
	var b strings.Builder
	var secrets []string
	at := -1
	if i := strings.IndexAny(rest, "@/"); i >= 0 && rest[i] == '@' {
		at = i
	} else if i := strings.LastIndexByte(rest, '@'); i >= 0 && looksLikeUser(rest) {
		at = i
	}
	if at >= 0 {
		user, pw, hasPW := strings.Cut(rest[:at], ":")
		b.WriteString(user)
		if hasPW {
			b.WriteString(":" + mask)
			secrets = append(secrets, pw)
		}
		b.WriteByte('@')
		rest = rest[at+1:]
	}
	q := strings.IndexByte(rest, '?')
	if q < 0 {
		b.WriteString(rest)
		return b.String(), secrets
	}
	b.WriteString(rest[:q+1])
	// No fragment: pgx parses connection URLs itself and reads a '#' as
	// part of the query, so "?a=1#x&password=p" sets the password.
	for i, param := range strings.Split(rest[q+1:], "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		key, value, hasValue := strings.Cut(param, "=")
		if hasValue && isSecretKey(key) {
			b.WriteString(key + "=" + mask)
			secrets = append(secrets, value)
			continue
		}
		b.WriteString(param)
	}
	return b.String(), secrets
}

// looksLikeUser reports whether rest starts with "user:": a ':' before
// any '/' or '?'.
func looksLikeUser(rest string) bool {
	colon := strings.IndexByte(rest, ':')
	end := strings.IndexAny(rest, "/?")
	return colon >= 0 && (end < 0 || colon < end)
}

// isSecretKey reports whether a query key (percent-encoded or not) names a
// password.
func isSecretKey(key string) bool {
	if k, err := url.QueryUnescape(key); err == nil {
		key = k
	}
	return strings.Contains(strings.ToLower(key), "password")
}

// secretKeyword matches "…password = value" in a keyword/value string:
// a quoted value (backslash escapes, the closing quote optional so that an
// unterminated one is masked to the end) or an unquoted one (up to
// unescaped white space).
var secretKeyword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.?)*'?|(?:[^\s\\]|\\.?)*)`)

func redactKeywords(conn string) (string, []string) {
	var secrets []string
	out := secretKeyword.ReplaceAllStringFunc(conn, func(m string) string {
		sub := secretKeyword.FindStringSubmatch(m)
		secrets = append(secrets, sub[2])
		return sub[1] + mask
	})
	return out, secrets
}

// scrub removes from text every secret at least 3 bytes long (shorter
// ones would mask innocent words), raw and percent-decoded.
func scrub(text string, secrets []string) string {
	for _, s := range secrets {
		forms := []string{s, strings.Trim(s, "'")}
		if d, err := url.PathUnescape(s); err == nil {
			forms = append(forms, d)
		}
		for _, f := range forms {
			if len(f) >= 3 && f != mask {
				text = strings.ReplaceAll(text, f, mask)
			}
		}
	}
	return text
}

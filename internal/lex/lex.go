// Package lex holds the small pieces of HTTP and URI grammar that several
// parsers of this module share (RFC 9110 §5.6, RFC 3986 §3.1). The
// functions work on strings and bytes without allocating (CanonicalKey
// allocates the names it was not given).
package lex

import "net/textproto"

// TrimOWS removes optional whitespace (SP and HTAB) from both ends of s.
func TrimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// IsTChar reports whether c may appear in an RFC 9110 token.
func IsTChar(c byte) bool { return tchars[c] }

var tchars = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// TokenLen returns the length of the token at the start of s.
func TokenLen(s string) int {
	for i := 0; i < len(s); i++ {
		if !tchars[s[i]] {
			return i
		}
	}
	return len(s)
}

// IsAlpha reports whether c is an ASCII letter.
func IsAlpha(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// IsDigit reports whether c is an ASCII digit.
func IsDigit(c byte) bool { return '0' <= c && c <= '9' }

// ValidScheme reports whether s is a URI scheme (RFC 3986 §3.1):
// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func ValidScheme(s string) bool {
	if s == "" || !IsAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !IsAlpha(c) && !IsDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// DigitsAndDots reports whether s is non-empty and made of ASCII digits and
// dots only: what may be an IPv4 literal, before parsing it.
func DigitsAndDots(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !IsDigit(s[i]) && s[i] != '.' {
			return false
		}
	}
	return true
}

// CanonicalKey returns the canonical form of a token field name, as
// textproto.CanonicalMIMEHeaderKey writes it (net/http's form). A name
// found in interned (canonical form to itself) is returned from there,
// without allocating.
func CanonicalKey(name []byte, interned map[string]string) string {
	var buf [64]byte
	if len(name) > len(buf) {
		return textproto.CanonicalMIMEHeaderKey(string(name))
	}
	c := buf[:len(name)]
	upper := true
	for i, ch := range name {
		switch {
		case upper && 'a' <= ch && ch <= 'z':
			ch -= 'a' - 'A'
		case !upper && 'A' <= ch && ch <= 'Z':
			ch += 'a' - 'A'
		}
		c[i] = ch
		upper = ch == '-'
	}
	if k, ok := interned[string(c)]; ok {
		return k
	}
	return string(c)
}

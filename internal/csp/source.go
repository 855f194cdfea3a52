package csp

import (
	"strings"

	"github.com/forcehttps/forcehttps/internal/lex"
)

// Kind is the kind of a source expression (CSP Level 3 §2.3.1).
type Kind uint8

const (
	// KindInvalid is an expression that matches no source grammar, such
	// as "'self" or "'unsafe-foo'"; browsers ignore it.
	KindInvalid Kind = iota
	// KindKeyword is a quoted keyword such as 'self', 'none' or
	// 'unsafe-inline'.
	KindKeyword
	// KindNonce is 'nonce-<base64>'.
	KindNonce
	// KindHash is 'sha256-<base64>', 'sha384-…' or 'sha512-…'.
	KindHash
	// KindScheme is a scheme source such as "https:" or "data:".
	KindScheme
	// KindWildcard is "*": any URL except data:, blob: and filesystem:.
	KindWildcard
	// KindHost is a host source such as "cdn.example.com",
	// "https://*.example.com:443/js/" or an unquoted keyword ("self" is a
	// host name to a browser).
	KindHost
)

// String returns the kind's name in lower case, such as "keyword".
func (k Kind) String() string {
	switch k {
	case KindKeyword:
		return "keyword"
	case KindNonce:
		return "nonce"
	case KindHash:
		return "hash"
	case KindScheme:
		return "scheme"
	case KindWildcard:
		return "wildcard"
	case KindHost:
		return "host"
	}
	return "invalid"
}

// keywords are the quoted keyword sources, lower case. Matching is ASCII
// case-insensitive.
var keywords = map[string]bool{
	"'self'": true, "'none'": true, "'unsafe-inline'": true,
	"'unsafe-eval'": true, "'strict-dynamic'": true, "'unsafe-hashes'": true,
	"'report-sample'": true, "'unsafe-allow-redirects'": true,
	"'wasm-unsafe-eval'": true, "'inline-speculation-rules'": true,
	"'trusted-types-eval'": true, "'report-sha256'": true,
	"'report-sha384'": true, "'report-sha512'": true,
}

// Classify returns the kind of one source expression.
func Classify(src string) Kind {
	if src == "" {
		return KindInvalid
	}
	if src[0] == '\'' {
		lower := strings.ToLower(src)
		if keywords[lower] {
			return KindKeyword
		}
		if len(src) < 3 || src[len(src)-1] != '\'' {
			return KindInvalid
		}
		inner := lower[1 : len(lower)-1]
		if strings.HasPrefix(inner, "nonce-") && base64Value(src[len("'nonce-"):len(src)-1]) {
			return KindNonce
		}
		for _, alg := range [...]string{"sha256-", "sha384-", "sha512-"} {
			if strings.HasPrefix(inner, alg) && base64Value(src[1+len(alg):len(src)-1]) {
				return KindHash
			}
		}
		return KindInvalid
	}
	if src == "*" {
		return KindWildcard
	}
	if i := strings.IndexByte(src, ':'); i > 0 && i == len(src)-1 && lex.ValidScheme(src[:i]) {
		return KindScheme
	}
	if validHostSource(src) {
		return KindHost
	}
	return KindInvalid
}

// Keyword returns the lower-case keyword of a KindKeyword expression, with
// quotes, such as "'unsafe-inline'", or "" for other kinds.
func Keyword(src string) string {
	if len(src) > 0 && src[0] == '\'' {
		if lower := strings.ToLower(src); keywords[lower] {
			return lower
		}
	}
	return ""
}

// UnquotedKeyword reports whether src is a keyword written without its
// quotes, such as self or unsafe-inline: browsers read it as a host name,
// so it does not mean what its author intended.
func UnquotedKeyword(src string) bool {
	return src != "" && src[0] != '\'' && keywords["'"+strings.ToLower(src)+"'"]
}

// Scheme returns the lower-case scheme of a scheme source ("https:" →
// "https") or of a host source with a scheme ("http://a.example" → "http"),
// or "".
func Scheme(src string) string {
	i := strings.IndexByte(src, ':')
	if i <= 0 || !lex.ValidScheme(src[:i]) {
		return ""
	}
	if i == len(src)-1 || strings.HasPrefix(src[i:], "://") {
		return strings.ToLower(src[:i])
	}
	return ""
}

// base64Value matches 1*( ALPHA / DIGIT / "+" / "/" / "-" / "_" )*2( "=" ).
func base64Value(s string) bool {
	t := strings.TrimSuffix(s, "=")
	t = strings.TrimSuffix(t, "=")
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !lex.IsAlpha(c) && !lex.IsDigit(c) && c != '+' && c != '/' && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// validHostSource matches
//
//	host-source = [ scheme-part "://" ] host-part [ ":" port-part ] [ path-part ]
//	host-part   = "*" / [ "*." ] 1*host-char *( "." 1*host-char ) [ "." ]
//	port-part   = 1*DIGIT / "*"
func validHostSource(s string) bool {
	if i := strings.Index(s, "://"); i >= 0 {
		if !lex.ValidScheme(s[:i]) {
			return false
		}
		s = s[i+3:]
	}
	end := strings.IndexAny(s, ":/")
	host, rest := s, ""
	if end >= 0 {
		host, rest = s[:end], s[end:]
	}
	if !validHostPart(host) {
		return false
	}
	if r, ok := strings.CutPrefix(rest, ":"); ok {
		port := r
		if j := strings.IndexByte(r, '/'); j >= 0 {
			port, rest = r[:j], r[j:]
		} else {
			rest = ""
		}
		if port != "*" && (port == "" || strings.IndexFunc(port, func(r rune) bool { return r < '0' || r > '9' }) >= 0) {
			return false
		}
	}
	if rest != "" && rest[0] != '/' {
		return false
	}
	return true
}

func validHostPart(h string) bool {
	if h == "*" {
		return true
	}
	h = strings.TrimPrefix(h, "*.")
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !lex.IsAlpha(c) && !lex.IsDigit(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

package forwarded

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/forcehttps/forcehttps/internal/lex"
)

// Limits applied by [Parse]. Exceeding any of them yields an error wrapping
// [ErrTooMany].
const (
	// MaxLength is the largest accepted total size in bytes of the field
	// lines given to Parse, counting one separator byte between lines.
	MaxLength = 8 << 10
	// MaxElements is the largest accepted number of non-empty
	// forwarded-elements, that is of proxy hops.
	MaxElements = 64
	// MaxParams is the largest accepted number of forwarded-pairs in one
	// forwarded-element, extension parameters included.
	MaxParams = 16
)

// Sentinel errors. Errors returned by [Parse] wrap exactly one of them; test
// with [errors.Is].
var (
	// ErrSyntax reports input that does not match the grammar of the field
	// or of a parameter value. It is wrapped by [*SyntaxError].
	ErrSyntax = errors.New("forwarded: syntax error")
	// ErrDuplicateParam reports a parameter that occurs more than once in
	// one forwarded-element (RFC 7239 §4).
	ErrDuplicateParam = errors.New("forwarded: duplicate parameter")
	// ErrTooMany reports input exceeding [MaxLength], [MaxElements] or
	// [MaxParams].
	ErrTooMany = errors.New("forwarded: input exceeds limits")
)

// SyntaxError describes malformed input. It wraps [ErrSyntax].
type SyntaxError struct {
	// Offset is the byte offset of the error in the field lines joined
	// with "," (as strings.Join(lines, ",")).
	Offset int
	// Msg describes the problem; untrusted input in it is quoted.
	Msg string
}

// Error implements the error interface.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("forwarded: syntax error at offset %d: %s", e.Offset, e.Msg)
}

// Unwrap returns [ErrSyntax].
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// Element is one forwarded-element of an RFC 7239 Forwarded header: the pairs
// one proxy hop added. Extension parameters are validated but not kept.
type Element struct {
	For   Node   // "for": the node that made the request to the proxy; zero Node if absent
	By    Node   // "by": the proxy interface that received the request; zero Node if absent
	Host  string // "host": the Host the proxy received, as sent (after unquoting); "" if absent
	Proto string // "proto": the scheme used to reach the proxy, lower-cased; "" if absent
}

// Node is a node identifier (RFC 7239 §6): an IP address with optional port,
// "unknown", or an obfuscated identifier. A non-zero Node returned by [Parse]
// has exactly one of Addr (valid), Unknown (true) or Obfuscated (non-empty)
// set, and at most one of Port (non-zero) or ObfuscatedPort (non-empty).
type Node struct {
	Addr           netip.Addr // valid only when the node is an IP literal; IPv6 addresses have no zone
	Port           uint16     // 0 if absent or obfuscated port
	Obfuscated     string     // obfuscated node name such as "_hidden", else ""
	ObfuscatedPort string     // obfuscated port such as "_abc", else ""
	Unknown        bool       // the literal "unknown" (in any letter case)
	Raw            string     // the value as sent, unquoted
}

// IsZero reports whether n is the zero Node, which Parse uses for an absent
// parameter.
func (n Node) IsZero() bool { return n == Node{} }

// Parse parses all the Forwarded header field lines of a request (as in
// r.Header.Values("Forwarded")), treating several lines as one comma-separated
// list, in order (leftmost = farthest hop).
//
// Empty elements are skipped, so no lines, or only empty lines, yield no
// elements and no error. On error Parse returns no elements and an error
// wrapping [ErrSyntax], [ErrDuplicateParam] or [ErrTooMany].
func Parse(lines []string) ([]Element, error) {
	total, commas := 0, 0
	for i, l := range lines {
		if i > 0 {
			total++ // the separator between lines
		}
		total += len(l)
		if total > MaxLength {
			return nil, fmt.Errorf("%w: field longer than %d bytes", ErrTooMany, MaxLength)
		}
		commas += strings.Count(l, ",")
	}
	p := parser{capHint: min(commas+len(lines), MaxElements)}
	base := 0
	for _, l := range lines {
		if err := p.line(l, base); err != nil {
			return nil, err
		}
		base += len(l) + 1
	}
	return p.elems, nil
}

type parser struct {
	elems   []Element
	capHint int
}

// line parses one field line; base is its offset in the joined lines.
func (p *parser) line(s string, base int) error {
	i := 0
	for {
		i = skipOWS(s, i)
		if i == len(s) {
			return nil
		}
		if s[i] == ',' {
			i++ // empty list element
			continue
		}
		var e Element
		var npairs int
		var err error
		i, npairs, err = element(&e, s, i, base)
		if err != nil {
			return err
		}
		if npairs > 0 {
			if len(p.elems) == MaxElements {
				return fmt.Errorf("%w: more than %d elements", ErrTooMany, MaxElements)
			}
			if p.elems == nil {
				p.elems = make([]Element, 0, p.capHint)
			}
			p.elems = append(p.elems, e)
		}
		// element stops at the end of s or at a comma.
		if i < len(s) {
			i++
		}
	}
}

// element parses the forwarded-element starting at s[i] into e. It returns
// the offset of the comma that ends it (or len(s)) and the number of pairs.
func element(e *Element, s string, i, base int) (next, npairs int, err error) {
	var names [MaxParams]string
	n := 0
	for i < len(s) && s[i] != ',' {
		if s[i] == ';' {
			i = skipOWS(s, i+1)
			continue
		}

		// token "=" value
		start := i
		for i < len(s) && lex.IsTChar(s[i]) {
			i++
		}
		if i == start {
			return 0, 0, syntaxErr(base+i, "unexpected %q, want a parameter name", s[i:i+1])
		}
		name := s[start:i]
		if i == len(s) {
			return 0, 0, syntaxErr(base+i, "missing \"=\" after parameter name %q", clip(name))
		}
		if s[i] != '=' {
			if isOWS(s[i]) {
				return 0, 0, syntaxErr(base+i, "whitespace before \"=\" after parameter name %q", clip(name))
			}
			return 0, 0, syntaxErr(base+i, "unexpected %q after parameter name %q, want \"=\"", s[i:i+1], clip(name))
		}
		i++

		vstart := i
		var val string
		switch {
		case i == len(s) || s[i] == ',' || s[i] == ';':
			return 0, 0, syntaxErr(base+i, "empty value for parameter %q", clip(name))
		case s[i] == '"':
			val, i, err = quotedString(s, i, base)
			if err != nil {
				return 0, 0, err
			}
		case lex.IsTChar(s[i]):
			for i < len(s) && lex.IsTChar(s[i]) {
				i++
			}
			val = s[vstart:i]
		case isOWS(s[i]):
			return 0, 0, syntaxErr(base+i, "whitespace after \"=\" for parameter %q", clip(name))
		default:
			return 0, 0, syntaxErr(base+i, "unexpected %q in value of parameter %q", s[i:i+1], clip(name))
		}

		// The pair must be followed by ";", "," or the end of the line,
		// optionally after whitespace.
		j := skipOWS(s, i)
		if j < len(s) && s[j] != ',' && s[j] != ';' {
			if j > i {
				return 0, 0, syntaxErr(base+j, "missing \";\" before %q", s[j:j+1])
			}
			return 0, 0, syntaxErr(base+j, "unexpected %q after value of parameter %q", s[j:j+1], clip(name))
		}

		for _, prev := range names[:n] {
			if strings.EqualFold(prev, name) {
				return 0, 0, fmt.Errorf("%w %q at offset %d", ErrDuplicateParam, clip(name), base+start)
			}
		}
		if n == len(names) {
			return 0, 0, fmt.Errorf("%w: more than %d parameters in an element", ErrTooMany, MaxParams)
		}
		names[n] = name
		n++
		if err := e.set(name, val, base+vstart); err != nil {
			return 0, 0, err
		}
		i = j
	}
	return i, n, nil
}

// set stores the value of a registered parameter after validating it; off is
// the offset of the value, for errors. Extension parameters are ignored.
func (e *Element) set(name, val string, off int) error {
	switch {
	case strings.EqualFold(name, "for"), strings.EqualFold(name, "by"):
		n, ok := parseNode(val)
		if !ok {
			return syntaxErr(off, "invalid node %q in parameter %q", clip(val), clip(name))
		}
		if len(name) == 3 {
			e.For = n
		} else {
			e.By = n
		}
	case strings.EqualFold(name, "host"):
		if !validHost(val) {
			return syntaxErr(off, "invalid host %q", clip(val))
		}
		e.Host = val
	case strings.EqualFold(name, "proto"):
		if !lex.ValidScheme(val) {
			return syntaxErr(off, "invalid proto %q", clip(val))
		}
		e.Proto = strings.ToLower(val)
	}
	return nil
}

// quotedString parses the quoted-string starting with the '"' at s[i] and
// returns its unescaped content and the offset just past the closing quote.
func quotedString(s string, i, base int) (val string, next int, err error) {
	escaped := false
	for j := i + 1; j < len(s); {
		c := s[j]
		switch {
		case c == '"':
			val = s[i+1 : j]
			if escaped {
				val = unescape(val)
			}
			return val, j + 1, nil
		case c == '\\':
			if j+1 == len(s) {
				return "", 0, syntaxErr(base+i, "unterminated quoted-string")
			}
			if d := s[j+1]; d != '\t' && (d < ' ' || d > '~') {
				return "", 0, syntaxErr(base+j+1, "invalid character %q after backslash in quoted-string", s[j+1:j+2])
			}
			escaped = true
			j += 2
		case c == '\t' || (c >= ' ' && c <= '~'):
			j++
		default:
			return "", 0, syntaxErr(base+j, "invalid character %q in quoted-string", s[j:j+1])
		}
	}
	return "", 0, syntaxErr(base+i, "unterminated quoted-string")
}

// unescape removes the backslashes of the quoted-pairs in s, whose syntax
// has already been checked.
func unescape(s string) string {
	var b strings.Builder
	b.Grow(len(s) - 1)
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseNode parses a node identifier (RFC 7239 §6).
func parseNode(v string) (Node, bool) {
	n := Node{Raw: v}
	var port string
	hasPort := false
	if v != "" && v[0] == '[' {
		end := strings.IndexByte(v, ']')
		if end < 0 {
			return Node{}, false
		}
		a, err := netip.ParseAddr(v[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return Node{}, false
		}
		n.Addr = a
		if rest := v[end+1:]; rest != "" {
			if rest[0] != ':' {
				return Node{}, false
			}
			port, hasPort = rest[1:], true
		}
	} else {
		name := v
		if k := strings.IndexByte(v, ':'); k >= 0 {
			name, port, hasPort = v[:k], v[k+1:], true
		}
		switch {
		case strings.EqualFold(name, "unknown"):
			n.Unknown = true
		case name != "" && name[0] == '_':
			if !validObfuscated(name) {
				return Node{}, false
			}
			n.Obfuscated = name
		default:
			if !lex.DigitsAndDots(name) {
				return Node{}, false
			}
			a, err := netip.ParseAddr(name)
			if err != nil || !a.Is4() {
				return Node{}, false
			}
			n.Addr = a
		}
	}
	if hasPort {
		if port != "" && port[0] == '_' {
			if !validObfuscated(port) {
				return Node{}, false
			}
			n.ObfuscatedPort = port
		} else {
			p, ok := parsePort(port)
			if !ok {
				return Node{}, false
			}
			n.Port = p
		}
	}
	return n, true
}

// parsePort parses a node port: 1 to 5 decimal digits without leading zero,
// with a value from 1 to 65535.
func parsePort(s string) (uint16, bool) {
	if s == "" || len(s) > 5 || s[0] == '0' {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if !lex.IsDigit(s[i]) {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	if v > 65535 {
		return 0, false
	}
	return uint16(v), true
}

// validObfuscated reports whether s is an obfnode or obfport:
// "_" 1*( ALPHA / DIGIT / "." / "_" / "-" ).
func validObfuscated(s string) bool {
	if len(s) < 2 || s[0] != '_' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !lex.IsAlpha(c) && !lex.IsDigit(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// validHost reports whether s is uri-host [ ":" port ], with the
// restrictions described in the package documentation.
func validHost(s string) bool {
	if s == "" {
		return false
	}
	host, port, hasPort := s, "", false
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return false
		}
		a, err := netip.ParseAddr(s[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return false
		}
		rest := s[end+1:]
		if rest == "" {
			return true
		}
		if rest[0] != ':' {
			return false
		}
		return validHostPort(rest[1:])
	}
	if k := strings.IndexByte(s, ':'); k >= 0 {
		host, port, hasPort = s[:k], s[k+1:], true
	}
	if host == "" || (hasPort && !validHostPort(port)) {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case lex.IsAlpha(c), lex.IsDigit(c):
		case strings.IndexByte("-._~!$&'()*+=", c) >= 0:
			// unreserved and sub-delims, except ";" and "," which
			// could only serve to smuggle list syntax.
		case c == '%':
			if i+2 >= len(host) || !isHex(host[i+1]) || !isHex(host[i+2]) {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return true
}

// validHostPort reports whether s is 1 to 5 digits with a value of at most
// 65535.
func validHostPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if !lex.IsDigit(s[i]) {
			return false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v <= 65535
}

func syntaxErr(off int, format string, args ...any) error {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// clip shortens untrusted strings quoted in error messages.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

func skipOWS(s string, i int) int {
	for i < len(s) && isOWS(s[i]) {
		i++
	}
	return i
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }
func isHex(c byte) bool { return lex.IsDigit(c) || ('a' <= c|0x20 && c|0x20 <= 'f') }

package forcehttps

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/forcehttps/forcehttps/internal/lex"
	"golang.org/x/net/idna"
)

// Errors about hosts, from [NormalizeHost] and from [New] for AllowedHosts.
var (
	// ErrInvalidHost means a Host value is not a valid host[:port].
	ErrInvalidHost = errors.New("invalid host")
)

// splitHostPort splits an HTTP Host value (RFC 9110 §7.2: uri-host [":" port])
// into its host and port without allocating. An IPv6 literal keeps no
// brackets in host. An empty port after ":" counts as no port. It reports
// false for values that are not host[:port], such as an unbracketed IPv6
// address or a non-numeric port.
func splitHostPort(hostport string) (host, port string, ok bool) {
	if hostport == "" {
		return "", "", false
	}
	if hostport[0] == '[' {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return "", "", false
		}
		host, rest := hostport[1:end], hostport[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return "", "", false
			}
			port = rest[1:]
		}
		if !validPort(port) || strings.IndexByte(host, ':') < 0 {
			return "", "", false // brackets hold IPv6 addresses only
		}
		return host, port, true
	}
	host = hostport
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		host, port = hostport[:i], hostport[i+1:]
		if strings.IndexByte(host, ':') >= 0 {
			return "", "", false // unbracketed IPv6
		}
	}
	if !validPort(port) {
		return "", "", false
	}
	return host, port, host != ""
}

// validPort reports whether p is empty or a decimal port 0-65535 without
// sign or surplus leading zeros beyond five digits.
func validPort(p string) bool {
	if len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

// hostKind says what a normalized host is.
type hostKind uint8

const (
	kindName hostKind = iota // a DNS name
	kindIPv4                 // an IPv4 literal
	kindIPv6                 // an IPv6 literal (stored without brackets)
)

// NormalizeHost validates the host part of an HTTP Host value (no port) and
// returns its canonical form: lower case, one trailing dot removed,
// internationalized names converted to their ASCII (punycode) form, IP
// literals in their canonical text form without brackets. It allocates only
// when the input is not already canonical.
func NormalizeHost(host string) (string, error) {
	h, _, err := normalizeHost(host)
	return h, err
}

// normalizeHost is NormalizeHost that also returns the kind of host.
func normalizeHost(host string) (string, hostKind, error) {
	if isCanonicalName(host) {
		return host, kindName, nil // the usual Host, in one pass
	}
	return normalizeHostSlow(host)
}

// isCanonicalName reports whether host is a DNS name that normalizeHost
// would return as it is: lower-case ASCII letters, digits, "-" and "_"
// in labels of 1 to 63 bytes that neither start nor end with "-" nor
// start with "xn--" (punycode, which must be validated), 253 bytes at
// most, no trailing dot, and a last label that is not a number. It is
// the one-pass check of the Host most requests carry; any other value
// takes normalizeHostSlow, which decides the same for these (a fuzz test
// compares both).
func isCanonicalName(host string) bool {
	if len(host) == 0 || len(host) > 253 {
		return false
	}
	start := 0 // where the current label starts
	for i := 0; i < len(host); i++ {
		switch nameBytes[host[i]] {
		case nameChar:
		case nameHyphen:
			if i == start {
				return false
			}
		case nameDot:
			if !canonicalLabel(host[start:i]) {
				return false
			}
			start = i + 1
		default:
			return false
		}
	}
	return canonicalLabel(host[start:]) && !looksNumeric(host)
}

// canonicalLabel checks the length and the ends of a label of
// isCanonicalName, whose bytes it has checked.
func canonicalLabel(l string) bool {
	return len(l) > 0 && len(l) <= 63 && l[len(l)-1] != '-' && !(len(l) >= 4 && l[:4] == "xn--")
}

// Classes of bytes in a canonical name.
const (
	nameInvalid = iota
	nameChar    // a-z, 0-9, _
	nameHyphen
	nameDot
)

// nameBytes is isCanonicalName's table of classes, by byte.
var nameBytes = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_':
			t[c] = nameChar
		case c == '-':
			t[c] = nameHyphen
		case c == '.':
			t[c] = nameDot
		}
	}
	return t
}()

// normalizeHostSlow is normalizeHost for every value.
func normalizeHostSlow(host string) (string, hostKind, error) {
	if host == "" {
		return "", 0, fmt.Errorf("%w: empty", ErrInvalidHost)
	}
	if len(host) > 255 {
		return "", 0, fmt.Errorf("%w: longer than 255 bytes", ErrInvalidHost)
	}
	if strings.IndexByte(host, ':') >= 0 {
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" || a.Is4In6() {
			return "", 0, fmt.Errorf("%w: %q is not an IPv6 address", ErrInvalidHost, host)
		}
		var buf [64]byte
		if canon := a.AppendTo(buf[:0]); string(canon) != host {
			return string(canon), kindIPv6, nil
		}
		return host, kindIPv6, nil
	}
	if lex.DigitsAndDots(host) {
		// Only what may be an IPv4 literal is parsed: a failed ParseAddr
		// allocates its error. ParseAddr accepts only the canonical
		// dotted quad; "1.2.3" and the like fail looksNumeric below.
		if a, err := netip.ParseAddr(host); err == nil && a.Is4() {
			return host, kindIPv4, nil
		}
	}
	name := strings.TrimSuffix(host, ".")
	if !isASCII(name) && !utf8.ValidString(name) {
		return "", 0, fmt.Errorf("%w: %q is not valid UTF-8", ErrInvalidHost, host)
	}
	if !isASCII(name) || hasACELabel(name) {
		ascii, err := idnaProfile.ToASCII(name)
		if err != nil {
			return "", 0, fmt.Errorf("%w: %q: %v", ErrInvalidHost, host, err)
		}
		name = ascii
	} else if !isLowerASCII(name) {
		name = strings.ToLower(name)
	}
	if err := checkDNSName(name); err != nil {
		return "", 0, fmt.Errorf("%w: %q: %v", ErrInvalidHost, host, err)
	}
	if looksNumeric(name) {
		// "1.2.3", "0x7f.1" and similar are read as IPv4 by some resolvers
		// (WHATWG URL host parsing); they are never a real name.
		return "", 0, fmt.Errorf("%w: %q looks like a malformed IPv4 address", ErrInvalidHost, host)
	}
	return name, kindName, nil
}

// idnaProfile is the lookup profile browsers use (UTS #46 with the
// transitional processing off), plus STD3 rules for host names.
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.StrictDomainName(false), // allow "_" as DNS does; checkDNSName still rules out the rest
	idna.VerifyDNSLength(true),
)

// hasACELabel reports whether some label of name starts with "xn--", which
// must be validated as punycode.
func hasACELabel(name string) bool {
	for {
		if len(name) >= 4 && strings.EqualFold(name[:4], "xn--") {
			return true
		}
		i := strings.IndexByte(name, '.')
		if i < 0 {
			return false
		}
		name = name[i+1:]
	}
}

// checkDNSName checks a lower-case ASCII name: labels of 1 to 63 letters,
// digits, "-" and "_", not starting or ending with "-", 253 bytes at most.
func checkDNSName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	if len(name) > 253 {
		return errors.New("name longer than 253 bytes")
	}
	label := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.':
			if label == 0 {
				return errors.New("empty label")
			}
			if name[i-1] == '-' {
				return errors.New("label ends with '-'")
			}
			label = 0
			continue
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_':
		case c == '-':
			if label == 0 {
				return errors.New("label starts with '-'")
			}
		default:
			return fmt.Errorf("invalid character %q", c)
		}
		label++
		if label > 63 {
			return errors.New("label longer than 63 bytes")
		}
	}
	if label == 0 {
		return errors.New("empty label")
	}
	if name[len(name)-1] == '-' {
		return errors.New("label ends with '-'")
	}
	return nil
}

// looksNumeric reports whether the last label of name is all digits or a
// 0x-prefixed hex number, as in WHATWG's "ends in a number" check.
func looksNumeric(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	if len(last) >= 2 && last[0] == '0' && last[1] == 'x' {
		last = last[2:]
		for i := 0; i < len(last); i++ {
			c := last[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			return false
		}
	}
	return true
}

// isDevHost reports whether a normalized host is one that development
// setups use: localhost, *.localhost (RFC 6761 §6.3), or any IP literal.
// Browsers ignore HSTS for IP literals (RFC 6797 §8.1.1), and a redirect to
// https on them usually means a health check or a developer's laptop.
func isDevHost(host string, kind hostKind) bool {
	if kind != kindName {
		return true
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// hostMatcher matches normalized hosts against an allow-list of exact names
// and "*." wildcards. A wildcard matches exactly one more label, as in
// certificates: *.example.com matches a.example.com, not example.com nor
// a.b.example.com.
type hostMatcher struct {
	any      bool
	exact    map[string]struct{}
	wildcard map[string]struct{} // parent domain of "*.parent"
}

// match reports whether the normalized host h is allowed.
func (m *hostMatcher) match(h string) bool {
	if m.any {
		return true
	}
	if _, ok := m.exact[h]; ok {
		return true
	}
	if i := strings.IndexByte(h, '.'); i > 0 && len(m.wildcard) > 0 {
		_, ok := m.wildcard[h[i+1:]]
		return ok
	}
	return false
}

// ParseHostPattern validates an allow-list entry (an exact host or a "*."
// wildcard, without port) and returns it normalized, with wildcard reporting
// a "*." entry whose parent domain is returned.
func ParseHostPattern(pattern string) (host string, wildcard bool, err error) {
	p := pattern
	if strings.HasPrefix(p, "*.") {
		wildcard = true
		p = p[2:]
	}
	if strings.HasPrefix(p, "[") && strings.HasSuffix(p, "]") {
		p = p[1 : len(p)-1]
	}
	h, kind, err := normalizeHost(p)
	if err != nil {
		return "", false, err
	}
	if wildcard && kind != kindName {
		return "", false, fmt.Errorf("%w: wildcard over an IP address %q", ErrInvalidHost, pattern)
	}
	if wildcard && strings.IndexByte(h, '.') < 0 {
		// *.com would allow every name under a top-level domain.
		return "", false, fmt.Errorf("%w: wildcard %q covers a whole top-level domain", ErrInvalidHost, pattern)
	}
	return h, wildcard, nil
}

// newHostMatcher builds a matcher from allow-list entries, collecting every
// invalid entry as a *FieldError on field.
func newHostMatcher(field string, patterns []string) (hostMatcher, []error) {
	// The maps are made for the kinds of pattern present: an edge holds
	// one matcher per app, most of them without wildcards.
	var m hostMatcher
	var errs []error
	for i, p := range patterns {
		h, wild, err := ParseHostPattern(p)
		if err != nil {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("%s[%d]", field, i), Value: p, Err: err})
			continue
		}
		if wild {
			if m.wildcard == nil {
				m.wildcard = map[string]struct{}{}
			}
			m.wildcard[h] = struct{}{}
		} else {
			if m.exact == nil {
				m.exact = make(map[string]struct{}, len(patterns))
			}
			m.exact[h] = struct{}{}
		}
	}
	return m, errs
}

// ParseHost validates an HTTP Host value (host[:port], RFC 9110 §7.2) and
// returns its normalized host (as [NormalizeHost] does: no brackets around
// IPv6) and its port ("" if none). A proxy uses it to forward only a
// canonical Host.
func ParseHost(hostport string) (host, port string, err error) {
	h, p, ok := splitHostPort(hostport)
	if !ok {
		return "", "", fmt.Errorf("%w: %q is not host[:port]", ErrInvalidHost, truncate(hostport))
	}
	host, _, err = normalizeHost(h)
	return host, p, err
}

// JoinHost is the inverse of [ParseHost]: host with IPv6 brackets, and
// ":port" when port is not empty.
func JoinHost(host, port string) string {
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + host + "]"
	}
	if port == "" {
		return host
	}
	return host + ":" + port
}

package forcehttps

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/forcehttps/forcehttps/internal/lex"
)

// HSTS is a parsed Strict-Transport-Security policy (RFC 6797 §6.1).
type HSTS struct {
	// MaxAge is the max-age directive in seconds. Zero revokes the policy:
	// a browser that receives max-age=0 forgets the host's HSTS pin.
	MaxAge int64
	// IncludeSubDomains reports the valueless includeSubDomains directive.
	IncludeSubDomains bool
	// Preload reports the valueless preload directive (not part of RFC 6797;
	// defined by hstspreload.org).
	Preload bool
}

// String formats the policy as a header value, for example
// "max-age=31536000; includeSubDomains; preload".
func (h HSTS) String() string {
	var b strings.Builder
	b.Grow(48)
	b.WriteString("max-age=")
	b.WriteString(strconv.FormatInt(h.MaxAge, 10))
	if h.IncludeSubDomains {
		b.WriteString("; includeSubDomains")
	}
	if h.Preload {
		b.WriteString("; preload")
	}
	return b.String()
}

// Duration returns MaxAge as a time.Duration, saturating at the largest
// representable duration.
func (h HSTS) Duration() time.Duration {
	if h.MaxAge > int64(math.MaxInt64/time.Second) {
		return math.MaxInt64
	}
	return time.Duration(h.MaxAge) * time.Second
}

// Errors returned by [ParseHSTS]. They wrap [ErrHSTSSyntax] when the header
// does not follow the grammar, so callers can branch on either.
var (
	// ErrHSTSSyntax means the value does not follow the RFC 6797 grammar.
	ErrHSTSSyntax = errors.New("invalid Strict-Transport-Security syntax")
	// ErrHSTSNoMaxAge means the required max-age directive is missing.
	ErrHSTSNoMaxAge = errors.New("Strict-Transport-Security has no max-age directive")
	// ErrHSTSDuplicate means a directive appears more than once, which
	// RFC 6797 §6.1 forbids (browsers then ignore the whole header).
	ErrHSTSDuplicate = errors.New("Strict-Transport-Security repeats a directive")
)

// maxHSTSLen bounds the input ParseHSTS accepts; real policies are a few
// dozen bytes.
const maxHSTSLen = 4096

// ParseHSTS parses one Strict-Transport-Security header value following
// RFC 6797 §6.1: directives separated by ";", names case-insensitive, values
// as tokens or quoted strings, max-age required, no directive repeated, and
// unknown directives ignored. A value joined from two header lines
// ("max-age=1, max-age=2") is rejected, as browsers reject it.
//
// Parse each header line separately; a response with more than one
// Strict-Transport-Security line is itself invalid (RFC 6797 §8.1).
func ParseHSTS(value string) (HSTS, error) {
	var h HSTS
	if len(value) > maxHSTSLen {
		return h, fmt.Errorf("%w: value longer than %d bytes", ErrHSTSSyntax, maxHSTSLen)
	}
	var seenMaxAge, seenSub, seenPreload bool
	seenOther := map[string]bool(nil)
	s := value
	for {
		s = lex.TrimOWS(s)
		if s == "" {
			break
		}
		if s[0] == ';' { // empty directive: allowed by the grammar
			s = s[1:]
			continue
		}
		n := lex.TokenLen(s)
		if n == 0 {
			return HSTS{}, fmt.Errorf("%w: unexpected %q", ErrHSTSSyntax, s[:1])
		}
		name := s[:n]
		s = lex.TrimOWS(s[n:])
		var val string
		hasVal := false
		if s != "" && s[0] == '=' {
			hasVal = true
			s = lex.TrimOWS(s[1:])
			var err error
			val, s, err = directiveValue(s)
			if err != nil {
				return HSTS{}, err
			}
			s = lex.TrimOWS(s)
		}
		if s != "" {
			if s[0] != ';' {
				return HSTS{}, fmt.Errorf("%w: unexpected %q after directive %q", ErrHSTSSyntax, s[:1], name)
			}
			s = s[1:]
		}
		switch {
		case strings.EqualFold(name, "max-age"):
			if seenMaxAge {
				return HSTS{}, fmt.Errorf("%w: max-age", ErrHSTSDuplicate)
			}
			seenMaxAge = true
			if !hasVal {
				return HSTS{}, fmt.Errorf("%w: max-age needs a value", ErrHSTSSyntax)
			}
			age, err := deltaSeconds(val)
			if err != nil {
				return HSTS{}, err
			}
			h.MaxAge = age
		case strings.EqualFold(name, "includeSubDomains"):
			if seenSub {
				return HSTS{}, fmt.Errorf("%w: includeSubDomains", ErrHSTSDuplicate)
			}
			seenSub = true
			if hasVal {
				return HSTS{}, fmt.Errorf("%w: includeSubDomains takes no value", ErrHSTSSyntax)
			}
			h.IncludeSubDomains = true
		case strings.EqualFold(name, "preload"):
			if seenPreload {
				return HSTS{}, fmt.Errorf("%w: preload", ErrHSTSDuplicate)
			}
			seenPreload = true
			if hasVal {
				return HSTS{}, fmt.Errorf("%w: preload takes no value", ErrHSTSSyntax)
			}
			h.Preload = true
		default:
			// Unknown directives are ignored (RFC 6797 §6.1) but may still
			// not repeat.
			key := strings.ToLower(name)
			if seenOther[key] {
				return HSTS{}, fmt.Errorf("%w: %q", ErrHSTSDuplicate, name)
			}
			if seenOther == nil {
				seenOther = make(map[string]bool)
			}
			seenOther[key] = true
		}
	}
	if !seenMaxAge {
		return HSTS{}, ErrHSTSNoMaxAge
	}
	return h, nil
}

// directiveValue reads a token or quoted-string at the start of s and returns
// it (unescaped) with the rest of s.
func directiveValue(s string) (val, rest string, err error) {
	if s == "" {
		return "", "", fmt.Errorf("%w: missing directive value", ErrHSTSSyntax)
	}
	if s[0] != '"' {
		n := lex.TokenLen(s)
		if n == 0 {
			return "", "", fmt.Errorf("%w: unexpected %q in directive value", ErrHSTSSyntax, s[:1])
		}
		return s[:n], s[n:], nil
	}
	var b []byte
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			if b == nil {
				return s[1:i], s[i+1:], nil
			}
			return string(b), s[i+1:], nil
		case c == '\\':
			if i+1 == len(s) || !isQuotedPairChar(s[i+1]) {
				return "", "", fmt.Errorf("%w: bad escape in quoted string", ErrHSTSSyntax)
			}
			if b == nil {
				b = append([]byte(nil), s[1:i]...)
			}
			i++
			b = append(b, s[i])
		case isQDText(c):
			if b != nil {
				b = append(b, c)
			}
		default:
			return "", "", fmt.Errorf("%w: invalid byte %q in quoted string", ErrHSTSSyntax, c)
		}
	}
	return "", "", fmt.Errorf("%w: unterminated quoted string", ErrHSTSSyntax)
}

// deltaSeconds parses 1*DIGIT, saturating at math.MaxInt64 as RFC 9111
// §1.2.2 recommends for delta-seconds.
func deltaSeconds(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: empty max-age", ErrHSTSSyntax)
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: max-age %q is not a number of seconds", ErrHSTSSyntax, s)
		}
		if n > (math.MaxInt64-int64(c-'0'))/10 {
			n = math.MaxInt64
			continue
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// The HSTS ramp, as hstspreload.org recommends rolling out: a short max-age
// first, raised once nothing broke. Each stage lasts at least as long as the
// max-age it sends, except the first, which lasts a day.
var rampStages = [...]struct {
	until  time.Duration // stage applies while time since enable < until
	maxAge int64
}{
	{24 * time.Hour, 300},                 // 5 minutes
	{8 * 24 * time.Hour, 7 * 24 * 3600},   // 1 week
	{38 * 24 * time.Hour, 30 * 24 * 3600}, // 1 month
}

// RampMaxAge returns the max-age, in seconds, that the ramp schedule sends
// at now for a policy enabled at enabledAt with the given target: 300 s for
// the first day, one week until day 8, 30 days until day 38, then target. No
// stage exceeds target. A zero enabledAt, or one in the future, counts as
// "just enabled".
func RampMaxAge(target int64, enabledAt, now time.Time) int64 {
	i := rampStage(enabledAt, now)
	if i == len(rampStages) {
		return target
	}
	return min(target, rampStages[i].maxAge)
}

// rampStage returns the stage index for now; len(rampStages) is the final
// stage (the target).
func rampStage(enabledAt, now time.Time) int {
	since := now.Sub(enabledAt)
	if enabledAt.IsZero() || since < 0 {
		return 0
	}
	for i, st := range rampStages {
		if since < st.until {
			return i
		}
	}
	return len(rampStages)
}

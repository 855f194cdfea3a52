package csp

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/forcehttps/forcehttps/internal/lex"
)

// MaxLen bounds the length of one header value that [Parse] and
// [ParseHeader] accept. Real policies are rarely above a few kilobytes.
const MaxLen = 64 << 10

// ErrSyntax means a value does not follow the policy grammar. Every error
// returned by this package wraps it.
var ErrSyntax = errors.New("csp: invalid Content-Security-Policy")

// Policy is one parsed policy.
type Policy struct {
	// Directives lists the directives in the order they appear, first
	// occurrences only.
	Directives []Directive
	// Duplicates lists, once each, the names of directives that appear more
	// than once; browsers use the first and ignore the others.
	Duplicates []string
	// Unknown lists the names of directives that no specification defines,
	// usually typos. They are also in Directives.
	Unknown []string
	// Invalid lists the source expressions that match no source grammar
	// and that browsers therefore ignore. They are also in Directives.
	Invalid []Source
}

// Directive is one directive of a policy.
type Directive struct {
	// Name is the directive name in lower case, such as "script-src".
	Name string
	// Values is the directive value split on ASCII whitespace, as written
	// (for source lists, the source expressions). Empty for valueless
	// directives such as upgrade-insecure-requests.
	Values []string
}

// Source is a source expression and the directive it appears in.
type Source struct {
	Directive  string
	Expression string
}

// Directive returns the directive called name (lower case), if present.
func (p *Policy) Directive(name string) (Directive, bool) {
	for _, d := range p.Directives {
		if d.Name == name {
			return d, true
		}
	}
	return Directive{}, false
}

// Effective returns the directive that governs name, following the fallback
// list of CSP Level 3 §6.8.3: for example "script-src-elem" falls back to
// "script-src" and then "default-src", and "worker-src" to "child-src",
// "script-src" and "default-src". It reports false when no directive of the
// list is present, which for a fetch directive means no restriction at all.
// Names without a fallback list (base-uri, form-action, frame-ancestors, …)
// are looked up alone.
func (p *Policy) Effective(name string) (Directive, bool) {
	list, ok := fallback[name]
	if !ok {
		return p.Directive(name)
	}
	for _, n := range list {
		if d, ok := p.Directive(n); ok {
			return d, true
		}
	}
	return Directive{}, false
}

// fallback lists, for each directive with one, the directives consulted in
// order (CSP Level 3 §6.8.3 "directive fallback list", extended with
// script-src and style-src themselves, which fall back to default-src).
var fallback = map[string][]string{
	"script-src":       {"script-src", "default-src"},
	"script-src-elem":  {"script-src-elem", "script-src", "default-src"},
	"script-src-attr":  {"script-src-attr", "script-src", "default-src"},
	"style-src":        {"style-src", "default-src"},
	"style-src-elem":   {"style-src-elem", "style-src", "default-src"},
	"style-src-attr":   {"style-src-attr", "style-src", "default-src"},
	"worker-src":       {"worker-src", "child-src", "script-src", "default-src"},
	"child-src":        {"child-src", "default-src"},
	"frame-src":        {"frame-src", "child-src", "default-src"},
	"fenced-frame-src": {"fenced-frame-src", "frame-src", "child-src", "default-src"},
	"connect-src":      {"connect-src", "default-src"},
	"font-src":         {"font-src", "default-src"},
	"img-src":          {"img-src", "default-src"},
	"manifest-src":     {"manifest-src", "default-src"},
	"media-src":        {"media-src", "default-src"},
	"object-src":       {"object-src", "default-src"},
	"prefetch-src":     {"prefetch-src", "default-src"},
}

// known lists the directive names defined by CSP Level 3, its companion
// specifications (Trusted Types, Upgrade Insecure Requests, Fenced Frames,
// WebRTC) and earlier levels still recognised by some browsers.
var known = map[string]bool{
	"base-uri": true, "block-all-mixed-content": true, "child-src": true,
	"connect-src": true, "default-src": true, "fenced-frame-src": true,
	"font-src": true, "form-action": true, "frame-ancestors": true,
	"frame-src": true, "img-src": true, "manifest-src": true,
	"media-src": true, "navigate-to": true, "object-src": true,
	"plugin-types": true, "prefetch-src": true, "report-to": true,
	"report-uri": true, "require-sri-for": true,
	"require-trusted-types-for": true, "sandbox": true, "script-src": true,
	"script-src-attr": true, "script-src-elem": true, "style-src": true,
	"style-src-attr": true, "style-src-elem": true, "trusted-types": true,
	"upgrade-insecure-requests": true, "webrtc": true, "worker-src": true,
}

// SourceList reports whether the value of directive name (lower case) is a
// source list (or, for frame-ancestors, an ancestor source list), as
// opposed to tokens (sandbox), URLs (report-uri) or nothing.
func SourceList(name string) bool {
	_, fetch := fallback[name]
	return fetch || name == "default-src" || name == "base-uri" || name == "form-action" || name == "frame-ancestors"
}

// Known reports whether name (lower case) is a directive some specification
// defines.
func Known(name string) bool { return known[name] }

// Parse parses one serialized policy (no "," separators; see
// [ParseHeader] for a header value). See the package documentation for the
// rules.
func Parse(s string) (Policy, error) {
	var p Policy
	if len(s) > MaxLen {
		return Policy{}, fmt.Errorf("%w: policy longer than %d bytes", ErrSyntax, MaxLen)
	}
	for tok := range strings.SplitSeq(s, ";") {
		tok = trimSpace(tok)
		if tok == "" {
			continue
		}
		name, rest := tok, ""
		if i := strings.IndexFunc(tok, isSpaceRune); i >= 0 {
			name, rest = tok[:i], tok[i:]
		}
		if !validName(name) {
			return Policy{}, fmt.Errorf("%w: invalid directive name %q", ErrSyntax, clip(name))
		}
		name = strings.ToLower(name)
		values := fields(rest)
		for _, v := range values {
			if i := strings.IndexFunc(v, func(r rune) bool { return !valueRune(r) }); i >= 0 {
				return Policy{}, fmt.Errorf("%w: invalid character %q in directive %q", ErrSyntax, v[i:i+1], clip(name))
			}
		}
		if _, dup := p.Directive(name); dup {
			if !slices.Contains(p.Duplicates, name) {
				p.Duplicates = append(p.Duplicates, name)
			}
			continue
		}
		if !known[name] {
			p.Unknown = append(p.Unknown, name)
		}
		if SourceList(name) {
			for _, v := range values {
				if Classify(v) == KindInvalid {
					p.Invalid = append(p.Invalid, Source{Directive: name, Expression: v})
				}
			}
		}
		p.Directives = append(p.Directives, Directive{Name: name, Values: values})
	}
	if len(p.Directives) == 0 {
		return Policy{}, fmt.Errorf("%w: no directives", ErrSyntax)
	}
	return p, nil
}

// ParseHeader parses the values of every Content-Security-Policy (or
// Content-Security-Policy-Report-Only) line of a response. Each value is a
// comma-separated list of policies; empty list elements are skipped. A
// browser enforces every policy returned. It fails if any policy is
// invalid, or if there is no policy at all.
func ParseHeader(values []string) ([]Policy, error) {
	var out []Policy
	for _, v := range values {
		if len(v) > MaxLen {
			return nil, fmt.Errorf("%w: header value longer than %d bytes", ErrSyntax, MaxLen)
		}
		for part := range strings.SplitSeq(v, ",") {
			if trimSpace(part) == "" {
				continue
			}
			p, err := Parse(part)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no policy", ErrSyntax)
	}
	return out, nil
}

// String serializes the policy in canonical form: directives in order,
// separated by "; ", values separated by single spaces. Duplicates are not
// included, since browsers ignore them.
func (p Policy) String() string {
	var b strings.Builder
	for i, d := range p.Directives {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(d.Name)
		for _, v := range d.Values {
			b.WriteByte(' ')
			b.WriteString(v)
		}
	}
	return b.String()
}

// validName reports whether s matches 1*( ALPHA / DIGIT / "-" ).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !lex.IsAlpha(c) && !lex.IsDigit(c) && c != '-' {
			return false
		}
	}
	return true
}

// valueRune reports whether r may appear in a directive value outside
// whitespace: %x21-%x2B / %x2D-%x3A / %x3C-%x7E (no ",", no ";").
func valueRune(r rune) bool {
	return r >= 0x21 && r <= 0x7e && r != ',' && r != ';'
}

// isSpaceRune reports ASCII whitespace as CSP defines it (Infra): TAB, LF,
// FF, CR and SPACE.
func isSpaceRune(r rune) bool {
	return r == '\t' || r == '\n' || r == '\f' || r == '\r' || r == ' '
}

func trimSpace(s string) string { return strings.TrimFunc(s, isSpaceRune) }

func fields(s string) []string { return strings.FieldsFunc(s, isSpaceRune) }

// clip shortens untrusted input quoted in error messages.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

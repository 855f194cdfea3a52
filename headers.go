package forcehttps

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// The default security headers: together with HSTS and the redirect they
// grade a page without inline scripts A+ on Mozilla Observatory and
// securityheaders.com. The CSP allows same-origin resources only, forbids
// plugins and framing, and pins form targets and <base> to the origin.
var defaultSecurityHeaders = []struct{ key, value string }{
	{"Content-Security-Policy", "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"},
	{"X-Frame-Options", "DENY"},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "strict-origin-when-cross-origin"},
	{"Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()"},
	{"Cross-Origin-Opener-Policy", "same-origin"},
	{"Cross-Origin-Resource-Policy", "same-origin"},
}

// DefaultSecurityHeaders returns the security headers a Middleware sends
// with the zero Config, as a new Header the caller may change.
func DefaultSecurityHeaders() http.Header {
	h := make(http.Header, len(defaultSecurityHeaders))
	for _, d := range defaultSecurityHeaders {
		h[d.key] = []string{d.value}
	}
	return h
}

// headerValue is a precomputed header: the value slice is shared by every
// response, so it has capacity 1 and an append by a handler (Header.Add)
// copies it instead of writing into it.
type headerValue struct {
	key string
	val []string
}

// nonceTemplate is a CSP value with "{nonce}" placeholders.
type nonceTemplate struct {
	key   string   // Content-Security-Policy or its Report-Only twin
	parts []string // the value split at each "{nonce}"
}

// noncePlaceholder marks where a per-response nonce goes in a CSP.
const noncePlaceholder = "{nonce}"

// buildSecurityHeaders merges the defaults with cfg.SecurityHeaders.
func buildSecurityHeaders(cfg Config) ([]headerValue, *nonceTemplate, []error) {
	values := map[string]string{}
	var order []string
	if !cfg.DisableSecurityHeaders {
		for _, d := range defaultSecurityHeaders {
			values[d.key] = d.value
			order = append(order, d.key)
		}
	}
	var errs []error
	keys := make([]string, 0, len(cfg.SecurityHeaders))
	for k := range cfg.SecurityHeaders {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic order and error order
	for _, k := range keys {
		v := cfg.SecurityHeaders[k]
		field := fmt.Sprintf("SecurityHeaders[%q]", k)
		if !httpguts.ValidHeaderFieldName(k) {
			errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf("%w: bad name", ErrInvalidHeader)})
			continue
		}
		if !httpguts.ValidHeaderFieldValue(v) {
			errs = append(errs, &FieldError{Field: field, Value: v, Err: fmt.Errorf("%w: bad value", ErrInvalidHeader)})
			continue
		}
		canon := http.CanonicalHeaderKey(k)
		if canon == "Strict-Transport-Security" {
			errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf("%w: set HSTS with the HSTS fields, which send it only over HTTPS", ErrInvalidHeader)})
			continue
		}
		if _, ok := values[canon]; !ok {
			order = append(order, canon)
		}
		values[canon] = strings.TrimSpace(v)
	}
	var out []headerValue
	var nonce *nonceTemplate
	for _, k := range order {
		v := values[k]
		if v == "" {
			continue // removed
		}
		if strings.Contains(v, noncePlaceholder) {
			if !strings.HasPrefix(k, "Content-Security-Policy") {
				errs = append(errs, &FieldError{Field: fmt.Sprintf("SecurityHeaders[%q]", k), Value: v, Err: fmt.Errorf("%w: %s only works in Content-Security-Policy", ErrInvalidHeader, noncePlaceholder)})
				continue
			}
			if nonce != nil {
				errs = append(errs, &FieldError{Field: fmt.Sprintf("SecurityHeaders[%q]", k), Err: fmt.Errorf("%w: %s in both CSP headers", ErrInvalidHeader, noncePlaceholder)})
				continue
			}
			nonce = &nonceTemplate{key: k, parts: strings.Split(v, noncePlaceholder)}
			continue
		}
		out = append(out, headerValue{key: k, val: []string{v}[:1:1]})
	}
	return out, nonce, errs
}

// hstsPolicy holds the precomputed Strict-Transport-Security values.
type hstsPolicy struct {
	off    bool
	ramp   bool
	from   time.Time
	stages [len(rampStages) + 1][]string // the last one is the target
}

// newHSTSPolicy validates the HSTS fields of cfg.
func newHSTSPolicy(cfg Config) (hstsPolicy, []error) {
	var p hstsPolicy
	var errs []error
	if cfg.DisableHSTS {
		p.off = true
		return p, nil
	}
	age := cfg.HSTSMaxAge
	if age == 0 {
		age = DefaultHSTSMaxAge
	}
	if age < 0 || age%time.Second != 0 {
		errs = append(errs, &FieldError{Field: "HSTSMaxAge", Value: cfg.HSTSMaxAge.String(), Err: ErrInvalidMaxAge})
	}
	target := HSTS{MaxAge: int64(age / time.Second), IncludeSubDomains: cfg.HSTSIncludeSubDomains, Preload: cfg.HSTSPreload}
	if cfg.HSTSPreload {
		if age < DefaultHSTSMaxAge || !cfg.HSTSIncludeSubDomains {
			errs = append(errs, &FieldError{Field: "HSTSPreload", Err: ErrPreload})
		}
		if cfg.HSTSRevoke {
			errs = append(errs, &FieldError{Field: "HSTSPreload", Err: errors.New("cannot revoke a policy that asks for preload: drop preload, then revoke")})
		}
	}
	if cfg.HSTSRevoke {
		target = HSTS{MaxAge: 0}
	}
	p.stages[len(rampStages)] = []string{target.String()}[:1:1]
	if !cfg.HSTSRampFrom.IsZero() && !cfg.HSTSRevoke {
		p.ramp, p.from = true, cfg.HSTSRampFrom
		for i, st := range rampStages {
			// preload only at the final stage: a short max-age with preload
			// would be refused by the preload list anyway.
			v := HSTS{MaxAge: min(st.maxAge, target.MaxAge), IncludeSubDomains: target.IncludeSubDomains}
			p.stages[i] = []string{v.String()}[:1:1]
		}
	}
	return p, errs
}

// value returns the header value slice to send at now, or nil.
func (p *hstsPolicy) value(now func() time.Time) []string {
	if p.off {
		return nil
	}
	if p.ramp {
		return p.stages[rampStage(p.from, now())]
	}
	return p.stages[len(rampStages)]
}

// SecurityHeaders returns the security headers the middleware adds to
// responses (the defaults merged with Config.SecurityHeaders, without
// Strict-Transport-Security), as a new Header the caller may change. A
// Content-Security-Policy with a nonce keeps its "{nonce}" placeholder.
func (m *Middleware) SecurityHeaders() http.Header {
	h := make(http.Header, len(m.headers)+1)
	for _, hv := range m.headers {
		h[hv.key] = []string{hv.val[0]}
	}
	if m.nonceCSP != nil {
		h[m.nonceCSP.key] = []string{strings.Join(m.nonceCSP.parts, noncePlaceholder)}
	}
	return h
}

package audit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/forcehttps/forcehttps/internal/csp"
)

// edgeHeaders is the edge configuration that adds the default security
// headers, quoted in fixes.
const edgeHeaders = " · edge YAML: security_headers: {defaults: true}"

// defaultCSP is the policy forcehttps sends by default, quoted in fixes.
const defaultCSP = "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

func (a *analysis) cspFindings() {
	add := func(f Finding) {
		f.Category = CategoryCSP
		a.add(f)
	}
	h := a.final.header
	enforced := h.Values("Content-Security-Policy")
	reportOnly := h.Values("Content-Security-Policy-Report-Only")
	if len(enforced) == 0 {
		msg := "no Content-Security-Policy header"
		if len(reportOnly) > 0 {
			msg += "; Content-Security-Policy-Report-Only only reports violations and does not count"
		}
		add(Finding{ID: "csp-missing", Severity: Fail, Modifier: -25, Message: msg,
			Fix: "Content-Security-Policy: " + defaultCSP + " (forcehttps' default, sent unless DisableSecurityHeaders)" + edgeHeaders})
		return
	}
	policies, err := csp.ParseHeader(enforced)
	if err != nil {
		add(Finding{ID: "csp-invalid", Severity: Fail, Modifier: -25,
			Message: fmt.Sprintf("Content-Security-Policy cannot be parsed: %v", err),
			Fix:     "fix the syntax: directives separated by \";\", keywords in single quotes ('self'), ASCII only"})
		return
	}
	if len(reportOnly) > 0 {
		add(Finding{ID: "csp-report-only", Severity: Info,
			Message: "Content-Security-Policy-Report-Only is also sent; it reports violations but blocks nothing and does not count"})
	}

	// A browser enforces every policy, so a weakness matters only if
	// every policy has it; hygiene problems count in any policy.
	var weak []Finding
	for i, p := range policies {
		fs := policyWeaknesses(&p)
		if i == 0 {
			weak = fs
			continue
		}
		weak = slices.DeleteFunc(weak, func(f Finding) bool {
			return !slices.ContainsFunc(fs, func(g Finding) bool { return g.ID == f.ID })
		})
	}
	for _, f := range weak {
		add(f)
	}
	var hygiene []Finding
	for _, p := range policies {
		for _, f := range policyHygiene(&p) {
			if !slices.ContainsFunc(hygiene, func(g Finding) bool { return g.ID == f.ID }) {
				hygiene = append(hygiene, f)
			}
		}
	}
	for _, f := range hygiene {
		add(f)
	}

	bonus := !slices.ContainsFunc(weak, func(f Finding) bool {
		return f.Modifier < 0 || f.ID == "csp-style-unsafe" || f.ID == "csp-strict-dynamic-no-nonce"
	})
	if bonus {
		defaultNone := slices.ContainsFunc(policies, func(p csp.Policy) bool {
			d, ok := p.Directive("default-src")
			return ok && len(d.Values) == 1 && csp.Keyword(d.Values[0]) == "'none'"
		})
		if defaultNone {
			add(Finding{ID: "csp-default-none", Severity: Pass, Modifier: 10,
				Message: "Content-Security-Policy sets default-src 'none' and allows no unsafe sources"})
		} else {
			add(Finding{ID: "csp-ok", Severity: Pass, Modifier: 5,
				Message: "Content-Security-Policy allows no unsafe script or plugin sources"})
		}
	}

	for _, p := range policies {
		if d, ok := p.Directive("frame-ancestors"); ok && !slices.ContainsFunc(d.Values, broadSource) {
			a.frameAncestors = strings.Join(d.Values, " ")
			if a.frameAncestors == "" {
				a.frameAncestors = "(empty, same as 'none')"
			}
			break
		}
	}
	if a.frameAncestors == "" {
		add(Finding{ID: "csp-no-frame-ancestors", Severity: Info,
			Message: "Content-Security-Policy has no restrictive frame-ancestors directive; it supersedes X-Frame-Options in current browsers",
			Fix:     "add frame-ancestors 'none' (or 'self') to the policy"})
	}
}

// broadSource reports a source that allows any host: "*", a bare network
// scheme, or a host-source whose host is "*".
func broadSource(src string) bool {
	switch csp.Classify(src) {
	case csp.KindWildcard:
		return true
	case csp.KindScheme:
		switch csp.Scheme(src) {
		case "http", "https", "ftp", "ws", "wss":
			return true
		}
	case csp.KindHost:
		host := src
		if i := strings.Index(host, "://"); i >= 0 {
			host = host[i+3:]
		}
		if j := strings.IndexAny(host, ":/"); j >= 0 {
			host = host[:j]
		}
		return host == "*"
	}
	return false
}

// insecureSource reports a source that loads over a plain-text scheme.
func insecureSource(src string) bool {
	s := csp.Scheme(src)
	return s == "http" || s == "ftp" || s == "ws"
}

// effectiveScripts returns the script sources that count: 'unsafe-inline'
// is ignored next to a nonce or hash, and with 'strict-dynamic' (and a
// nonce or hash) so are hosts, schemes and 'self' (CSP Level 3 §8.2).
func effectiveScripts(values []string) (srcs []string, nonceOrHash, strictDynamic bool) {
	for _, v := range values {
		switch k := csp.Classify(v); {
		case k == csp.KindNonce || k == csp.KindHash:
			nonceOrHash = true
		case csp.Keyword(v) == "'strict-dynamic'":
			strictDynamic = true
		}
	}
	for _, v := range values {
		kw := csp.Keyword(v)
		switch {
		case nonceOrHash && kw == "'unsafe-inline'":
			continue
		case nonceOrHash && strictDynamic:
			if kw == "'self'" || csp.Classify(v) == csp.KindHost || csp.Classify(v) == csp.KindScheme || csp.Classify(v) == csp.KindWildcard {
				continue
			}
		}
		srcs = append(srcs, v)
	}
	return srcs, nonceOrHash, strictDynamic
}

// policyWeaknesses judges one policy's protection.
func policyWeaknesses(p *csp.Policy) []Finding {
	var out []Finding
	add := func(id string, sev Severity, mod int, msg, fix string) {
		out = append(out, Finding{ID: id, Category: CategoryCSP, Severity: sev, Modifier: mod, Message: msg, Fix: fix})
	}
	const scriptFix = "remove it and use nonces: forcehttps.Config{SecurityHeaders: map[string]string{\"Content-Security-Policy\": \"script-src 'nonce-{nonce}' 'strict-dynamic'; object-src 'none'; base-uri 'self'\"}} with forcehttps.Nonce(r) in your templates"
	script, hasScript := p.Effective("script-src")
	if !hasScript {
		add("csp-script-unrestricted", Fail, -20, "no script-src or default-src: scripts load from any host", "add default-src 'self' (or a script-src)")
	} else {
		srcs, nonceOrHash, strictDynamic := effectiveScripts(script.Values)
		if strictDynamic && !nonceOrHash {
			add("csp-strict-dynamic-no-nonce", Warn, 0, "'strict-dynamic' without a nonce or hash: modern browsers then run no script at all", "add 'nonce-{nonce}' next to 'strict-dynamic'")
		}
		if slices.ContainsFunc(srcs, func(s string) bool { return csp.Keyword(s) == "'unsafe-inline'" }) {
			add("csp-unsafe-inline", Fail, -20, fmt.Sprintf("%s allows 'unsafe-inline' without a nonce or hash: injected inline scripts run", script.Name), scriptFix)
		}
		if slices.ContainsFunc(srcs, func(s string) bool { return csp.Scheme(s) == "data" }) {
			add("csp-script-data", Fail, -20, fmt.Sprintf("%s allows data: URLs, which run injected scripts like 'unsafe-inline'", script.Name), scriptFix)
		}
		if broad := filter(srcs, broadSource); len(broad) > 0 {
			add("csp-script-broad", Fail, -20, fmt.Sprintf("%s allows %s: scripts from any host", script.Name, strings.Join(broad, " ")), "list the script hosts you use, or use nonces with 'strict-dynamic'")
		}
	}
	style, _ := p.Effective("style-src")
	evals := slices.ContainsFunc(script.Values, isUnsafeEval) || slices.ContainsFunc(style.Values, isUnsafeEval)
	if evals {
		add("csp-unsafe-eval", Warn, -10, "the policy allows 'unsafe-eval': strings are run as code (eval, new Function)", "remove 'unsafe-eval' once the code no longer calls eval or new Function")
	}

	object, hasObject := p.Effective("object-src")
	switch {
	case !hasObject:
		add("csp-object-unrestricted", Fail, -20, "no object-src or default-src: plugins (<object>, <embed>) load from any host", "add object-src 'none'")
	case len(filter(object.Values, broadSource)) > 0:
		add("csp-object-broad", Fail, -20, fmt.Sprintf("%s allows %s: plugins from any host", object.Name, strings.Join(filter(object.Values, broadSource), " ")), "set object-src 'none'")
	case !(len(object.Values) == 1 && csp.Keyword(object.Values[0]) == "'none'"):
		add("csp-object-not-none", Info, 0, fmt.Sprintf("plugins are restricted by %s %s rather than 'none'", object.Name, strings.Join(object.Values, " ")), "add object-src 'none': plugins are obsolete")
	}

	// Plain-HTTP sources: active content (anything but images and media)
	// can be replaced by a network attacker; passive content only leaks.
	var active, passive []string
	for _, d := range p.Directives {
		if !csp.SourceList(d.Name) || d.Name == "img-src" || d.Name == "media-src" {
			continue
		}
		active = append(active, filter(d.Values, insecureSource)...)
	}
	for _, n := range []string{"img-src", "media-src"} {
		if d, ok := p.Effective(n); ok {
			passive = append(passive, filter(d.Values, insecureSource)...)
		}
	}
	switch {
	case len(active) > 0:
		add("csp-insecure-scheme", Fail, -20, fmt.Sprintf("the policy allows scripts or other active content over plain HTTP: %s", strings.Join(dedupe(active), " ")), "replace http:// sources with https:// ones")
	case len(passive) > 0:
		add("csp-insecure-scheme-passive", Warn, -10, fmt.Sprintf("the policy allows images or media over plain HTTP: %s", strings.Join(dedupe(passive), " ")), "replace http:// sources with https:// ones")
	}

	if st, ok := p.Effective("style-src"); ok {
		srcs, _, _ := effectiveScripts(st.Values) // the nonce and hash rules are the same for styles
		var bad []string
		for _, s := range srcs {
			if csp.Keyword(s) == "'unsafe-inline'" || csp.Scheme(s) == "data" || broadSource(s) {
				bad = append(bad, s)
			}
		}
		if len(bad) > 0 {
			add("csp-style-unsafe", Info, 0, fmt.Sprintf("%s allows %s; not penalised, but it forgoes the CSP bonus", st.Name, strings.Join(bad, " ")), "move inline styles to files, or use nonces for them")
		}
	} else {
		add("csp-style-unsafe", Info, 0, "no style-src or default-src: styles load from any host; not penalised, but it forgoes the CSP bonus", "add default-src 'self'")
	}
	if _, ok := p.Directive("default-src"); !ok {
		add("csp-no-default-src", Warn, 0, "no default-src: the fetch directives not listed (connect-src, img-src, font-src, …) allow any host", "add default-src 'self' (or 'none') as the fallback")
	}
	return out
}

// policyHygiene lists what browsers ignore in a policy.
func policyHygiene(p *csp.Policy) []Finding {
	var out []Finding
	add := func(id, msg, fix string) {
		out = append(out, Finding{ID: id, Category: CategoryCSP, Severity: Warn, Message: msg, Fix: fix})
	}
	if len(p.Duplicates) > 0 {
		add("csp-duplicate-directive", fmt.Sprintf("repeated directives (%s): browsers use the first and ignore the rest", strings.Join(p.Duplicates, ", ")), "merge each directive into one")
	}
	if len(p.Unknown) > 0 {
		add("csp-unknown-directive", fmt.Sprintf("unknown directives (%s), ignored by browsers: typos?", strings.Join(limit(p.Unknown), ", ")), "check the directive names against CSP Level 3")
	}
	var invalid, unquoted []string
	for _, s := range p.Invalid {
		invalid = append(invalid, s.Directive+" "+s.Expression)
	}
	for _, d := range p.Directives {
		if !csp.SourceList(d.Name) {
			continue
		}
		for _, v := range d.Values {
			if csp.UnquotedKeyword(v) {
				unquoted = append(unquoted, d.Name+" "+v)
			}
		}
	}
	if len(invalid) > 0 {
		add("csp-invalid-source", fmt.Sprintf("source expressions browsers ignore: %s", strings.Join(limit(invalid), ", ")), "fix their syntax (keywords, nonces and hashes go in single quotes)")
	}
	if len(unquoted) > 0 {
		add("csp-unquoted-keyword", fmt.Sprintf("keywords without quotes are read as host names: %s", strings.Join(limit(unquoted), ", ")), "quote keywords: 'self', 'none', 'unsafe-inline'")
	}
	return out
}

func isUnsafeEval(s string) bool { return csp.Keyword(s) == "'unsafe-eval'" }

// filter returns the elements of vs for which keep is true.
func filter(vs []string, keep func(string) bool) []string {
	var out []string
	for _, v := range vs {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}

// dedupe removes repeated strings, keeping the first.
func dedupe(vs []string) []string {
	var out []string
	for _, v := range vs {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// limit keeps the first 10 entries of a list shown in a message.
func limit(vs []string) []string {
	const n = 10
	if len(vs) <= n {
		return vs
	}
	return append(slices.Clip(vs[:n]), fmt.Sprintf("and %d more", len(vs)-n))
}

func (a *analysis) frameFindings() {
	f := Finding{Category: CategoryFrame, Fix: "X-Frame-Options: DENY, and frame-ancestors 'none' in the CSP (forcehttps sends both by default)" + edgeHeaders}
	vals := a.final.header.Values("X-Frame-Options")
	if a.frameAncestors != "" {
		f.ID, f.Severity, f.Modifier, f.Fix = "xfo-frame-ancestors", Pass, 5, ""
		f.Message = fmt.Sprintf("framing is restricted by CSP frame-ancestors %s", a.frameAncestors)
		a.add(f)
		return
	}
	if len(vals) == 0 {
		f.ID, f.Severity, f.Modifier = "xfo-missing", Fail, -20
		f.Message = "no X-Frame-Options header and no CSP frame-ancestors: other sites can frame the page (clickjacking)"
		a.add(f)
		return
	}
	var toks []string
	for _, v := range vals {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
				toks = append(toks, t)
			}
		}
	}
	switch {
	case len(toks) == 0 || slices.ContainsFunc(toks, func(t string) bool { return t != toks[0] }):
		f.ID, f.Severity, f.Modifier = "xfo-invalid", Fail, -20
		f.Message = fmt.Sprintf("X-Frame-Options %s is not one valid value; browsers ignore it", quoteList(vals))
	case toks[0] == "deny" || toks[0] == "sameorigin":
		f.ID, f.Severity, f.Fix = "xfo-ok", Pass, ""
		f.Message = fmt.Sprintf("X-Frame-Options: %s", strings.ToUpper(toks[0]))
	case strings.HasPrefix(toks[0], "allow-from"):
		f.ID, f.Severity = "xfo-allow-from", Warn
		f.Message = "X-Frame-Options ALLOW-FROM is ignored by current browsers, so the page can be framed"
		f.Fix = "use CSP frame-ancestors 'self' https://allowed.example instead"
	default:
		f.ID, f.Severity, f.Modifier = "xfo-invalid", Fail, -20
		f.Message = fmt.Sprintf("X-Frame-Options %s is not DENY or SAMEORIGIN; browsers ignore it", quoteList(vals))
	}
	a.add(f)
}

func (a *analysis) nosniffFindings() {
	f := Finding{Category: CategoryNosniff, Fix: "X-Content-Type-Options: nosniff (sent by forcehttps by default)" + edgeHeaders}
	vals := a.final.header.Values("X-Content-Type-Options")
	first := ""
	if len(vals) > 0 {
		first, _, _ = strings.Cut(vals[0], ",")
		first = strings.TrimSpace(first)
	}
	switch {
	case len(vals) == 0:
		f.ID, f.Severity, f.Modifier = "xcto-missing", Fail, -5
		f.Message = "no X-Content-Type-Options header: browsers may guess content types (MIME sniffing)"
	case strings.EqualFold(first, "nosniff"):
		f.ID, f.Severity, f.Fix = "xcto-ok", Pass, ""
		f.Message = "X-Content-Type-Options: nosniff"
	default:
		f.ID, f.Severity, f.Modifier = "xcto-invalid", Fail, -5
		f.Message = fmt.Sprintf("X-Content-Type-Options %s is not nosniff", quoteList(vals))
	}
	a.add(f)
}

// Referrer policies (Referrer Policy §3), by what they leak to other
// sites.
var (
	privateReferrer = []string{"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
	unsafeReferrer  = []string{"no-referrer-when-downgrade", "origin", "origin-when-cross-origin", "unsafe-url"}
)

// ParseReferrerPolicy returns the policy of Referrer-Policy header lines as
// browsers read it (Referrer Policy §8.1): the lines form one
// comma-separated list, unknown tokens are ignored, and the last known
// token wins, so a site can list a new policy after a fallback. Tokens are
// matched case-insensitively, as browsers do. It reports false when no
// token is known.
func ParseReferrerPolicy(lines []string) (string, bool) {
	policy := ""
	for _, l := range lines {
		for t := range strings.SplitSeq(l, ",") {
			t = strings.ToLower(strings.TrimSpace(t))
			if slices.Contains(privateReferrer, t) || slices.Contains(unsafeReferrer, t) {
				policy = t
			}
		}
	}
	return policy, policy != ""
}

func (a *analysis) referrerFindings() {
	f := Finding{Category: CategoryReferrer, Fix: "Referrer-Policy: strict-origin-when-cross-origin (sent by forcehttps by default)" + edgeHeaders}
	vals := a.final.header.Values("Referrer-Policy")
	policy, ok := ParseReferrerPolicy(vals)
	switch {
	case len(vals) == 0:
		f.ID, f.Severity = "referrer-policy-missing", Info
		f.Message = "no Referrer-Policy header; browsers default to strict-origin-when-cross-origin"
	case !ok:
		f.ID, f.Severity, f.Modifier = "referrer-policy-invalid", Warn, -5
		f.Message = fmt.Sprintf("Referrer-Policy %s names no policy browsers know", quoteList(vals))
	case slices.Contains(privateReferrer, policy):
		f.ID, f.Severity, f.Modifier, f.Fix = "referrer-policy-private", Pass, 5, ""
		f.Message = fmt.Sprintf("Referrer-Policy: %s keeps paths and queries from other sites", policy)
	default:
		f.ID, f.Severity, f.Modifier = "referrer-policy-unsafe", Warn, -5
		f.Message = fmt.Sprintf("Referrer-Policy: %s sends the page's address to other sites", policy)
		if policy == "unsafe-url" || policy == "origin" || policy == "origin-when-cross-origin" {
			f.Message += ", even over plain HTTP"
		}
	}
	if len(vals) > 0 && ok && (len(vals) > 1 || strings.Contains(vals[0], ",")) {
		f.Message += fmt.Sprintf(" (the last policy browsers know, of %s)", quoteList(vals))
	}
	a.add(f)
}

func (a *analysis) permissionsFindings() {
	f := Finding{Category: CategoryPermissions}
	if v := strings.TrimSpace(strings.Join(a.final.header.Values("Permissions-Policy"), ",")); v != "" {
		f.ID, f.Severity = "permissions-policy-ok", Pass
		f.Message = "Permissions-Policy is set"
	} else {
		f.ID, f.Severity = "permissions-policy-missing", Info
		f.Message = "no Permissions-Policy header: features such as camera, microphone and geolocation keep their defaults for embedded content (securityheaders.com grades this; not scored here)"
		f.Fix = "Permissions-Policy: camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=() (sent by forcehttps by default)" + edgeHeaders
	}
	a.add(f)
}

// structuredToken returns the token of a structured-field item such as
// `same-origin; report-to="x"`, lower-cased, or "" if there is no single
// item.
func structuredToken(vals []string) (string, bool) {
	if len(vals) != 1 || strings.Contains(vals[0], ",") {
		return "", false
	}
	tok, _, _ := strings.Cut(vals[0], ";")
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func (a *analysis) coopFindings() {
	f := Finding{Category: CategoryCOOP, Fix: "Cross-Origin-Opener-Policy: same-origin (sent by forcehttps by default)" + edgeHeaders}
	vals := a.final.header.Values("Cross-Origin-Opener-Policy")
	tok, ok := structuredToken(vals)
	switch {
	case len(vals) == 0:
		f.ID, f.Severity = "coop-missing", Info
		f.Message = "no Cross-Origin-Opener-Policy: a site that opens this page in a window keeps a handle on it"
	case !ok || !slices.Contains([]string{"same-origin", "same-origin-allow-popups", "noopener-allow-popups", "unsafe-none"}, tok):
		f.ID, f.Severity = "coop-invalid", Warn
		f.Message = fmt.Sprintf("Cross-Origin-Opener-Policy %s is not a valid policy; browsers ignore it", quoteList(vals))
	case tok == "unsafe-none":
		f.ID, f.Severity = "coop-unsafe-none", Info
		f.Message = "Cross-Origin-Opener-Policy: unsafe-none is the default and isolates nothing"
	default:
		f.ID, f.Severity, f.Fix = "coop-ok", Pass, ""
		f.Message = "Cross-Origin-Opener-Policy: " + tok
	}
	a.add(f)
}

func (a *analysis) corpFindings() {
	f := Finding{Category: CategoryCORP, Fix: "Cross-Origin-Resource-Policy: same-origin (sent by forcehttps by default)" + edgeHeaders}
	vals := a.final.header.Values("Cross-Origin-Resource-Policy")
	tok := ""
	if len(vals) == 1 {
		tok = strings.ToLower(strings.TrimSpace(vals[0]))
	}
	switch {
	case len(vals) == 0:
		f.ID, f.Severity = "corp-missing", Info
		f.Message = "no Cross-Origin-Resource-Policy: other sites may embed this resource"
	case tok == "same-origin" || tok == "same-site":
		f.ID, f.Severity, f.Modifier, f.Fix = "corp-ok", Pass, 10, ""
		f.Message = "Cross-Origin-Resource-Policy: " + tok
	case tok == "cross-origin":
		f.ID, f.Severity = "corp-cross-origin", Info
		f.Message = "Cross-Origin-Resource-Policy: cross-origin lets any site embed this resource"
	default:
		f.ID, f.Severity, f.Modifier = "corp-invalid", Warn, -5
		f.Message = fmt.Sprintf("Cross-Origin-Resource-Policy %s is not same-origin, same-site or cross-origin; browsers ignore it", quoteList(vals))
	}
	a.add(f)
}

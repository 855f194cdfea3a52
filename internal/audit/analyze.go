package audit

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/forcehttps/forcehttps"
)

// HSTS thresholds, in seconds.
const (
	// HSTSSixMonths is the max-age below which HSTS is weak (Mozilla
	// Observatory's threshold; SSL Labs and testssl.sh use 180 days).
	HSTSSixMonths = 15552000
	// HSTSOneYear is the max-age hstspreload.org requires.
	HSTSOneYear = 31536000
)

// analysis turns what Run collected into findings.
type analysis struct {
	opts  Options
	now   time.Time
	http  *chain // from the plain-HTTP URL; no hops if nothing listens
	https *chain // from the HTTPS URL
	final *Hop   // last hop of https
	tls   *TLSInfo
	state *tls.ConnectionState

	out            []Finding
	hsts           forcehttps.HSTS // the final response's policy, if valid
	hstsValid      bool
	frameAncestors string // a restrictive CSP frame-ancestors value, if any
}

func (a *analysis) add(f Finding) { a.out = append(a.out, f) }

// run produces the findings, in category order.
func (a *analysis) run() []Finding {
	a.redirects()
	a.hstsFindings()
	a.tlsFindings()
	a.cspFindings()
	a.frameFindings()
	a.nosniffFindings()
	a.referrerFindings()
	a.permissionsFindings()
	a.coopFindings()
	a.corpFindings()
	a.out = append(a.out, cookieFindings(a.setCookies(), a.hstsValid && a.hsts.MaxAge >= HSTSSixMonths)...)
	order := Categories()
	slices.SortStableFunc(a.out, func(x, y Finding) int {
		return slices.Index(order, x.Category) - slices.Index(order, y.Category)
	})
	if a.out == nil {
		a.out = []Finding{}
	}
	return a.out
}

// host is the audited host.
func (a *analysis) host() string { return a.opts.Target.Host }

// sameHost reports whether the URL's host is the audited host.
func (a *analysis) sameHost(h *Hop) bool {
	nh, err := forcehttps.NormalizeHost(h.url.Hostname())
	return err == nil && nh == a.host()
}

// hops returns the hops of both chains.
func (a *analysis) hops() []*Hop {
	var hs []*Hop
	for _, c := range []*chain{a.http, a.https} {
		for i := range c.Hops {
			hs = append(hs, &c.Hops[i])
		}
	}
	return hs
}

// fixRedirect is the fix for a missing or misdirected redirect.
func (a *analysis) fixRedirect() string {
	return fmt.Sprintf("redirect to https on the same host first: forcehttps.Config{AllowedHosts: []string{%q}} on the plain-HTTP listener · edge YAML: force_https: true", a.host())
}

func (a *analysis) redirects() {
	c := a.http
	start := c.Start
	f := Finding{Category: CategoryRedirect}
	switch {
	case len(c.Hops) == 0:
		f.ID, f.Severity, f.Modifier = "redirect-no-http", Warn, -10
		f.Message = fmt.Sprintf("nothing answers on %s (%s): people who type the name or follow an http:// link get an error instead of the HTTPS site", start, c.Error)
		f.Fix = "listen on port 80 and redirect: forcehttps.New(forcehttps.Config{AllowedHosts: ...}) on :80 · edge YAML: listen: {http: \":80\"}"
	case c.Error != "":
		f.ID, f.Severity, f.Modifier = "redirect-unreachable", Fail, -20
		f.Message = fmt.Sprintf("the redirects from %s lead to a URL that does not answer: %s", start, c.Error)
		f.Fix = a.fixRedirect() + "; check the HTTPS port in the redirect (forcehttps.Config{HTTPSPort: ...} · edge YAML: listen: {https_public_port: ...})"
	case c.Loop:
		f.ID, f.Severity, f.Modifier = "redirect-loop", Fail, -20
		f.Message = fmt.Sprintf("the redirects from %s loop back to %s after %d hops", start, clip(c.final().Location), len(c.Hops))
		f.Fix = "behind a proxy, let the app see https: forcehttps.Config{Trust: forcehttps.PresetCloudRun} (or your platform's preset, or TrustedProxies)"
	case !isRedirect(c.Hops[0].Status) || len(c.Hops) == 1:
		f.ID, f.Severity, f.Modifier = "redirect-missing", Fail, -20
		f.Message = fmt.Sprintf("%s answers %d without redirecting to HTTPS", start, c.Hops[0].Status)
		if c.badLocation != "" {
			f.Message = fmt.Sprintf("%s answers %d with a Location that is not an http or https URL: %q", start, c.Hops[0].Status, clip(c.badLocation))
		}
		f.Fix = a.fixRedirect()
	case !c.final().secure():
		f.ID, f.Severity, f.Modifier = "redirect-final-http", Fail, -20
		f.Message = fmt.Sprintf("the redirects from %s end on plain HTTP at %s", start, c.final().URL)
		if c.badLocation != "" {
			f.Message += fmt.Sprintf(", whose Location %q is not an http or https URL", clip(c.badLocation))
		}
		f.Fix = a.fixRedirect()
	case !c.Hops[1].secure():
		f.ID, f.Severity, f.Modifier = "redirect-first-not-https", Warn, -10
		f.Message = fmt.Sprintf("%s redirects first to %s, another plain-HTTP URL, before reaching HTTPS", start, c.Hops[1].URL)
		f.Fix = a.fixRedirect()
	case !a.sameHost(&c.Hops[1]):
		f.ID, f.Severity, f.Modifier = "redirect-off-host", Warn, -5
		f.Message = fmt.Sprintf("%s redirects to another host, %s: %s never gets HSTS, since browsers record it only for hosts they reach over HTTPS", start, c.Hops[1].URL, a.host())
		f.Fix = a.fixRedirect()
	default:
		f.ID, f.Severity = "redirect-ok", Pass
		f.Message = fmt.Sprintf("%s redirects to %s (%d)", start, c.Hops[1].URL, c.Hops[0].Status)
		if n := len(c.Hops) - 1; n > 1 {
			f.Message += fmt.Sprintf(", then on to %s (%d redirects)", c.final().URL, n)
		}
	}
	a.add(f)

	var temporary, permanent308 []string
	redirects := 0
	for i := range c.Hops {
		h := &c.Hops[i]
		if !isRedirect(h.Status) {
			continue
		}
		redirects++
		if h.secure() {
			continue
		}
		switch h.Status {
		case http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect:
			temporary = append(temporary, fmt.Sprintf("%s (%d)", h.URL, h.Status))
		case http.StatusPermanentRedirect:
			permanent308 = append(permanent308, h.URL)
		}
	}
	if len(temporary) > 0 {
		a.add(Finding{
			ID: "redirect-temporary", Category: CategoryRedirect, Severity: Warn,
			Message: fmt.Sprintf("temporary redirect from plain HTTP: %s; browsers do not cache it, so every visit starts over plain HTTP", strings.Join(temporary, ", ")),
			Fix:     "use a permanent redirect: forcehttps.Config{Temporary: false} (301/308 by default) · edge YAML: redirect: {temporary: false, status: 301}",
		})
	}
	if len(permanent308) > 0 {
		a.add(Finding{
			ID: "redirect-308", Category: CategoryRedirect, Severity: Info,
			Message: fmt.Sprintf("%s answers a GET with 308, which some old clients (Internet Explorer on Windows 7, Android 4) do not follow; 301 works everywhere", strings.Join(permanent308, ", ")),
			Fix:     "forcehttps.Config{RedirectStatus: http.StatusMovedPermanently} (the default) · edge YAML: redirect: {status: 301}",
		})
	}
	if redirects > 3 {
		a.add(Finding{
			ID: "redirect-many-hops", Category: CategoryRedirect, Severity: Info,
			Message: fmt.Sprintf("%d redirects from %s to the final page; hstspreload.org warns above 3", redirects, start),
			Fix:     "redirect straight to the final HTTPS URL",
		})
	}

	// The HTTPS site must not send visitors back to plain HTTP.
	for i := range a.https.Hops {
		if h := &a.https.Hops[i]; !h.secure() {
			a.add(Finding{
				ID: "redirect-https-to-http", Category: CategoryRedirect, Severity: Fail, Modifier: -20,
				Message: fmt.Sprintf("%s redirects back to plain HTTP: %s", a.https.Start, h.URL),
				Fix:     "make every redirect target https; behind a proxy, let the app see https: forcehttps.Config{Trust: <your platform's preset>}",
			})
			break
		}
	}
	// Certificates of other hosts met on the way; the audited host's own
	// certificate is judged in the TLS category.
	var bad []string
	for _, h := range a.hops() {
		if h.secure() && h.CertError != "" && !a.sameHost(h) && !slices.Contains(bad, h.url.Host) {
			bad = append(bad, h.url.Host)
			a.add(Finding{
				ID: "redirect-invalid-cert", Category: CategoryRedirect, Severity: Fail, Modifier: -20,
				Message: fmt.Sprintf("the redirects reach %s, whose certificate does not verify: %s", h.URL, h.CertError),
				Fix:     "serve a valid certificate on every host of the redirect chain",
			})
		}
	}
}

// hstsFix is the fix for a missing or weak HSTS policy.
const hstsFix = "Strict-Transport-Security: max-age=31536000 (forcehttps sends it unless DisableHSTS) · forcehttps.Config{HSTSMaxAge: 365 * 24 * time.Hour} · edge YAML: hsts: {max_age: 31536000}"

func (a *analysis) hstsFindings() {
	f := Finding{Category: CategoryHSTS, Fix: hstsFix}
	fin := a.final
	switch {
	case !fin.secure():
		f.ID, f.Severity, f.Modifier = "hsts-missing", Fail, -20
		f.Message = fmt.Sprintf("the final response (%s) is plain HTTP, so it cannot set HSTS", fin.URL)
	case len(fin.HSTS) == 0:
		f.ID, f.Severity, f.Modifier = "hsts-missing", Fail, -20
		f.Message = fmt.Sprintf("%s sends no Strict-Transport-Security header", fin.URL)
	case len(fin.HSTS) > 1:
		f.ID, f.Severity, f.Modifier = "hsts-multiple", Fail, -20
		f.Message = fmt.Sprintf("%s sends %d Strict-Transport-Security headers (%s); RFC 6797 §7.1 allows exactly one and hstspreload.org rejects more", fin.URL, len(fin.HSTS), quoteList(fin.HSTS))
		f.Fix = "send exactly one header: set HSTS in one place (the forcehttps edge keeps the app's own header if it sends one)"
	default:
		h, err := forcehttps.ParseHSTS(fin.HSTS[0])
		switch {
		case err != nil:
			f.ID, f.Severity, f.Modifier = "hsts-invalid", Fail, -20
			f.Message = fmt.Sprintf("Strict-Transport-Security %q is invalid (%v); browsers ignore it", clip(fin.HSTS[0]), err)
		case h.MaxAge == 0:
			f.ID, f.Severity, f.Modifier = "hsts-revoked", Fail, -20
			f.Message = "Strict-Transport-Security is max-age=0: the policy is revoked and browsers forget it"
			f.Fix = "if the site stays on HTTPS, stop revoking: forcehttps.Config{HSTSRevoke: false} · edge YAML: hsts: {revoke: false}"
		case h.MaxAge < HSTSSixMonths:
			f.ID, f.Severity, f.Modifier = "hsts-short", Warn, -10
			f.Message = fmt.Sprintf("Strict-Transport-Security max-age=%d (%s) is under six months", h.MaxAge, humanAge(h.MaxAge))
		case h.MaxAge < HSTSOneYear:
			f.ID, f.Severity = "hsts-under-one-year", Info
			f.Message = fmt.Sprintf("Strict-Transport-Security max-age=%d (%s) is enough for the grade; one year is recommended and required for preload", h.MaxAge, humanAge(h.MaxAge))
		default:
			f.ID, f.Severity, f.Fix = "hsts-ok", Pass, ""
			f.Message = fmt.Sprintf("Strict-Transport-Security: %s (%s)", h, humanAge(h.MaxAge))
		}
		if err == nil {
			a.hsts, a.hstsValid = h, true
		}
	}
	a.add(f)
	if a.hstsValid && a.hsts.MaxAge > 0 && !a.hsts.IncludeSubDomains {
		a.add(Finding{
			ID: "hsts-no-include-subdomains", Category: CategoryHSTS, Severity: Info,
			Message: "HSTS does not cover subdomains (no includeSubDomains)",
			Fix:     "once every subdomain serves HTTPS: forcehttps.Config{HSTSIncludeSubDomains: true} · edge YAML: hsts: {include_subdomains: true}",
		})
	}

	var overHTTP, redirectsWithout []string
	for _, h := range a.hops() {
		switch {
		case !h.secure() && len(h.HSTS) > 0:
			if !slices.Contains(overHTTP, h.URL) {
				overHTTP = append(overHTTP, h.URL)
			}
		case h.secure() && isRedirect(h.Status) && a.sameHost(h) && !validHSTS(h.HSTS):
			if !slices.Contains(redirectsWithout, h.URL) {
				redirectsWithout = append(redirectsWithout, h.URL)
			}
		}
	}
	if len(overHTTP) > 0 {
		a.add(Finding{
			ID: "hsts-over-http", Category: CategoryHSTS, Severity: Warn,
			Message: fmt.Sprintf("Strict-Transport-Security is sent over plain HTTP by %s, where browsers ignore it (RFC 6797 §8.1; hstspreload.org: useless header)", strings.Join(overHTTP, ", ")),
			Fix:     "send HSTS only over HTTPS (forcehttps does, and removes it from plain-HTTP responses)",
		})
	}
	if len(redirectsWithout) > 0 {
		a.add(Finding{
			ID: "hsts-redirect-missing", Category: CategoryHSTS, Severity: Warn,
			Message: fmt.Sprintf("the HTTPS redirect %s carries no valid HSTS header: a browser that only passes through it is not pinned, and hstspreload.org requires it", strings.Join(redirectsWithout, ", ")),
			Fix:     "send HSTS on HTTPS redirects too: forcehttps' Handler adds it to every HTTPS response, redirects included",
		})
	}
	if a.hstsValid && a.hsts.Preload {
		a.preload(len(redirectsWithout) > 0)
	}
}

// validHSTS reports whether lines is exactly one valid HSTS header with a
// positive max-age.
func validHSTS(lines []string) bool {
	if len(lines) != 1 {
		return false
	}
	h, err := forcehttps.ParseHSTS(lines[0])
	return err == nil && h.MaxAge > 0
}

// preload checks hstspreload.org's submission requirements that can be
// checked from here.
func (a *analysis) preload(redirectsWithoutHSTS bool) {
	var why []string
	if len(a.http.Hops) > 0 {
		c := a.http
		if !isRedirect(c.Hops[0].Status) || len(c.Hops) < 2 || !c.Hops[1].secure() || !a.sameHost(&c.Hops[1]) {
			why = append(why, fmt.Sprintf("%s must redirect to https://%s first", c.Start, a.host()))
		}
	}
	if !a.tls.Verified {
		why = append(why, "the certificate must be valid")
	}
	if len(a.https.Hops) == 0 {
		why = append(why, fmt.Sprintf("%s must answer", a.https.Start))
	} else if first := &a.https.Hops[0]; !validHSTS(first.HSTS) {
		why = append(why, fmt.Sprintf("%s must send one valid HSTS header", first.URL))
	} else {
		h, _ := forcehttps.ParseHSTS(first.HSTS[0])
		if h.MaxAge < HSTSOneYear {
			why = append(why, fmt.Sprintf("max-age must be at least %d", HSTSOneYear))
		}
		if !h.IncludeSubDomains {
			why = append(why, "includeSubDomains is required")
		}
		if !h.Preload {
			why = append(why, fmt.Sprintf("%s must include the preload directive", first.URL))
		}
	}
	if redirectsWithoutHSTS {
		why = append(why, "HTTPS redirects must carry HSTS")
	}
	if _, err := netip.ParseAddr(a.host()); err == nil {
		why = append(why, "IP addresses cannot be preloaded")
	} else if apex, err := publicsuffix.EffectiveTLDPlusOne(a.host()); err != nil || apex != a.host() {
		why = append(why, "only registrable domains can be submitted, not subdomains")
	}
	f := Finding{ID: "hsts-preload-ready", Category: CategoryHSTS, Severity: Pass,
		Message: "preload is requested and the hstspreload.org requirements checked here are met; every subdomain must serve HTTPS too"}
	if len(why) > 0 {
		f.ID, f.Severity = "hsts-preload-not-ready", Warn
		f.Message = "preload is requested but hstspreload.org would refuse it: " + strings.Join(why, "; ")
		f.Fix = "forcehttps.Config{HSTSMaxAge: 365 * 24 * time.Hour, HSTSIncludeSubDomains: true, HSTSPreload: true} · edge YAML: hsts: {max_age: 31536000, include_subdomains: true, preload: true}"
	}
	a.add(f)
}

// humanAge formats a max-age for people: "1 year", "6 months", "5 minutes".
func humanAge(s int64) string {
	const day = 86400
	switch {
	case s >= 365*day:
		return plural(s/(365*day), "year")
	case s >= 30*day:
		return plural(s/(30*day), "month")
	case s >= 7*day:
		return plural(s/(7*day), "week")
	case s >= day:
		return plural(s/day, "day")
	case s >= 3600:
		return plural(s/3600, "hour")
	case s >= 60:
		return plural(s/60, "minute")
	}
	return plural(s, "second")
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// quoteList formats untrusted values for a message, clipped.
func quoteList(vs []string) string {
	q := make([]string, 0, len(vs))
	for i, v := range vs {
		if i == 5 {
			q = append(q, fmt.Sprintf("and %d more", len(vs)-5))
			break
		}
		q = append(q, fmt.Sprintf("%q", clip(v)))
	}
	return strings.Join(q, ", ")
}

// suiteFix is the fix for weak cipher suites.
const suiteFix = "accept only ECDHE key exchange with AES-GCM or ChaCha20-Poly1305, as the forcehttps edge does; on a Go server list them in tls.Config.CipherSuites (Go's default also accepts ECDHE with AES-CBC)"

// suiteFindings adds one finding per weak cipher suite the server accepts
// with TLS 1.0 to 1.2, naming the versions, and returns how many.
func (a *analysis) suiteFindings(add func(Finding)) int {
	var names []string
	versions := map[string][]string{}
	for _, v := range a.tls.Versions {
		if v.Name == "TLS 1.3" {
			continue
		}
		for _, s := range v.Suites {
			if _, seen := versions[s]; !seen {
				names = append(names, s)
			}
			versions[s] = append(versions[s], v.Name)
		}
	}
	n := 0
	for _, name := range names {
		w := classifySuite(name)
		if w.id == "" {
			continue
		}
		n++
		if w.cap == GradeC && slices.Equal(versions[name], []string{"TLS 1.0"}) {
			w.cap = GradeB // SSL Labs: RC4 and 3DES cap at C with TLS 1.1 or newer
		}
		add(Finding{ID: w.id, Severity: w.severity, Cap: w.cap,
			Message: fmt.Sprintf("the server accepts %s with %s: %s", name, strings.Join(versions[name], ", "), w.why),
			Fix:     suiteFix})
	}
	return n
}

// bestPre13 returns the newest version below TLS 1.3 the server accepts,
// or nil.
func (a *analysis) bestPre13() *TLSVersion {
	var best *TLSVersion
	for i := range a.tls.Versions {
		if v := &a.tls.Versions[i]; v.Offered && v.Name != "TLS 1.3" && v.Negotiated != "" {
			best = v
		}
	}
	return best
}

func (a *analysis) tlsFindings() {
	add := func(f Finding) {
		f.Category = CategoryTLS
		a.add(f)
	}
	t := a.tls
	if a.state == nil {
		// Nothing answers HTTPS: the first thing Force HTTPS is about.
		add(Finding{ID: "tls-no-https", Severity: Fail, Cap: GradeF,
			Message: fmt.Sprintf("nothing answers HTTPS on %s (%s): the site is served over plain HTTP only, so every page, password and cookie crosses the network in clear", t.Address, t.Error),
			Fix:     "serve HTTPS with a certificate for the name, then redirect plain HTTP to it: the forcehttps edge does both (ACME: edge YAML tls: {acme: {email: ...}}, force_https: true)"})
		return
	}
	offered := map[string]bool{}
	for _, v := range t.Versions {
		offered[v.Name] = v.Offered
	}
	var legacy []string
	for _, v := range []string{"TLS 1.0", "TLS 1.1"} {
		if offered[v] {
			legacy = append(legacy, v)
		}
	}
	modern := offered["TLS 1.2"] || offered["TLS 1.3"]
	if len(legacy) > 0 {
		add(Finding{ID: "tls-legacy-version", Severity: Fail, Cap: GradeB,
			Message: fmt.Sprintf("the server accepts %s, which browsers dropped in 2020 (SSL Labs caps such servers at B)", strings.Join(legacy, " and ")),
			Fix:     "accept TLS 1.2 and 1.3 only: tls.Config{MinVersion: tls.VersionTLS12} (the forcehttps edge's setting)"})
	}
	switch {
	case !modern:
		add(Finding{ID: "tls-no-modern-version", Severity: Fail, Cap: GradeC,
			Message: "the server accepts neither TLS 1.2 nor TLS 1.3",
			Fix:     "enable TLS 1.2 and 1.3: Go servers do with the zero tls.Config"})
	case !offered["TLS 1.3"]:
		add(Finding{ID: "tls-no-tls13", Severity: Info,
			Message: "the server does not accept TLS 1.3",
			Fix:     "enable TLS 1.3: Go servers do unless tls.Config.MaxVersion is set"})
	}
	if len(legacy) == 0 && modern {
		var vs []string
		for _, v := range []string{"TLS 1.2", "TLS 1.3"} {
			if offered[v] {
				vs = append(vs, v)
			}
		}
		add(Finding{ID: "tls-versions-ok", Severity: Pass,
			Message: fmt.Sprintf("the server accepts %s only", strings.Join(vs, " and "))})
	}

	weakSuites := a.suiteFindings(add)
	defaultWhy, insecure := cipherWeakness(a.state.Version, a.state.CipherSuite)
	if defaultWhy != "" {
		sev := Warn
		if insecure {
			sev = Fail
		}
		add(Finding{ID: "tls-cipher-weak", Severity: sev, Cap: GradeB,
			Message: fmt.Sprintf("a default handshake negotiated %s with %s: %s", t.Version, t.CipherSuite, defaultWhy),
			Fix:     suiteFix})
	}
	// SSL Labs caps at B a server that does not give forward secrecy and
	// AEAD to the clients that can do better; a client limited to the
	// best version below TLS 1.3 stands for them.
	if v := a.bestPre13(); v != nil && !(defaultWhy != "" && t.Version == v.Name) {
		if w := classifySuite(v.Negotiated); w.id != "" {
			add(Finding{ID: "tls-weak-preferred", Severity: Fail, Cap: GradeB,
				Message: fmt.Sprintf("a %s client offering ECDHE with AES-GCM first gets %s: %s", v.Name, v.Negotiated, w.why),
				Fix:     suiteFix})
			weakSuites++
		}
	}
	if defaultWhy == "" && weakSuites == 0 {
		add(Finding{ID: "tls-cipher-ok", Severity: Pass,
			Message: fmt.Sprintf("a default handshake negotiated %s with %s, and every cipher suite accepted has forward secrecy and authenticated encryption", t.Version, t.CipherSuite)})
	}

	if len(a.state.PeerCertificates) > 0 {
		if desc, weak := keyStrength(a.state.PeerCertificates[0].PublicKey); weak {
			add(Finding{ID: "tls-key-weak", Severity: Fail, Cap: GradeB,
				Message: fmt.Sprintf("the certificate key is %s, too weak", desc),
				Fix:     "use an ECDSA P-256 or RSA 2048-bit key (ACME clients such as the forcehttps edge do)"})
		}
	}

	problems := verifyChain(a.state.PeerCertificates, a.host(), a.opts.RootCAs, a.now)
	for _, p := range problems {
		f := Finding{ID: p.id, Severity: Fail, Cap: GradeF, Message: p.err.Error(), Fix: certFix(p.id, a.host())}
		if a.opts.Insecure {
			f.Severity, f.Cap = Warn, ""
			f.Message += " (not graded: certificate verification is off)"
		}
		add(f)
	}
	if c := t.Certificate; c != nil {
		if len(problems) == 0 {
			add(Finding{ID: "tls-cert-ok", Severity: Pass,
				Message: fmt.Sprintf("the certificate is valid for %s, issued by %s, until %s (%d days)", a.host(), c.Issuer, c.NotAfter.Format(time.DateOnly), c.DaysLeft)})
		}
		if c.DaysLeft >= 0 && c.DaysLeft < 14 {
			add(Finding{ID: "tls-cert-expiring", Severity: Warn,
				Message: fmt.Sprintf("the certificate expires in %d days, on %s", c.DaysLeft, c.NotAfter.Format(time.DateOnly)),
				Fix:     "renew it now, and automate renewal (ACME: edge YAML tls: {acme: {email: ...}})"})
		}
	}
	if t.OCSPStapled {
		add(Finding{ID: "tls-ocsp-stapled", Severity: Pass, Message: "an OCSP response is stapled to the handshake"})
	} else {
		add(Finding{ID: "tls-ocsp-not-stapled", Severity: Info,
			Message: "no OCSP response is stapled (normal for certificate authorities that stopped OCSP, such as Let's Encrypt in 2025)"})
	}
}

// certFix is the fix line for a certificate problem.
func certFix(id, host string) string {
	switch id {
	case "tls-cert-expired":
		return "renew the certificate, and automate renewal (ACME: edge YAML tls: {acme: {email: ...}})"
	case "tls-cert-not-yet-valid":
		return "check the server's clock and the certificate's validity dates"
	case "tls-cert-name-mismatch":
		return fmt.Sprintf("get a certificate that names %s (edge YAML: list it in the app's domains so ACME covers it)", host)
	}
	return "serve a certificate from a public CA with its intermediates (for a private CA, audit with --ca FILE)"
}

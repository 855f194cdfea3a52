package forcehttps

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// DefaultHSTSMaxAge is the max-age sent when Config.HSTSMaxAge is zero: one
// year, what hstspreload.org requires and SSL Labs rewards.
const DefaultHSTSMaxAge = 365 * 24 * time.Hour

// ACMEChallengePrefix is the path prefix of ACME HTTP-01 challenges
// (RFC 8555 §8.3). It is exempt from the redirect unless
// Config.DisableACMEExemption is set, because a certificate authority
// validating a domain must reach it over plain HTTP.
const ACMEChallengePrefix = "/.well-known/acme-challenge/"

// Config configures a [Middleware]. Its zero value is the secure behaviour:
// no forwarding header trusted, plain HTTP redirected to HTTPS for the
// allowed hosts (none, so every plain-HTTP request but the exemptions is
// refused until AllowedHosts is set), HSTS for one year on every HTTPS
// response, and the default security headers. Every field's comment says
// what its zero value does.
type Config struct {
	// Trust is the platform preset that says which peers are proxies and
	// which headers they use. Zero: PresetNone, no peer trusted.
	Trust Preset

	// TrustedProxies lists the addresses (CIDR prefixes such as
	// "10.0.0.0/8", or single addresses) of the proxies whose forwarding
	// headers are believed, in addition to the preset's. Zero: only the
	// preset's. A peer outside every range, with a preset that does not
	// trust any peer, is a client: its forwarding headers are ignored.
	TrustedProxies []string

	// ProtoHeaders names the headers a trusted proxy uses to say which
	// scheme the client used, in order of preference; see [ProtoHeaders]
	// for the supported names. When several are present they must agree.
	// Zero: the preset's headers, or X-Forwarded-Proto and Forwarded when
	// TrustedProxies is set with PresetNone.
	ProtoHeaders []string

	// AllowedHosts lists the hosts this app serves: exact names ("example.com"),
	// one-label wildcards ("*.example.com"), IP addresses; any port.
	// Matching ignores case and a trailing dot, and compares
	// internationalized names in their punycode form. A plain-HTTP request
	// for any other host is refused with 400 instead of redirected, because
	// a redirect to an unvalidated host is an open redirect and a cache
	// poisoning risk. Zero: no host allowed (see AllowAnyHost).
	AllowedHosts []string

	// AllowAnyHost redirects to any syntactically valid Host the client
	// sent. It is dangerous: a shared cache in front of the app may store
	// a redirect to a host an attacker chose. Use it only where the
	// platform itself validates Host. Zero: AllowedHosts decides.
	AllowAnyHost bool

	// HTTPSPort is the port the redirect points to. Zero: 443, which the
	// Location leaves out. The port of the plain-HTTP request is never
	// copied.
	HTTPSPort int

	// RedirectStatus is the status of redirects for GET and HEAD: 301, 302,
	// 307 or 308. Zero: 301, or 302 when Temporary is set.
	RedirectStatus int

	// UnsafeMethodStatus is the status for other methods: 307 or 308 (which
	// keep the method and body), or 403 or 426 to refuse instead. Zero:
	// 308, or 307 when Temporary is set.
	UnsafeMethodStatus int

	// Temporary makes the default statuses 302 and 307, which browsers do
	// not cache: use it while testing. Zero: permanent (301 and 308).
	Temporary bool

	// RefuseCredentialsStatus, when 403 or 426, refuses a plain-HTTP request
	// with an unsafe method that carried an Authorization header or a
	// cookie, instead of redirecting it: the secret has already crossed the
	// network in clear, and a redirect would hide that from the client.
	// Zero: such requests are redirected like the others.
	RefuseCredentialsStatus int

	// SoftUpgrade redirects only navigations that announce HTTPS support
	// with "Upgrade-Insecure-Requests: 1" and serves other plain-HTTP
	// requests as they are, with "Vary: Upgrade-Insecure-Requests". Zero:
	// every plain-HTTP request is redirected.
	SoftUpgrade bool

	// ExemptPaths lists path prefixes served over plain HTTP without
	// redirect or host check, such as health checks ("/healthz"). A prefix
	// ending in "/" matches everything below it; otherwise it matches the
	// path itself and what lies below it ("/healthz" matches "/healthz" and
	// "/healthz/db", not "/healthzx"). Paths with dot segments or empty
	// segments never match. Zero: none besides the ACME challenge path.
	ExemptPaths []string

	// ExemptUserAgents lists User-Agent prefixes of probes served over
	// plain HTTP, such as "kube-probe/", "GoogleHC/" or "ELB-HealthChecker/".
	// Zero: none.
	ExemptUserAgents []string

	// ExemptLoopback serves plain-HTTP requests from loopback peers
	// (127.0.0.0/8, ::1), such as a sidecar's probes, without redirect.
	// Zero: loopback peers are redirected like any other.
	ExemptLoopback bool

	// DisableACMEExemption redirects ACME HTTP-01 challenges too. Zero:
	// paths under ACMEChallengePrefix are served over plain HTTP.
	DisableACMEExemption bool

	// IncludeDevHosts redirects and sends HSTS for localhost, *.localhost
	// and IP-literal hosts too. Zero: those hosts get neither, so a
	// developer's browser never pins localhost to HTTPS.
	IncludeDevHosts bool

	// DisableRedirect never redirects: plain-HTTP requests are served, and
	// only HSTS and the security headers apply. Zero: redirect.
	DisableRedirect bool

	// HSTSMaxAge is the max-age of the Strict-Transport-Security header, in
	// whole seconds. Zero: DefaultHSTSMaxAge (one year).
	HSTSMaxAge time.Duration

	// HSTSIncludeSubDomains adds includeSubDomains. Zero: off, because a
	// platform rarely owns every subdomain of its customers' domains.
	HSTSIncludeSubDomains bool

	// HSTSPreload adds preload. New refuses it unless HSTSMaxAge is at least
	// one year and HSTSIncludeSubDomains is set (hstspreload.org's rules).
	// Zero: off; preloading is hard to undo.
	HSTSPreload bool

	// HSTSRevoke sends "max-age=0", the only way to make browsers forget an
	// HSTS pin; use it for a while before turning HTTPS off. Zero: the
	// policy above.
	HSTSRevoke bool

	// HSTSRampFrom, when set, ramps max-age up from the time Force HTTPS
	// was enabled: 300 s for a day, one week until day 8, 30 days until
	// day 38, then HSTSMaxAge (see [RampMaxAge]). preload is sent only at
	// the last stage. Zero: HSTSMaxAge from the start.
	HSTSRampFrom time.Time

	// DisableHSTS sends no Strict-Transport-Security header. Zero: HSTS on
	// every HTTPS response, redirects and errors included.
	DisableHSTS bool

	// SecurityHeaders overrides the default security headers (see
	// [DefaultSecurityHeaders]): a key with a value replaces or adds that
	// header, a key with an empty value removes it. A "{nonce}" in
	// Content-Security-Policy is replaced by a fresh nonce per response,
	// which handlers read with [Nonce]. Zero: the defaults.
	SecurityHeaders map[string]string

	// DisableSecurityHeaders sends none of the default security headers;
	// SecurityHeaders entries are still sent. Zero: the defaults are sent.
	DisableSecurityHeaders bool

	// DisableSecureCookies leaves Set-Cookie headers of HTTPS responses as
	// the handler wrote them. Zero: the Secure attribute is added to every
	// cookie set over HTTPS that lacks it.
	DisableSecureCookies bool

	// Logger receives configuration warnings and, at debug level, every
	// decision. Zero: slog.Default().
	Logger *slog.Logger

	// Now returns the current time, for the HSTS ramp. Zero: time.Now.
	Now func() time.Time
}

// FieldError is a configuration error about one field.
type FieldError struct {
	Field string // the Config field, with an index for list entries
	Value string // the offending value, if any
	Err   error  // what is wrong
}

// Error formats the error as `field "value": reason`.
func (e *FieldError) Error() string {
	if e.Value == "" {
		return e.Field + ": " + e.Err.Error()
	}
	return fmt.Sprintf("%s %q: %v", e.Field, e.Value, e.Err)
}

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }

// Configuration errors that callers can test with errors.Is.
var (
	// ErrUnknownPreset means Config.Trust names no preset.
	ErrUnknownPreset = errors.New("unknown preset")
	// ErrInvalidProxy means a TrustedProxies entry is not an address or prefix.
	ErrInvalidProxy = errors.New("not an IP address or CIDR prefix")
	// ErrNeedsTrustedProxies means the preset needs explicit TrustedProxies.
	ErrNeedsTrustedProxies = errors.New("this preset needs TrustedProxies")
	// ErrUnknownHeader means a ProtoHeaders entry is not supported.
	ErrUnknownHeader = errors.New("unsupported scheme header")
	// ErrInvalidStatus means a status code is not allowed for that field.
	ErrInvalidStatus = errors.New("status not allowed here")
	// ErrPreload means HSTSPreload is set without its requirements.
	ErrPreload = errors.New("preload needs max-age of at least one year and includeSubDomains")
	// ErrInvalidMaxAge means HSTSMaxAge is negative or not whole seconds.
	ErrInvalidMaxAge = errors.New("max-age must be a non-negative whole number of seconds")
	// ErrInvalidHeader means a SecurityHeaders entry is not a valid header.
	ErrInvalidHeader = errors.New("invalid header")
	// ErrInvalidPath means an ExemptPaths entry is not an absolute, clean path.
	ErrInvalidPath = errors.New("path must start with / and have no dot or empty segments")
)

// Middleware enforces HTTPS as its Config says. Build it with [New]; it is
// safe for concurrent use and immutable.
type Middleware struct {
	cfg        Config // a copy, for Config()
	anyPeer    bool
	trusted    []netip.Prefix // trusted proxy ranges, for the peer and for hops
	sources    []source
	sourceHdrs []string
	hosts      hostMatcher

	httpsPort    string // "" for 443
	getStatus    int
	otherStatus  int
	credStatus   int
	acmeExempt   bool
	exemptPaths  []string
	exemptUAs    []string
	hsts         hstsPolicy
	headers      []headerValue // security headers, precomputed
	nonceCSP     *nonceTemplate
	secureCookie bool
	logger       *slog.Logger
	now          func() time.Time
	warn         rateLimiter
}

// New validates cfg and builds a Middleware. It reports every problem at
// once, as *FieldError values joined with errors.Join, and never panics.
func New(cfg Config) (*Middleware, error) {
	m := &Middleware{cfg: cfg}
	var errs []error
	add := func(field, value string, err error) {
		errs = append(errs, &FieldError{Field: field, Value: value, Err: err})
	}

	preset := cfg.Trust
	if preset == "" {
		preset = PresetNone
	}
	def, ok := presets[preset]
	if !ok {
		add("Trust", string(cfg.Trust), fmt.Errorf("%w (want one of %s)", ErrUnknownPreset, presetList()))
	}
	m.anyPeer = def.anyPeer
	for _, r := range def.ranges {
		m.trusted = append(m.trusted, netip.MustParsePrefix(r))
	}
	for i, s := range cfg.TrustedProxies {
		p, err := parsePrefix(s)
		if err != nil {
			add(fmt.Sprintf("TrustedProxies[%d]", i), s, ErrInvalidProxy)
			continue
		}
		m.trusted = append(m.trusted, p)
	}
	if def.needsRanges && len(cfg.TrustedProxies) == 0 {
		add("TrustedProxies", "", fmt.Errorf("%w: preset %q", ErrNeedsTrustedProxies, preset))
	}
	headers := def.headers
	if len(cfg.ProtoHeaders) > 0 {
		headers = cfg.ProtoHeaders
	} else if len(headers) == 0 && len(cfg.TrustedProxies) > 0 {
		headers = []string{hdrXFP, hdrForwarded}
	}
	for i, h := range headers {
		canon := http.CanonicalHeaderKey(strings.TrimSpace(h))
		src, ok := protoHeaders[canon]
		if !ok {
			add(fmt.Sprintf("ProtoHeaders[%d]", i), h, fmt.Errorf("%w (want one of %s)", ErrUnknownHeader, strings.Join(ProtoHeaders(), ", ")))
			continue
		}
		m.sources = append(m.sources, src)
		m.sourceHdrs = append(m.sourceHdrs, canon)
	}

	if cfg.AllowAnyHost {
		m.hosts = hostMatcher{any: true}
	}
	hm, herrs := newHostMatcher("AllowedHosts", cfg.AllowedHosts)
	errs = append(errs, herrs...)
	if !cfg.AllowAnyHost {
		m.hosts = hm
	}

	switch {
	case cfg.HTTPSPort == 0 || cfg.HTTPSPort == 443:
	case cfg.HTTPSPort < 0 || cfg.HTTPSPort > 65535:
		add("HTTPSPort", fmt.Sprint(cfg.HTTPSPort), errors.New("port out of range"))
	default:
		m.httpsPort = fmt.Sprint(cfg.HTTPSPort)
	}

	m.getStatus, m.otherStatus = http.StatusMovedPermanently, http.StatusPermanentRedirect
	if cfg.Temporary {
		m.getStatus, m.otherStatus = http.StatusFound, http.StatusTemporaryRedirect
	}
	if s := cfg.RedirectStatus; s != 0 {
		if s != 301 && s != 302 && s != 307 && s != 308 {
			add("RedirectStatus", fmt.Sprint(s), fmt.Errorf("%w: want 301, 302, 307 or 308", ErrInvalidStatus))
		}
		m.getStatus = s
	}
	if s := cfg.UnsafeMethodStatus; s != 0 {
		if s != 307 && s != 308 && s != 403 && s != 426 {
			add("UnsafeMethodStatus", fmt.Sprint(s), fmt.Errorf("%w: want 307 or 308 (301 and 302 turn POST into GET), or 403 or 426", ErrInvalidStatus))
		}
		m.otherStatus = s
	}
	if s := cfg.RefuseCredentialsStatus; s != 0 && s != 403 && s != 426 {
		add("RefuseCredentialsStatus", fmt.Sprint(s), fmt.Errorf("%w: want 403 or 426", ErrInvalidStatus))
	}
	m.credStatus = cfg.RefuseCredentialsStatus

	m.acmeExempt = !cfg.DisableACMEExemption
	for i, p := range cfg.ExemptPaths {
		if !strings.HasPrefix(p, "/") || !isCleanPath(p) {
			add(fmt.Sprintf("ExemptPaths[%d]", i), p, ErrInvalidPath)
			continue
		}
		m.exemptPaths = append(m.exemptPaths, p)
	}
	for i, ua := range cfg.ExemptUserAgents {
		if strings.TrimSpace(ua) == "" {
			add(fmt.Sprintf("ExemptUserAgents[%d]", i), ua, errors.New("empty prefix would exempt every client"))
			continue
		}
		m.exemptUAs = append(m.exemptUAs, ua)
	}

	hp, herr := newHSTSPolicy(cfg)
	errs = append(errs, herr...)
	m.hsts = hp

	hdrs, nonce, serr := buildSecurityHeaders(cfg)
	errs = append(errs, serr...)
	m.headers, m.nonceCSP = hdrs, nonce
	m.secureCookie = !cfg.DisableSecureCookies

	m.logger = cfg.Logger
	if m.logger == nil {
		m.logger = slog.Default()
	}
	m.now = cfg.Now
	if m.now == nil {
		m.now = time.Now
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("forcehttps: invalid config: %w", errors.Join(errs...))
	}
	if len(cfg.AllowedHosts) == 0 && !cfg.AllowAnyHost && !cfg.DisableRedirect {
		m.logger.Warn("forcehttps: AllowedHosts is empty: plain-HTTP requests will be refused with 400 instead of redirected; list the hosts this app serves")
	}
	return m, nil
}

// Config returns the configuration the middleware was built from.
func (m *Middleware) Config() Config { return m.cfg }

// parsePrefix parses a CIDR prefix or a single address, masked.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return unmapPrefix(p.Masked())
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// unmapPrefix turns a masked IPv4-mapped IPv6 prefix (::ffff:10.0.0.0/104)
// into its IPv4 form: peers are compared unmapped, so the mapped form would
// never match. (A masked prefix shorter than /96 is never IPv4-mapped.)
func unmapPrefix(p netip.Prefix) (netip.Prefix, error) {
	if !p.Addr().Is4In6() {
		return p, nil
	}
	return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96), nil
}

func presetList() string {
	var b strings.Builder
	for i, p := range Presets() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(p))
	}
	return b.String()
}

// isCleanPath reports whether p has no empty, "." or ".." segments (a
// trailing "/" is allowed), and no ";" or "\\". Exemptions match only clean
// paths, so that "/healthz/../admin" cannot ride on a "/healthz"
// exemption, nor "/healthz/..;/admin" or "/healthz/..\\admin", which servlet
// containers and IIS resolve to "/admin".
func isCleanPath(p string) bool {
	if p == "" || p[0] != '/' || strings.ContainsAny(p, ";\\") {
		return false
	}
	seg := p[1:]
	for {
		i := strings.IndexByte(seg, '/')
		s := seg
		if i >= 0 {
			s = seg[:i]
		}
		if s == "." || s == ".." || (s == "" && i >= 0) {
			return false
		}
		if i < 0 {
			return true
		}
		seg = seg[i+1:]
	}
}

package audit

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/forcehttps/forcehttps"
)

// SchemaVersion is the version of the JSON report ([Report.SchemaVersion]).
// It changes only when a field is removed or changes meaning; new fields
// and new finding IDs may appear within a version.
const SchemaVersion = 1

// Defaults for the zero fields of [Options].
const (
	DefaultTimeout        = 10 * time.Second
	DefaultMaxRedirects   = 10
	DefaultMaxHeaderBytes = 128 << 10
)

// Errors returned by [Run] when the site cannot be audited. They are
// wrapped with the URL or address concerned.
var (
	// ErrUnreachable means a connection could not be made: DNS failure,
	// connection refused, no route.
	ErrUnreachable = errors.New("unreachable")
	// ErrTimeout means a connection, handshake or response took longer
	// than Options.Timeout, or the whole audit longer than
	// Options.TotalTimeout.
	ErrTimeout = errors.New("timed out")
	// ErrHandshake means every TLS handshake failed.
	ErrHandshake = errors.New("TLS handshake failed")
	// ErrResponse means a response could not be read: malformed, headers
	// larger than Options.MaxHeaderBytes, connection closed.
	ErrResponse = errors.New("bad response")
	// ErrRedirects means a redirect chain was longer than
	// Options.MaxRedirects, or the HTTPS site redirects in a loop.
	ErrRedirects = errors.New("redirects do not end")
)

// Options configures [Run]. Only Target is required.
type Options struct {
	// Target is the site to audit, usually from [ParseTarget].
	Target Target

	// Resolve maps host names (normalised, as in [Target.Host]) to the
	// address to connect to instead of resolving them, like curl's
	// --resolve: it audits a server before DNS points to it. A key is a
	// host, for every port, or a host:port (net.JoinHostPort), for that
	// port only, which wins over the host's entry. The TLS server name and
	// the Host header stay the name. Zero: DNS for every host.
	Resolve map[string]netip.Addr

	// RootCAs are the certificate authorities the certificate chain is
	// verified against. Zero: the system roots.
	RootCAs *x509.CertPool

	// Insecure still reports certificate problems but does not let them
	// cap the grade, for staging sites with private certificates. The
	// audit never refuses to talk to a server because of its certificate,
	// since judging it is the point. Zero: an invalid certificate caps the
	// grade at F.
	Insecure bool

	// Timeout bounds each connection, TLS handshake and response. Zero:
	// DefaultTimeout.
	Timeout time.Duration

	// TotalTimeout bounds the whole audit. Zero: six times Timeout.
	TotalTimeout time.Duration

	// MaxRedirects is the number of redirects followed in each chain
	// before giving up with ErrRedirects. Zero: DefaultMaxRedirects.
	MaxRedirects int

	// MaxHeaderBytes bounds the size of the response headers read. Zero:
	// DefaultMaxHeaderBytes.
	MaxHeaderBytes int64

	// DialContext makes the TCP connections, after Resolve has been
	// applied to the address. Zero: a net.Dialer. Tests inject one that
	// only reaches loopback.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// Now returns the current time, used to judge certificate validity
	// and stamp the report. Zero: time.Now.
	Now func() time.Time

	// Logger receives one debug record per request and handshake. Zero:
	// slog.Default().
	Logger *slog.Logger
}

// withDefaults returns a copy of o with the zero fields filled in, or an
// error if o cannot be used.
func (o Options) withDefaults() (Options, error) {
	if o.Target.Host == "" {
		return o, fmt.Errorf("%w: no host", ErrTarget)
	}
	h, err := forcehttps.NormalizeHost(o.Target.Host)
	if err != nil {
		return o, fmt.Errorf("%w: invalid host %q", ErrTarget, o.Target.Host)
	}
	o.Target.Host = h
	if o.Target.HTTPPort < 0 || o.Target.HTTPPort > 65535 || o.Target.HTTPSPort < 0 || o.Target.HTTPSPort > 65535 {
		return o, fmt.Errorf("%w: port out of range", ErrTarget)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.TotalTimeout <= 0 {
		o.TotalTimeout = 6 * o.Timeout
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.DialContext == nil {
		d := &net.Dialer{Timeout: o.Timeout}
		o.DialContext = d.DialContext
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// Report is the result of an audit. Its JSON form is documented in the
// package documentation and versioned by SchemaVersion.
type Report struct {
	// SchemaVersion is [SchemaVersion].
	SchemaVersion int `json:"schema_version"`
	// Target is the HTTPS URL audited.
	Target string `json:"target"`
	// HTTPSPortSource says where the HTTPS port of Target comes from:
	// [PortGiven], [PortRedirect] or [PortDefault].
	HTTPSPortSource string `json:"https_port_source"`
	// Host is the audited host name.
	Host string `json:"host"`
	// CheckedAt is when the audit started.
	CheckedAt time.Time `json:"checked_at"`
	// Grade is the letter grade: the grade of Score, lowered to the
	// strictest cap of the findings.
	Grade Grade `json:"grade"`
	// Score is BaseScore plus the bonuses when BaseScore is at least 90,
	// never below zero.
	Score int `json:"score"`
	// BaseScore is 100 plus the penalties, before bonuses.
	BaseScore int `json:"base_score"`
	// ScoreGrade is the grade Score alone would get.
	ScoreGrade Grade `json:"score_grade"`
	// CappedBy lists the IDs of the findings that lowered Grade below
	// ScoreGrade. Never nil.
	CappedBy []string `json:"capped_by"`
	// Findings lists every finding in category order. Never nil.
	Findings []Finding `json:"findings"`
	// HTTP is the redirect chain from the plain-HTTP URL.
	HTTP Chain `json:"http"`
	// HTTPS is the redirect chain from the HTTPS URL; its last hop is the
	// response whose headers are graded.
	HTTPS Chain `json:"https"`
	// Headers holds the graded response headers of the final HTTPS
	// response, by canonical name. Never nil.
	Headers map[string][]string `json:"headers"`
	// TLS describes the TLS configuration of the HTTPS port.
	TLS TLSInfo `json:"tls"`
}

// Finding is one observation with its effect on the grade.
type Finding struct {
	// ID is stable and kebab-case, such as "hsts-missing".
	ID string `json:"id"`
	// Category is the test the finding belongs to.
	Category Category `json:"category"`
	// Severity says how bad it is.
	Severity Severity `json:"severity"`
	// Message says what was seen, in one sentence.
	Message string `json:"message"`
	// Modifier is the points the finding is worth: negative for a
	// penalty, positive for a bonus.
	Modifier int `json:"modifier"`
	// Counted reports whether Modifier entered the score (one modifier
	// per category; bonuses only from a base score of 90).
	Counted bool `json:"counted"`
	// Cap is the best grade the site can get with this finding, or "".
	Cap Grade `json:"cap,omitempty"`
	// Fix says how to fix it, in one line, or "".
	Fix string `json:"fix,omitempty"`
}

// Severity is how bad a finding is.
type Severity string

// The severities, from best to worst.
const (
	Pass Severity = "pass"
	Info Severity = "info"
	Warn Severity = "warn"
	Fail Severity = "fail"
)

// Category is the test a finding belongs to. The score takes one modifier
// per category, as Mozilla Observatory takes one result per test.
type Category string

// The categories, in report order.
const (
	CategoryRedirect    Category = "redirect"
	CategoryHSTS        Category = "hsts"
	CategoryTLS         Category = "tls"
	CategoryCSP         Category = "csp"
	CategoryFrame       Category = "x-frame-options"
	CategoryNosniff     Category = "x-content-type-options"
	CategoryReferrer    Category = "referrer-policy"
	CategoryPermissions Category = "permissions-policy"
	CategoryCOOP        Category = "cross-origin-opener-policy"
	CategoryCORP        Category = "cross-origin-resource-policy"
	CategoryCookies     Category = "cookies"
)

// Categories returns the categories in report order.
func Categories() []Category {
	return []Category{
		CategoryRedirect, CategoryHSTS, CategoryTLS, CategoryCSP, CategoryFrame,
		CategoryNosniff, CategoryReferrer, CategoryPermissions, CategoryCOOP,
		CategoryCORP, CategoryCookies,
	}
}

// Run audits opts.Target: it follows the redirect chains from the HTTP and
// HTTPS URLs, probes the TLS versions, grades the final HTTPS response and
// returns the report. It returns an error wrapping [ErrTarget],
// [ErrUnreachable], [ErrTimeout], [ErrHandshake], [ErrResponse] or
// [ErrRedirects] when the site cannot be audited; a site that answers badly
// is not an error but a poor grade.
func Run(ctx context.Context, opts Options) (*Report, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.TotalTimeout)
	defer cancel()
	r := newRunner(o)
	defer r.close()

	rep := &Report{
		SchemaVersion: SchemaVersion,
		Target:        o.Target.HTTPSURL(),
		Host:          o.Target.Host,
		CheckedAt:     r.now.UTC().Truncate(time.Second),
		CappedBy:      []string{},
		Headers:       map[string][]string{},
	}

	// The plain-HTTP chain comes first: when the target does not name the
	// HTTPS port, its redirect does.
	httpChain, err := r.follow(ctx, o.Target.HTTPURL())
	if err != nil {
		// Nothing listening on the plain-HTTP port, or a redirect to a
		// URL where nothing listens, is a finding; anything else (slow,
		// malformed, endless, unknown host) stops the audit.
		var de *dialError
		switch {
		case ctx.Err() != nil || !errors.As(err, &de):
			return nil, r.wrapTotal(ctx, err)
		case len(httpChain.Hops) == 0 && !de.dns:
			httpChain.Error = de.Error()
		case len(httpChain.Hops) > 0:
			httpChain.Error = err.Error()
		default:
			return nil, err
		}
	}
	rep.HTTP = httpChain.Chain

	rep.HTTPSPortSource = PortGiven
	if o.Target.HTTPSPort == 0 {
		o.Target.HTTPSPort, rep.HTTPSPortSource = httpsPortOf(httpChain, o.Target.Host)
		r.o.Target = o.Target
	}
	rep.Target = o.Target.HTTPSURL()

	a := &analysis{
		opts: o,
		now:  r.now,
		http: httpChain,
		tls:  &rep.TLS,
	}
	tlsInfo, state, err := r.probeTLS(ctx)
	rep.TLS = tlsInfo
	if err != nil {
		var de *dialError
		if ctx.Err() != nil || !errors.As(err, &de) || de.dns || len(httpChain.Hops) == 0 {
			return nil, r.wrapTotal(ctx, err)
		}
		// Plain HTTP answers and nothing listens on the HTTPS port: a
		// site without HTTPS, graded (F), not an audit error.
		rep.TLS.Error = de.Error()
		rep.HTTPS = Chain{Start: o.Target.HTTPSURL(), Hops: []Hop{}, Error: de.Error()}
		a.https = &chain{Chain: rep.HTTPS}
		a.final = httpChain.final()
		return finish(rep, a), nil
	}

	httpsChain, err := r.follow(ctx, o.Target.HTTPSURL())
	if err != nil {
		return nil, r.wrapTotal(ctx, err)
	}
	if httpsChain.Loop {
		return nil, fmt.Errorf("%s: %w: redirect loop back to %q", o.Target.HTTPSURL(), ErrRedirects, clip(httpsChain.final().Location))
	}
	rep.HTTPS = httpsChain.Chain
	a.https, a.final, a.state = httpsChain, httpsChain.final(), state
	return finish(rep, a), nil
}

// finish grades the report from the analysis of what Run collected.
func finish(rep *Report, a *analysis) *Report {
	for _, name := range gradedHeaders {
		if v := a.final.header.Values(name); len(v) > 0 {
			rep.Headers[name] = v
		}
	}
	rep.Findings = a.run()
	score(rep)
	return rep
}

// Where the HTTPS port of a report comes from ([Report.HTTPSPortSource]).
const (
	// PortGiven: the target named it (an https URL or a host:port, or
	// the --https-port flag).
	PortGiven = "given"
	// PortRedirect: the first https URL of the plain-HTTP redirect chain
	// on the audited host.
	PortRedirect = "redirect"
	// PortDefault: 443, since the plain-HTTP redirects named no https URL
	// on the audited host (none, or one on another host, which is not
	// probed).
	PortDefault = "default"
)

// httpsPortOf returns the port of the first https URL that the plain-HTTP
// chain c reaches, if that URL is on host; otherwise 443. A redirect to
// another host does not move the audit there.
func httpsPortOf(c *chain, host string) (int, string) {
	for i := range c.Hops {
		h := &c.Hops[i]
		if !h.secure() {
			continue
		}
		if nh, err := forcehttps.NormalizeHost(h.url.Hostname()); err != nil || nh != host {
			break
		}
		if p := h.url.Port(); p != "" {
			if n, err := strconv.Atoi(p); err == nil && n > 0 && n <= 65535 {
				return n, PortRedirect
			}
		}
		return 443, PortRedirect
	}
	// A redirect to an https URL where nothing listens ends the chain
	// before a hop is recorded: read the last Location too.
	if c.Error != "" && len(c.Hops) > 0 {
		if u, ok := resolveLocation(c.final().url, c.final().Location); ok && u.Scheme == "https" {
			if nh, err := forcehttps.NormalizeHost(u.Hostname()); err == nil && nh == host {
				if n, err := strconv.Atoi(u.Port()); err == nil && n > 0 && n <= 65535 {
					return n, PortRedirect
				}
				return 443, PortRedirect
			}
		}
	}
	return 443, PortDefault
}

// wrapTotal says so when an error was caused by the end of the whole
// audit's deadline rather than by one request's.
func (r *runner) wrapTotal(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("audit interrupted: %w", err)
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, ErrTimeout) {
		return fmt.Errorf("the audit took longer than %s: %w", r.o.TotalTimeout, err)
	}
	return fmt.Errorf("%w: the audit took longer than %s: %w", ErrTimeout, r.o.TotalTimeout, err)
}

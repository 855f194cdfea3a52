package audit

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/forcehttps/forcehttps"
)

// UserAgent is the User-Agent of the audit's requests.
const UserAgent = "forcehttps-check/1"

// maxBody is how much of a response body is read (and discarded) before
// the connection is closed.
const maxBody = 64 << 10

// gradedHeaders are the response headers the report shows.
var gradedHeaders = []string{
	"Strict-Transport-Security",
	"Content-Security-Policy",
	"Content-Security-Policy-Report-Only",
	"X-Frame-Options",
	"X-Content-Type-Options",
	"Referrer-Policy",
	"Permissions-Policy",
	"Cross-Origin-Opener-Policy",
	"Cross-Origin-Resource-Policy",
	"Set-Cookie",
}

// Chain is a redirect chain as followed by the audit.
type Chain struct {
	// Start is the first URL requested.
	Start string `json:"start"`
	// Hops lists the responses in order; the last one is not a redirect,
	// unless Loop is set. Never nil.
	Hops []Hop `json:"hops"`
	// Loop reports that the last hop redirects to a URL already visited.
	Loop bool `json:"loop,omitempty"`
	// Error says why the chain could not be followed: nothing listens on
	// its start (no hops; for the HTTPS chain, a site without HTTPS), or
	// a redirect of the plain-HTTP chain leads to a URL where nothing
	// listens.
	Error string `json:"error,omitempty"`
}

// Hop is one response of a chain.
type Hop struct {
	// URL is the URL requested.
	URL string `json:"url"`
	// Status is the response status code.
	Status int `json:"status"`
	// Proto is the HTTP version, such as "HTTP/1.1".
	Proto string `json:"proto"`
	// Location is the Location header of a redirect, as sent.
	Location string `json:"location,omitempty"`
	// HSTS lists the Strict-Transport-Security header lines, as sent.
	HSTS []string `json:"hsts,omitempty"`
	// CertError says why the certificate of an HTTPS hop does not verify
	// for the hop's host, or "".
	CertError string `json:"cert_error,omitempty"`

	url    *url.URL
	header http.Header
}

// secure reports whether the hop was requested over https.
func (h *Hop) secure() bool { return h.url.Scheme == "https" }

// chain is a Chain with the parsed data the analysis needs.
type chain struct {
	Chain
	// badLocation is the Location that could not be followed, if that is
	// what ended the chain.
	badLocation string
}

// final returns the last hop.
func (c *chain) final() *Hop { return &c.Hops[len(c.Hops)-1] }

// isRedirect reports whether status is a redirect that browsers follow.
func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// runner holds what one Run needs: options with defaults, the transport,
// the start time.
type runner struct {
	o   Options
	tr  *http.Transport
	now time.Time
	log *slog.Logger
}

func newRunner(o Options) *runner {
	r := &runner{o: o, now: o.Now(), log: o.Logger}
	r.tr = &http.Transport{
		Proxy:       nil, // --resolve semantics: always connect to the site itself
		DialContext: r.dial,
		// Verification is done by the audit itself (verifyChain) so that
		// a bad certificate is reported and graded rather than stopping
		// the audit; nothing sensitive is sent.
		// Every suite Go can speak, so that a server with only weak
		// suites is still audited (and graded for them).
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10, CipherSuites: allSuites},
		TLSHandshakeTimeout:    o.Timeout,
		ResponseHeaderTimeout:  o.Timeout,
		MaxResponseHeaderBytes: o.MaxHeaderBytes,
		DisableKeepAlives:      true,
		DisableCompression:     true,
		ForceAttemptHTTP2:      true,
	}
	return r
}

func (r *runner) close() { r.tr.CloseIdleConnections() }

// dialError is a failure to connect, as opposed to a failure once
// connected.
type dialError struct {
	dns bool // the name did not resolve
	err error
}

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// dial connects to addr, or to the address Resolve gives for its host.
func (r *runner) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &dialError{err: err}
	}
	if nh, err := forcehttps.NormalizeHost(host); err == nil {
		ip, ok := r.o.Resolve[net.JoinHostPort(nh, port)]
		if !ok {
			ip, ok = r.o.Resolve[nh]
		}
		if ok {
			addr = net.JoinHostPort(ip.String(), port)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	c, err := r.o.DialContext(ctx, network, addr)
	if err != nil {
		var dnsErr *net.DNSError
		return nil, &dialError{dns: errors.As(err, &dnsErr), err: err}
	}
	return c, nil
}

// classify wraps an error of a request or handshake to u (or an address)
// in the sentinel that describes it.
func classify(where string, err error) error {
	var de *dialError
	var ne net.Error
	switch {
	case errors.As(err, &de):
		// Checked first: a dial that timed out means nothing answers
		// there, which Run treats differently from a slow response.
		return fmt.Errorf("%s: %w: %w", where, ErrUnreachable, de)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%s: %w: %v", where, ErrTimeout, err)
	}
	return fmt.Errorf("%s: %w: %v", where, ErrResponse, err)
}

// fetch requests u and reads at most maxBody bytes of the body.
func (r *runner) fetch(ctx context.Context, u *url.URL) (*Hop, error) {
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", u, ErrResponse, err)
	}
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	// Browsers send it with every navigation; a site using forcehttps'
	// SoftUpgrade redirects only requests that carry it.
	req.Header.Set("Upgrade-Insecure-Requests", "1")
	resp, err := r.tr.RoundTrip(req)
	if err != nil {
		err = classify(u.String(), err)
		r.log.Debug("audit request", slog.String("url", u.String()), slog.Any("error", err))
		return nil, err
	}
	defer resp.Body.Close()
	if err := ctx.Err(); err != nil {
		// A response can still arrive while the request is being
		// cancelled at its deadline; it came too late all the same.
		return nil, classify(u.String(), err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody)) // the body is not graded
	r.log.Debug("audit request", slog.String("url", u.String()), slog.Int("status", resp.StatusCode))
	h := &Hop{
		URL:      u.String(),
		Status:   resp.StatusCode,
		Proto:    resp.Proto,
		Location: resp.Header.Get("Location"),
		HSTS:     resp.Header.Values("Strict-Transport-Security"),
		url:      u,
		header:   resp.Header,
	}
	if !isRedirect(resp.StatusCode) {
		h.Location = ""
	}
	if resp.TLS != nil {
		if p := verifyChain(resp.TLS.PeerCertificates, u.Hostname(), r.o.RootCAs, r.now); len(p) > 0 {
			h.CertError = p[0].err.Error()
		}
	}
	return h, nil
}

// follow requests start and follows its redirects, up to MaxRedirects. A
// loop ends the chain with Loop set; a Location that is not an http or
// https URL ends it at that response. Errors are those of fetch, or
// ErrRedirects; the chain so far is returned with them.
func (r *runner) follow(ctx context.Context, start string) (*chain, error) {
	c := &chain{Chain: Chain{Start: start, Hops: []Hop{}}}
	u, err := url.Parse(start)
	if err != nil {
		return c, fmt.Errorf("%w: %v", ErrTarget, err)
	}
	seen := map[string]bool{}
	for {
		seen[u.String()] = true
		h, err := r.fetch(ctx, u)
		if err != nil {
			return c, err
		}
		c.Hops = append(c.Hops, *h)
		if !isRedirect(h.Status) {
			return c, nil
		}
		next, ok := resolveLocation(u, h.Location)
		if !ok {
			c.badLocation = h.Location
			return c, nil
		}
		if seen[next.String()] {
			c.Loop = true
			return c, nil
		}
		if len(c.Hops) > r.o.MaxRedirects {
			return c, fmt.Errorf("%s: %w: more than %d redirects (last to %s)", start, ErrRedirects, r.o.MaxRedirects, clip(next.String()))
		}
		u = next
	}
}

// resolveLocation resolves a Location header against the request URL. It
// accepts only absolute or relative references that end up as http or
// https URLs with a host.
func resolveLocation(base *url.URL, loc string) (*url.URL, bool) {
	if loc == "" || strings.ContainsAny(loc, "\x00\r\n") {
		return nil, false
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return nil, false
	}
	u := base.ResolveReference(ref)
	u.Fragment, u.RawFragment = "", ""
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, false
	}
	return u, true
}

// clip shortens untrusted text quoted in messages.
func clip(s string) string {
	const n = 200
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

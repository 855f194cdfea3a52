package forcehttps

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/forcehttps/forcehttps/internal/lex"
)

// Reason is a short code that says why a decision was taken. Inspectors
// show it, logs record it and metrics count by it.
type Reason string

// How the scheme was learned (Decision.Source).
const (
	// ReasonTLS: the request reached us over TLS.
	ReasonTLS Reason = "tls"
	// ReasonPlainHTTP: the request reached us in clear, and no trusted
	// proxy said otherwise.
	ReasonPlainHTTP Reason = "plain-http"
	// ReasonUntrustedPeer: the request carries forwarding headers, but the
	// peer is not a trusted proxy, so they were ignored.
	ReasonUntrustedPeer Reason = "untrusted-peer"
	// ReasonProxyMalformed: a trusted proxy sent a scheme header that does
	// not parse; the request is refused with 400.
	ReasonProxyMalformed Reason = "proxy-malformed"
	// ReasonProxyConflict: two scheme headers from a trusted proxy
	// disagree; the request is refused with 400.
	ReasonProxyConflict Reason = "proxy-conflict"
)

// Reasons for the action (Decision.Reason).
const (
	ReasonSecure          Reason = "secure"              // served over HTTPS
	ReasonRedirect        Reason = "redirect"            // redirected to HTTPS
	ReasonExemptACME      Reason = "exempt:acme"         // ACME HTTP-01 challenge path
	ReasonExemptPath      Reason = "exempt:path"         // an ExemptPaths prefix
	ReasonExemptUserAgent Reason = "exempt:user-agent"   // an ExemptUserAgents prefix
	ReasonExemptLoopback  Reason = "exempt:loopback"     // a loopback peer with ExemptLoopback
	ReasonDevHost         Reason = "dev-host"            // localhost or an IP-literal host
	ReasonSoftNoUpgrade   Reason = "soft:no-upgrade"     // SoftUpgrade and no Upgrade-Insecure-Requests
	ReasonRedirectOff     Reason = "redirect-disabled"   // Config.DisableRedirect
	ReasonInvalidHost     Reason = "invalid-host"        // the Host is not a valid host[:port]
	ReasonUnknownHost     Reason = "unknown-host"        // the Host is not in AllowedHosts
	ReasonCredentials     Reason = "refused:credentials" // unsafe method with credentials over HTTP
	ReasonWebSocket       Reason = "refused:websocket"   // WebSocket handshake over plain HTTP
	ReasonRefusedMethod   Reason = "refused:method"      // UnsafeMethodStatus is 403 or 426
	ReasonLoop            Reason = "loop"                // a redirect would loop
)

// Action is what the middleware does with a request.
type Action uint8

const (
	// Serve passes the request to the next handler.
	Serve Action = iota
	// Redirect answers with Decision.Status and Decision.Location.
	Redirect
	// Refuse answers with Decision.Status and Decision.Message.
	Refuse
)

// String returns "serve", "redirect" or "refuse".
func (a Action) String() string {
	switch a {
	case Serve:
		return "serve"
	case Redirect:
		return "redirect"
	case Refuse:
		return "refuse"
	}
	return "unknown"
}

// Decision is what [Middleware.Check] concluded about a request.
type Decision struct {
	// Secure reports whether the client reached us over HTTPS.
	Secure bool
	// Source says how the scheme was learned: ReasonTLS, ReasonPlainHTTP,
	// ReasonUntrustedPeer, "trusted-proxy:<header>", ReasonProxyMalformed
	// or ReasonProxyConflict.
	Source Reason
	// Header is the forwarding header the scheme came from, or "".
	Header string
	// Peer is the direct peer's address (invalid if RemoteAddr is not IP).
	Peer netip.Addr
	// TrustedPeer reports whether Peer is a trusted proxy.
	TrustedPeer bool
	// ClientIP is the client's address: Peer, or for a trusted proxy the
	// nearest untrusted address it forwarded.
	ClientIP netip.Addr
	// Host is the normalized host (no port), or "" if the Host was not
	// examined or is invalid.
	Host string
	// Action is what to do, Reason why.
	Action Action
	Reason Reason
	// Status is the response status for Redirect and Refuse.
	Status int
	// Location is the redirect target for Redirect.
	Location string
	// Message explains a refusal (plain text, no client-controlled data).
	Message string
	// HSTS is the Strict-Transport-Security value the response gets, or "".
	HSTS string
}

// trustedProxyReasons maps header names to their precomputed Source reason.
var trustedProxyReasons = map[string]Reason{}

func init() {
	for h := range protoHeaders {
		trustedProxyReasons[h] = Reason("trusted-proxy:" + strings.ToLower(h))
	}
}

// Check decides what to do with r without changing it or writing anything.
// It is what Handler does, minus the response, so that inspectors and tests
// can show the decision. It does not allocate for requests that are served.
func (m *Middleware) Check(r *http.Request) Decision {
	d := Decision{Peer: peerAddr(r.RemoteAddr)}
	d.ClientIP = d.Peer
	d.TrustedPeer = d.Peer.IsValid() && (m.anyPeer || m.trustedAddr(d.Peer))

	claimed := false
	if d.TrustedPeer && len(m.sources) > 0 {
		c := m.proxyClaim(r, d.Peer)
		if c.client.IsValid() {
			d.ClientIP = c.client
		}
		switch {
		case c.err != nil:
			d.Source = c.reason
			d.Header = c.header
			d.Action, d.Reason, d.Status = Refuse, c.reason, http.StatusBadRequest
			d.Message = "forcehttps: " + c.err.Error()
			m.warnProxy(&d, c.err)
			return d
		case c.present:
			claimed = true
			d.Secure, d.Source, d.Header = c.https, trustedProxyReasons[c.header], c.header
			if !c.https && r.TLS != nil {
				// The trusted proxy says the client used http, yet it
				// reached us over TLS: redirecting to https would hand
				// the client the URL it is already on, and the proxy
				// would say http again.
				d.Action, d.Reason, d.Status = Refuse, ReasonLoop, http.StatusLoopDetected
				d.Message = "forcehttps: redirect loop: the trusted proxy says the client used http (" + c.header + ") but the request arrived over TLS; make the proxy send the client's scheme"
				m.warnProxy(&d, nil)
				return d
			}
		}
	}
	if !claimed {
		switch {
		case r.TLS != nil:
			d.Secure, d.Source = true, ReasonTLS
		case !d.TrustedPeer && hasForwardingHeader(r.Header):
			d.Source = ReasonUntrustedPeer
		default:
			d.Source = ReasonPlainHTTP
		}
	}

	if d.Secure {
		d.Action, d.Reason = Serve, ReasonSecure
		if v := m.hsts.value(m.now); v != nil && (m.cfg.IncludeDevHosts || !isDevHostport(r.Host)) {
			d.HSTS = v[0]
		}
		return d
	}
	m.decideInsecure(r, &d)
	return d
}

// decideInsecure fills in the action for a plain-HTTP request.
func (m *Middleware) decideInsecure(r *http.Request, d *Decision) {
	d.Action = Serve
	path := r.URL.Path
	switch {
	case m.acmeExempt && strings.HasPrefix(path, ACMEChallengePrefix) && isCleanPath(path):
		d.Reason = ReasonExemptACME
		return
	case m.exemptPath(path):
		d.Reason = ReasonExemptPath
		return
	case len(m.exemptUAs) > 0 && m.exemptUA(r.Header.Get("User-Agent")):
		d.Reason = ReasonExemptUserAgent
		return
	case m.cfg.ExemptLoopback && d.Peer.IsLoopback():
		d.Reason = ReasonExemptLoopback
		return
	case m.cfg.DisableRedirect:
		d.Reason = ReasonRedirectOff
		return
	}

	hostname, _, ok := splitHostPort(r.Host)
	if !ok {
		d.Action, d.Reason, d.Status = Refuse, ReasonInvalidHost, http.StatusBadRequest
		d.Message = "forcehttps: invalid Host header"
		return
	}
	host, kind, err := normalizeHost(hostname)
	if err != nil {
		d.Action, d.Reason, d.Status = Refuse, ReasonInvalidHost, http.StatusBadRequest
		d.Message = "forcehttps: invalid Host header"
		return
	}
	d.Host = host
	if !m.cfg.IncludeDevHosts && isDevHost(host, kind) {
		d.Reason = ReasonDevHost
		return
	}
	if !m.hosts.match(host) {
		d.Action, d.Reason, d.Status = Refuse, ReasonUnknownHost, http.StatusBadRequest
		d.Message = "forcehttps: this host is not served here, so there is no HTTPS address to redirect to"
		return
	}
	if m.cfg.SoftUpgrade && strings.TrimSpace(r.Header.Get("Upgrade-Insecure-Requests")) != "1" {
		d.Reason = ReasonSoftNoUpgrade
		return
	}

	loc := m.location(host, kind, r.URL)
	safe := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case isWebSocket(r):
		// WebSocket clients do not follow redirects; say what to do.
		d.Action, d.Reason, d.Status = Refuse, ReasonWebSocket, http.StatusForbidden
		d.Message = "forcehttps: WebSocket over plain HTTP is refused; connect to " + wsURL(loc)
	case !safe && m.credStatus != 0 && hasCredentials(r):
		d.Action, d.Reason, d.Status = Refuse, ReasonCredentials, m.credStatus
		d.Message = "forcehttps: this request sent credentials over plain HTTP, where anyone on the path can read them; change them if they are secret, then use " + loc
	case !safe && (m.otherStatus == http.StatusForbidden || m.otherStatus == http.StatusUpgradeRequired):
		d.Action, d.Reason, d.Status = Refuse, ReasonRefusedMethod, m.otherStatus
		d.Message = "forcehttps: use HTTPS: " + loc
	default:
		d.Action, d.Reason, d.Location = Redirect, ReasonRedirect, loc
		d.Status = m.getStatus
		if !safe {
			d.Status = m.otherStatus
		}
	}
}

// location builds the https URL for the validated host and the request's
// path and query. Only the validated host goes into it: never the raw Host,
// never a host from the request target, so the redirect cannot leave the
// host the app serves.
//
// It writes what url.URL.String writes for Scheme "https", that Host and
// the request's Path, RawPath and escaped RawQuery (a test compares
// both), but into a buffer on the stack, so that the string is the only
// allocation: the path is net/url's own EscapedPath, and a validated host
// is one that url.URL.String would not escape.
func (m *Middleware) location(host string, kind hostKind, u *url.URL) string {
	path := "/" // "*" (OPTIONS) or an opaque target: there is no path to keep
	if strings.HasPrefix(u.Path, "/") {
		path = u.EscapedPath()
	}
	query := escapeQuery(u.RawQuery)
	var buf [256]byte
	b := append(buf[:0], "https://"...)
	if kind == kindIPv6 {
		b = append(b, '[')
		b = append(b, host...)
		b = append(b, ']')
	} else {
		b = append(b, host...)
	}
	if m.httpsPort != "" {
		b = append(b, ':')
		b = append(b, m.httpsPort...)
	}
	b = append(b, path...)
	if query != "" {
		b = append(b, '?')
		b = append(b, query...)
	}
	return string(b)
}

// escapeQuery percent-encodes the bytes of a raw query that may not appear
// in a URI (RFC 3986 §3.4), keeping existing escapes, so that the Location
// header is always a valid URI.
func escapeQuery(q string) string {
	bad := 0
	for i := 0; i < len(q); i++ {
		if !isQueryByte(q[i]) {
			bad++
		}
	}
	if bad == 0 {
		return q
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(q)+2*bad)
	for i := 0; i < len(q); i++ {
		c := q[i]
		if isQueryByte(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	return string(b)
}

// isQueryByte reports whether c may appear as is in a URI query: unreserved,
// sub-delims, ":", "@", "/", "?" and "%" (escapes are kept as they are).
func isQueryByte(c byte) bool { return queryBytes[c] }

// queryBytes is isQueryByte's table: one lookup per byte of every query
// redirected.
var queryBytes = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("-._~!$&'()*+,;=:@/?%", byte(c)) >= 0
	}
	return t
}()

// wsURL turns an https URL into its wss twin.
func wsURL(httpsURL string) string { return "wss" + strings.TrimPrefix(httpsURL, "https") }

// isWebSocket reports whether r is a WebSocket opening handshake.
func isWebSocket(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

// hasCredentials reports whether r carries an Authorization header or a
// cookie.
func hasCredentials(r *http.Request) bool {
	return r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != ""
}

// headerHasToken reports whether a comma-separated header contains token,
// case-insensitively.
func headerHasToken(h http.Header, key, token string) bool {
	for _, line := range h[key] {
		for line != "" {
			var v string
			v, line, _ = strings.Cut(line, ",")
			if strings.EqualFold(lex.TrimOWS(v), token) {
				return true
			}
		}
	}
	return false
}

// exemptPath reports whether path falls under an ExemptPaths prefix.
func (m *Middleware) exemptPath(path string) bool {
	for _, p := range m.exemptPaths {
		if !strings.HasPrefix(path, p) {
			continue
		}
		if len(path) == len(p) || p[len(p)-1] == '/' || path[len(p)] == '/' {
			return isCleanPath(path)
		}
	}
	return false
}

// exemptUA reports whether ua starts with an ExemptUserAgents prefix.
func (m *Middleware) exemptUA(ua string) bool {
	if ua == "" {
		return false
	}
	for _, p := range m.exemptUAs {
		if strings.HasPrefix(ua, p) {
			return true
		}
	}
	return false
}

// isDevHostport reports whether a raw Host value names a development host.
// Invalid values count as not dev: they get HSTS like any other.
func isDevHostport(hostport string) bool {
	h, _, ok := splitHostPort(hostport)
	if !ok {
		return false
	}
	if strings.IndexByte(h, ':') >= 0 {
		return true // IPv6 literal
	}
	if lex.DigitsAndDots(h) {
		// Parse only what may be an IPv4 literal: a failed ParseAddr
		// allocates its error, and this runs on every HTTPS request.
		_, err := netip.ParseAddr(h)
		return err == nil
	}
	h = strings.TrimSuffix(h, ".")
	const lh = "localhost"
	if len(h) >= len(lh) && strings.EqualFold(h[len(h)-len(lh):], lh) {
		return len(h) == len(lh) || h[len(h)-len(lh)-1] == '.'
	}
	return false
}

// peerAddr parses RemoteAddr ("ip:port", or a bare ip) into an unmapped
// address; the zero Addr if it is neither (a Unix socket, say).
func peerAddr(remote string) netip.Addr {
	if a, ok := parseIPv4Port(remote); ok {
		return a
	}
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

// trustedAddr reports whether a is inside one of the trusted ranges.
func (m *Middleware) trustedAddr(a netip.Addr) bool {
	a = a.WithZone("")
	for _, p := range m.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseIPv4Port parses the usual RemoteAddr, a dotted quad and a port of
// at most five digits, in one pass, as netip.ParseAddrPort reads it (a
// fuzz test compares both); it costs a fraction of ParseAddrPort, on
// every request. It reports false for anything else, which peerAddr
// gives to netip.
func parseIPv4Port(s string) (netip.Addr, bool) {
	var ip [4]byte
	i := 0
	for k := range ip {
		if k > 0 {
			if i == len(s) || s[i] != '.' {
				return netip.Addr{}, false
			}
			i++
		}
		n, digits := 0, 0
		for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
			if digits > 0 && n == 0 {
				return netip.Addr{}, false // a leading zero, which netip refuses
			}
			n = n*10 + int(s[i]-'0')
			digits++
			if digits > 3 {
				return netip.Addr{}, false
			}
		}
		if digits == 0 || n > 255 {
			return netip.Addr{}, false
		}
		ip[k] = byte(n)
	}
	if i == len(s) || s[i] != ':' {
		return netip.Addr{}, false
	}
	port := s[i+1:]
	if port == "" || len(port) > 5 {
		return netip.Addr{}, false
	}
	n := 0
	for j := 0; j < len(port); j++ {
		c := port[j]
		if c < '0' || c > '9' {
			return netip.Addr{}, false
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(ip), true
}

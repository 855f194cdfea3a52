package inspect

import (
	"crypto/tls"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/forcehttps/forcehttps"
	"github.com/forcehttps/forcehttps/internal/lex"
)

// SchemaVersion is the version of the JSON report. It changes only when a
// field is removed or changes meaning; new fields may appear without it.
const SchemaVersion = 1

// Report is what the inspector shows about one request. GET /headers.json
// is its JSON encoding; the package documentation describes every field.
type Report struct {
	SchemaVersion int                 `json:"schema_version"`
	Request       RequestInfo         `json:"request"`
	TLS           *TLSInfo            `json:"tls"` // nil over plain HTTP
	Headers       map[string][]string `json:"headers"`
	Highlighted   []string            `json:"highlighted"`
	Redacted      []string            `json:"redacted"`
	Decision      DecisionInfo        `json:"decision"`
	Policy        Policy              `json:"policy"`
}

// RequestInfo is the request line and the connection's peer.
type RequestInfo struct {
	Method     string `json:"method"`
	RequestURI string `json:"request_uri"`
	Proto      string `json:"proto"`
	Host       string `json:"host"`
	RemoteAddr string `json:"remote_addr"`
}

// TLSInfo describes the TLS connection the request arrived on.
type TLSInfo struct {
	Version     string `json:"version"`      // "TLS 1.3"
	CipherSuite string `json:"cipher_suite"` // IANA name
	ServerName  string `json:"server_name"`  // SNI, "" if none was sent
	ALPN        string `json:"alpn"`         // negotiated protocol, "" if none
	Resumed     bool   `json:"resumed"`
}

// DecisionInfo is [forcehttps.Middleware.Check] for the request, with the
// headers the middleware adds to the response.
type DecisionInfo struct {
	Secure            bool              `json:"secure"`
	Source            string            `json:"source"`
	SourceExplanation string            `json:"source_explanation"`
	Header            string            `json:"header"`
	Action            string            `json:"action"`
	Reason            string            `json:"reason"`
	ReasonExplanation string            `json:"reason_explanation"`
	Peer              string            `json:"peer"`
	TrustedPeer       bool              `json:"trusted_peer"`
	ClientIP          string            `json:"client_ip"`
	Host              string            `json:"host"`
	Status            int               `json:"status"`
	Location          string            `json:"location"`
	Message           string            `json:"message"`
	HSTS              string            `json:"hsts"`
	HSTSNote          string            `json:"hsts_note"`
	SecurityHeaders   map[string]string `json:"security_headers"`
}

// Policy is the part of the middleware's configuration that explains its
// decisions.
type Policy struct {
	Trust          string   `json:"trust"`
	TrustSummary   string   `json:"trust_summary"`
	TrustedProxies []string `json:"trusted_proxies"`
	AllowedHosts   []string `json:"allowed_hosts"`
	AnyHost        bool     `json:"any_host"`
	Temporary      bool     `json:"temporary"`
	HTTPSPort      int      `json:"https_port"`
}

// Report builds the report for r. It does not change r.
func (i *Inspector) Report(r *http.Request) Report {
	d := i.m.Check(r)
	rep := Report{
		SchemaVersion: SchemaVersion,
		Request: RequestInfo{
			Method:     valid(r.Method),
			RequestURI: valid(r.RequestURI),
			Proto:      valid(r.Proto),
			Host:       valid(r.Host),
			RemoteAddr: valid(r.RemoteAddr),
		},
		TLS:         tlsInfo(r.TLS),
		Headers:     make(map[string][]string, len(r.Header)+1),
		Highlighted: []string{},
		Redacted:    []string{},
		Decision:    i.decision(r, &d),
		Policy:      i.policy,
	}
	add := func(name string, vals []string) {
		out := make([]string, len(vals))
		redacted := false
		for j, v := range vals {
			out[j], redacted = i.redact(name, valid(v))
		}
		if redacted {
			rep.Redacted = append(rep.Redacted, name)
		}
		rep.Headers[name] = out
		if isHighlighted(name) {
			rep.Highlighted = append(rep.Highlighted, name)
		}
	}
	// net/http moves Host out of Header; show it where people look for it.
	if r.Host != "" && r.Header["Host"] == nil {
		add("Host", []string{r.Host})
	}
	for name, vals := range r.Header {
		add(valid(name), vals)
	}
	slices.Sort(rep.Highlighted)
	slices.Sort(rep.Redacted)
	return rep
}

// valid replaces invalid UTF-8, which a client may send in header values,
// so that HTML and JSON stay well-formed.
func valid(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func tlsInfo(cs *tls.ConnectionState) *TLSInfo {
	if cs == nil {
		return nil
	}
	return &TLSInfo{
		Version:     tls.VersionName(cs.Version),
		CipherSuite: tls.CipherSuiteName(cs.CipherSuite),
		ServerName:  cs.ServerName,
		ALPN:        cs.NegotiatedProtocol,
		Resumed:     cs.DidResume,
	}
}

func (i *Inspector) decision(r *http.Request, d *forcehttps.Decision) DecisionInfo {
	out := DecisionInfo{
		Secure:            d.Secure,
		Source:            string(d.Source),
		SourceExplanation: explainSource(d),
		Header:            d.Header,
		Action:            d.Action.String(),
		Reason:            string(d.Reason),
		ReasonExplanation: explainReason(d),
		TrustedPeer:       d.TrustedPeer,
		Host:              d.Host,
		Status:            d.Status,
		Location:          d.Location,
		Message:           d.Message,
		HSTS:              d.HSTS,
		SecurityHeaders:   make(map[string]string, len(i.secHdrs)),
	}
	if d.Peer.IsValid() {
		out.Peer = d.Peer.String()
	}
	if d.ClientIP.IsValid() {
		out.ClientIP = d.ClientIP.String()
	}
	if d.HSTS == "" {
		switch {
		case !d.Secure:
			out.HSTSNote = "none: HSTS is never sent over plain HTTP (RFC 6797 section 7.2)"
		case i.m.Config().DisableHSTS:
			out.HSTSNote = "none: HSTS is disabled in the configuration"
		default:
			out.HSTSNote = "none: development hosts (localhost, IP addresses) get no HSTS, so that a browser is never pinned to HTTPS for them"
		}
	}
	nonce := forcehttps.Nonce(r)
	for k, v := range i.secHdrs {
		if nonce != "" {
			v = strings.ReplaceAll(v, "{nonce}", nonce)
		}
		out.SecurityHeaders[k] = v
	}
	return out
}

// securityHeaders flattens the headers the middleware adds.
func securityHeaders(m *forcehttps.Middleware) map[string]string {
	out := map[string]string{}
	for k, v := range m.SecurityHeaders() {
		out[k] = v[0]
	}
	return out
}

func policyOf(cfg forcehttps.Config) Policy {
	trust := cfg.Trust
	if trust == "" {
		trust = forcehttps.PresetNone
	}
	p := Policy{
		Trust:          string(trust),
		TrustSummary:   trust.Summary(),
		TrustedProxies: slices.Clone(cfg.TrustedProxies),
		AllowedHosts:   slices.Clone(cfg.AllowedHosts),
		AnyHost:        cfg.AllowAnyHost,
		Temporary:      cfg.Temporary,
		HTTPSPort:      cfg.HTTPSPort,
	}
	if p.TrustedProxies == nil {
		p.TrustedProxies = []string{}
	} else if trust == forcehttps.PresetNone {
		p.TrustSummary = "no platform preset: only the listed trusted proxies"
	}
	if p.AllowedHosts == nil {
		p.AllowedHosts = []string{}
	}
	return p
}

// explainSource says in a sentence how the scheme was learned.
func explainSource(d *forcehttps.Decision) string {
	switch d.Source {
	case forcehttps.ReasonTLS:
		return "The request reached this server over TLS."
	case forcehttps.ReasonPlainHTTP:
		if d.TrustedPeer {
			return "The request reached this server in clear, and the trusted proxy in front of it sent no scheme header."
		}
		return "The request reached this server in clear, from a peer that is not a trusted proxy."
	case forcehttps.ReasonUntrustedPeer:
		return "The request carries forwarding headers, but its peer is not a trusted proxy, so they were ignored: any client can send them. If that peer is your proxy, trust it with a platform preset or its address range."
	case forcehttps.ReasonProxyMalformed:
		return "A trusted proxy sent a scheme header that does not parse: a proxy misconfiguration, refused with 400 rather than guessed."
	case forcehttps.ReasonProxyConflict:
		return "Two scheme headers from a trusted proxy disagree: a proxy misconfiguration, refused with 400 rather than guessed."
	}
	if strings.HasPrefix(string(d.Source), "trusted-proxy:") {
		scheme := "http"
		if d.Secure {
			scheme = "https"
		}
		return "The peer is a trusted proxy, and its " + d.Header + " header says the client used " + scheme + "."
	}
	return ""
}

// explainReason says in a sentence why the middleware acts as it does.
func explainReason(d *forcehttps.Decision) string {
	switch d.Reason {
	case forcehttps.ReasonSecure:
		return "Served: the client is on HTTPS. HSTS and the security headers are added."
	case forcehttps.ReasonRedirect:
		return "Plain HTTP: redirected to the same URL on https."
	case forcehttps.ReasonExemptACME:
		return "Served over plain HTTP: ACME HTTP-01 challenges must be reachable without TLS."
	case forcehttps.ReasonExemptPath:
		return "Served over plain HTTP: the path is exempt (a health check)."
	case forcehttps.ReasonExemptUserAgent:
		return "Served over plain HTTP: the User-Agent is an exempt probe."
	case forcehttps.ReasonExemptLoopback:
		return "Served over plain HTTP: loopback peers are exempt."
	case forcehttps.ReasonDevHost:
		return "Served over plain HTTP: localhost and IP-address hosts get neither redirect nor HSTS, so that a developer's browser is never pinned to HTTPS. Use a real host name to see the redirect."
	case forcehttps.ReasonSoftNoUpgrade:
		return "Served over plain HTTP: soft mode redirects only navigations that send Upgrade-Insecure-Requests: 1."
	case forcehttps.ReasonRedirectOff:
		return "Served over plain HTTP: redirects are disabled in the configuration."
	case forcehttps.ReasonInvalidHost:
		return "Refused: the Host header is not a valid host[:port]."
	case forcehttps.ReasonUnknownHost:
		return "Refused: the host is not one this app serves, so there is no safe HTTPS address to redirect to. Add it to the allowed hosts."
	case forcehttps.ReasonCredentials:
		return "Refused: an unsafe request sent credentials over plain HTTP."
	case forcehttps.ReasonWebSocket:
		return "Refused: WebSocket clients do not follow redirects; connect with wss://."
	case forcehttps.ReasonRefusedMethod:
		return "Refused: unsafe methods over plain HTTP are refused rather than redirected."
	case forcehttps.ReasonLoop:
		return "Refused: the trusted proxy says http, but the request arrived over TLS; a redirect would loop."
	case forcehttps.ReasonProxyMalformed, forcehttps.ReasonProxyConflict:
		return "Refused with 400: fix the proxy's scheme headers."
	}
	return ""
}

// detectionHeaders are the headers that matter for HTTPS detection and
// request tracing, in canonical form.
var detectionHeaders = canonicalSet(
	"Forwarded", "X-Forwarded-Proto", "X-Forwarded-For", "X-Forwarded-Host",
	"X-Forwarded-Port", "X-Forwarded-Ssl", "CloudFront-Forwarded-Proto",
	"CF-Visitor", "X-ARR-SSL", "Upgrade-Insecure-Requests", "X-Request-ID",
	"X-Real-IP", "Via", "X-Request-Start",
)

// credentialHeaders carry secrets; their values are redacted unless
// Options.ShowCredentials is set.
var credentialHeaders = canonicalSet(
	"Authorization", "Proxy-Authorization", "Cookie",
	"X-Serverless-Authorization", "X-Goog-IAP-JWT-Assertion",
	"X-Amzn-Oidc-Data", "X-Amzn-Oidc-Accesstoken", "X-Api-Key",
)

func canonicalSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[http.CanonicalHeaderKey(n)] = true
	}
	return m
}

// isHighlighted reports whether a header matters for HTTPS detection.
func isHighlighted(name string) bool { return detectionHeaders[http.CanonicalHeaderKey(name)] }

// DetectionHeaders returns the canonical names of the headers the
// inspector highlights because they matter for HTTPS detection, sorted.
func DetectionHeaders() []string {
	out := make([]string, 0, len(detectionHeaders))
	for n := range detectionHeaders {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// redact hides the secret part of a credential header's value. It keeps
// what helps debugging: the Authorization scheme, the cookie names, the
// length.
func (i *Inspector) redact(name, v string) (string, bool) {
	if i.showCreds || !credentialHeaders[http.CanonicalHeaderKey(name)] {
		return v, false
	}
	n := strconv.Itoa(len(v))
	switch http.CanonicalHeaderKey(name) {
	case "Cookie":
		var b strings.Builder
		for part := range strings.SplitSeq(v, ";") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			if cname, _, ok := strings.Cut(part, "="); ok && isToken(cname) {
				b.WriteString(cname + "=[redacted]")
			} else {
				b.WriteString("[redacted]")
			}
		}
		return b.String() + " (" + n + " bytes)", true
	case "Authorization", "Proxy-Authorization", "X-Serverless-Authorization":
		if scheme, _, ok := strings.Cut(v, " "); ok && isToken(scheme) && len(scheme) <= 32 {
			return scheme + " [redacted, " + n + " bytes]", true
		}
	}
	return "[redacted, " + n + " bytes]", true
}

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool { return s != "" && lex.TokenLen(s) == len(s) }

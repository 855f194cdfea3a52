// Package forcehttps makes a net/http application reachable over HTTPS
// only: it learns the client's scheme, from the TLS state or from proxies it
// trusts, redirects plain HTTP to the same URL on https, sends
// Strict-Transport-Security on every HTTPS response and adds the security
// headers that header scanners grade.
//
// Build a [Middleware] once with [New], then wrap handlers with
// [Middleware.Handler]. [Middleware.Check] returns the same decision
// without writing anything, with a [Reason] code, for inspectors and logs.
//
//	m, err := forcehttps.New(forcehttps.Config{
//		Trust:        forcehttps.PresetCloudRun,
//		AllowedHosts: []string{"example.com", "*.example.com"},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.ListenAndServe(":"+port, m.Handler(mux))
//
// # Trust
//
// A request is secure when it reached us over TLS, or when its direct peer
// (Request.RemoteAddr) is a trusted proxy and that proxy says the client
// used https. Nothing else counts: with the zero [Config], no peer is
// trusted and every forwarding header is ignored, so a client cannot claim
// HTTPS by sending "X-Forwarded-Proto: https".
//
// Trust comes from a platform [Preset] (Config.Trust), from address ranges
// (Config.TrustedProxies), or both. A preset names the headers the platform
// writes and whom to believe:
//
//	preset              trusted peers                     headers
//	none                only TrustedProxies               Forwarded, X-Forwarded-Proto (with TrustedProxies)
//	cloudrun            any peer (1)                      X-Forwarded-Proto
//	heroku              any peer (1)                      X-Forwarded-Proto
//	scalingo            any peer (1)                      X-Forwarded-Proto
//	aws-alb             10/8, 172.16/12, 192.168/16, fc00::/7  X-Forwarded-Proto
//	cloudfront          TrustedProxies (required)         CloudFront-Forwarded-Proto
//	cloudflare          Cloudflare's published ranges     CF-Visitor, X-Forwarded-Proto
//	azure               any peer (1)                      X-ARR-SSL, X-Forwarded-Proto
//	fly                 any peer (1)(2)                   X-Forwarded-Proto
//	kubernetes-ingress  10/8, 172.16/12, 192.168/16, fc00::/7  X-Forwarded-Proto, Forwarded
//
// (1) "Any peer" is safe only because on that platform nothing but the
// platform's front end can reach the container. If you expose the app any
// other way, anyone can claim https: use TrustedProxies instead.
// (2) On Fly.io, machines of the same organisation can reach the app over
// the private network.
//
// Header values are parsed strictly. Lists and repeated header lines are
// merged. Each trusted hop appends the scheme its own client used, so the
// value taken is the rightmost one, stepping left over the values written
// by hops whose client was itself a trusted proxy (as X-Forwarded-For or
// the Forwarded for= parameter shows). ws and wss count as http and https.
// Forwarded (RFC 7239) is parsed by a strict parser that quoted strings
// cannot smuggle parameters through. A malformed value, or two headers that
// disagree, is a proxy misconfiguration: the request is refused with 400
// and the reason ([ReasonProxyMalformed], [ReasonProxyConflict]) is logged,
// instead of guessing.
//
// # Redirects
//
// A plain-HTTP request is redirected to "https://" + host + path + query,
// built with net/url from:
//
//   - the host, validated first: it must be in Config.AllowedHosts (exact
//     names, "*." wildcards of one label, IP addresses), compared after
//     lower-casing, removing a trailing dot and converting international
//     names to punycode. An unknown or malformed host gets 400 with a short
//     reason; it is never reflected into a redirect. A host in the request
//     target (absolute form) is checked the same way, since net/http uses
//     it as the Host;
//   - the port: Config.HTTPSPort, dropped when it is 443; the plain-HTTP
//     port is never copied; IPv6 literals keep their brackets;
//   - the path and query of the request, unchanged (a path starting with
//     "//" stays a path of the same host).
//
// GET and HEAD get 301 and other methods 308, which keeps the method and
// body; Config.Temporary makes them 302 and 307, which browsers do not
// cache (use it while testing). Both are configurable, and unsafe methods
// may be refused with 403 or 426 instead. With Config.RefuseCredentialsStatus,
// an unsafe request that sent an Authorization header or a cookie in clear is
// refused rather than redirected, since the secret already crossed the
// network. A WebSocket handshake over plain HTTP is refused with a message
// naming the wss:// URL: WebSocket clients do not follow redirects.
// Config.SoftUpgrade redirects only navigations that send
// "Upgrade-Insecure-Requests: 1", with "Vary: Upgrade-Insecure-Requests".
//
// Exempt from the redirect and from the host check: the ACME HTTP-01
// challenge path (/.well-known/acme-challenge/, on by default),
// Config.ExemptPaths prefixes (health checks), Config.ExemptUserAgents
// prefixes (probes) and, with Config.ExemptLoopback, loopback peers.
// Exemptions match only clean paths, so "/healthz/../admin" is not exempt.
// localhost, *.localhost and IP-literal hosts get no redirect and no HSTS
// unless Config.IncludeDevHosts is set, so a developer's browser is never
// pinned to HTTPS for localhost.
//
// Loop guard: when a trusted proxy says the client used http but the
// request reached us over TLS, a redirect would send the client to the URL
// it is already on, forever. The middleware answers 508 with the reason
// ([ReasonLoop]) instead.
//
// # HSTS
//
// Strict-Transport-Security goes on every response to a secure request,
// redirects and errors included, exactly once, and never on plain HTTP
// (RFC 6797 §7.2): the middleware even removes one that a handler set on a
// plain-HTTP response. A handler's own value on an HTTPS response is kept.
// The default is "max-age=31536000". includeSubDomains and preload are
// opt-in; [New] refuses preload unless max-age is at least one year and
// includeSubDomains is set. Config.HSTSRevoke sends "max-age=0", the only
// way to make browsers forget the policy. Config.HSTSRampFrom ramps
// max-age up from 300 seconds to the target over 38 days ([RampMaxAge]),
// as hstspreload.org recommends. [ParseHSTS] parses a header value by the
// rules of RFC 6797 §6.1.
//
// # Security headers
//
// Every response also gets the headers of [DefaultSecurityHeaders]: a
// Content-Security-Policy for same-origin resources with frame-ancestors
// 'none', X-Frame-Options, X-Content-Type-Options, Referrer-Policy,
// Permissions-Policy, Cross-Origin-Opener-Policy and
// Cross-Origin-Resource-Policy; with HSTS and the redirect they grade a page
// without inline scripts A+ on Mozilla Observatory and securityheaders.com.
// Each can be replaced or removed with Config.SecurityHeaders. A "{nonce}"
// in the CSP is replaced by a fresh nonce per response, which handlers read
// with [Nonce]. Cookies set over HTTPS get the Secure attribute.
//
// # Performance
//
// New precomputes every header value. Check allocates nothing for requests
// that are served; Handler allocates one small ResponseWriter wrapper per
// served request (not pooled: a handler goroutine that writes after
// returning must not reach another client's response), and redirects
// allocate only their Location.
package forcehttps

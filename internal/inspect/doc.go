// Package inspect is the header inspector: a small web app that shows a
// request as it reached the app (request line, peer, TLS, every header)
// and what the forcehttps middleware decided about it. It is what
// "forcehttps headers" serves in a container, and the app the edge shows
// when it has none of its own.
//
// When a redirect loops or HSTS is missing behind a proxy, the question is
// always the same: which headers did the front end add, from which peer,
// and what did the middleware conclude? The inspector answers it on one
// page.
//
// # Routes
//
//	GET /              an index linking to the pages below
//	GET /headers       the page (HTML); the JSON report when the Accept
//	                   header prefers application/json to text/html
//	GET /headers.json  the JSON report
//	GET /headers.css   the page's stylesheet
//	GET /healthz       "ok" (text/plain), for health checks
//
// HEAD works wherever GET does; other methods get 405 with an Allow header,
// and other paths 404. /headers answers with "Vary: Accept". Every page
// that reflects the request is sent with "Cache-Control: no-store" and
// "X-Robots-Tag: noindex".
//
// The page has no script and no inline style, so it renders under the
// middleware's default Content-Security-Policy ("default-src 'self'"). If
// the policy carries a "{nonce}", the stylesheet link gets the nonce of
// [forcehttps.Nonce].
//
// # Use
//
// Build the middleware, the inspector, and wrap the one in the other, so
// that the page shows the decision that was actually applied:
//
//	m, err := forcehttps.New(forcehttps.Config{
//		Trust:        forcehttps.PresetCloudRun,
//		AllowedHosts: []string{"example.com"},
//		ExemptPaths:  []string{"/healthz"},
//	})
//	...
//	insp, err := inspect.New(inspect.Options{Middleware: m})
//	...
//	srv := inspect.NewServer(m.Handler(insp), nil)
//	srv.Serve(listener)
//
// Exempt /healthz from the redirect, as above, so that health checks that
// come in over plain HTTP get their "ok". [NewServer] sets the timeouts and
// the header size limit ([MaxHeaderBytes]) a public server needs; a larger
// header gets 431 from net/http.
//
// # The decision
//
// The decision shown is [forcehttps.Middleware.Check] for the request the
// page answers: whether it is secure and how that was learned (Source:
// tls, plain-http, untrusted-peer, trusted-proxy:<header>, ...), the action
// and its reason code, the client IP the middleware would use, whether the
// direct peer is a trusted proxy, the redirect or refusal it would send,
// the HSTS value it adds and the security headers it adds. Each code comes
// with a sentence that explains it. The security headers come from
// [forcehttps.Middleware.SecurityHeaders], since the middleware adds them
// only when the response starts.
//
// Behind the middleware, the inspector only ever sees requests that the
// middleware serves: a redirect or a refusal is answered before the
// inspector runs. Plain-HTTP requests it does see are exempt ones, or
// requests for localhost and IP-address hosts, which the middleware never
// redirects.
//
// # Headers
//
// Every header is listed, sorted by name, each value of a repeated header
// separately. net/http moves the Host header into Request.Host; the
// inspector lists it as "Host" among the others. Values are escaped by
// html/template (a "<script>" in a header is shown, never run); invalid
// UTF-8 is replaced with U+FFFD. The headers that matter for HTTPS
// detection and request tracing ([DetectionHeaders]: Forwarded,
// X-Forwarded-*, CloudFront-Forwarded-Proto, CF-Visitor, X-ARR-SSL,
// Upgrade-Insecure-Requests, X-Request-ID, X-Real-IP, Via,
// X-Request-Start) are highlighted and marked "HTTPS"; the one the
// decision read is marked "used".
//
// # Credentials
//
// A page of request headers is made to be pasted into bug reports, so the
// values of credential headers (Authorization, Proxy-Authorization, Cookie,
// X-Serverless-Authorization, X-Goog-IAP-JWT-Assertion, X-Amzn-Oidc-Data,
// X-Amzn-Oidc-Accesstoken, X-Api-Key) are redacted: an Authorization value
// keeps its scheme ("Bearer [redacted, 812 bytes]"), a cookie header keeps
// the cookie names ("sid=[redacted]; theme=[redacted] (40 bytes)").
// Options.ShowCredentials shows them as they are.
//
// # JSON report
//
// GET /headers.json (or /headers with "Accept: application/json") returns
// a [Report] as indented JSON, "Content-Type: application/json;
// charset=utf-8". Keys are snake_case; every key is always present
// (strings may be empty, lists are never null); maps are sorted by key.
// schema_version changes only when a field is removed or changes meaning.
//
//	{
//	  "schema_version": 1,
//	  "request": {
//	    "method": "GET",                 // as sent
//	    "request_uri": "/headers",       // the request target, unmodified
//	    "proto": "HTTP/1.1",
//	    "host": "example.com",           // Request.Host
//	    "remote_addr": "192.0.2.1:53870" // the direct peer
//	  },
//	  "tls": null,                       // or {"version": "TLS 1.3",
//	                                     // "cipher_suite": "TLS_AES_128_GCM_SHA256",
//	                                     // "server_name": "example.com",
//	                                     // "alpn": "h2", "resumed": false}
//	  "headers": {                       // name -> values, sorted by name
//	    "Host": ["example.com"],
//	    "X-Forwarded-Proto": ["https"]
//	  },
//	  "highlighted": ["X-Forwarded-Proto"], // present headers that matter for HTTPS detection
//	  "redacted": [],                       // present headers whose values were redacted
//	  "decision": {
//	    "secure": true,
//	    "source": "trusted-proxy:x-forwarded-proto", // forcehttps.Decision.Source
//	    "source_explanation": "...",
//	    "header": "X-Forwarded-Proto",   // the header the scheme came from, or ""
//	    "action": "serve",               // serve, redirect or refuse
//	    "reason": "secure",              // forcehttps.Decision.Reason
//	    "reason_explanation": "...",
//	    "peer": "192.0.2.1",             // "" if RemoteAddr is not an IP address
//	    "trusted_peer": true,
//	    "client_ip": "198.51.100.7",
//	    "host": "",                      // the validated host, when examined
//	    "status": 0,                     // of the redirect or refusal, else 0
//	    "location": "",                  // of the redirect
//	    "message": "",                   // of the refusal
//	    "hsts": "max-age=31536000",      // Strict-Transport-Security added, or ""
//	    "hsts_note": "",                 // why there is none, when there is none
//	    "security_headers": {"X-Frame-Options": "DENY", ...}
//	  },
//	  "policy": {
//	    "trust": "cloudrun",             // the preset
//	    "trust_summary": "...",
//	    "trusted_proxies": [],
//	    "allowed_hosts": ["example.com"],
//	    "any_host": false,
//	    "temporary": false,
//	    "https_port": 0                  // 0: 443
//	  }
//	}
//
// # Content negotiation
//
// /headers returns JSON when the Accept header gives application/json a
// higher quality than text/html, each taking the quality of the most
// specific media range that matches it (RFC 9110 section 12.5.1). A tie,
// no Accept header or an Accept that allows neither gets HTML, so
// browsers and "curl" get the page; malformed elements of the header are
// ignored.
package inspect

// Package edge is the TLS-terminating front-end of forcehttps: it routes
// requests by Host to the apps of a [config.Config], proxies them over
// HTTP/1.1 keep-alive (HTTP/2 to gRPC apps), and applies each app's Force HTTPS policy
// with the middleware of package forcehttps, the same code an app can run
// itself.
//
//	srv, err := edge.New(cfg, certManager, edge.WithConfigFile(path, 0))
//	if err != nil {
//		return err
//	}
//	return srv.Serve(ctx) // until ctx is done, then drains
//
// # Listeners
//
// The HTTP listener (listen.http) first lets the certificate manager
// answer ACME HTTP-01 challenges ([Certificates]), then routes by Host: a
// host no app serves gets 404 (never a redirect: a redirect to an
// unvalidated host is an open redirect). For an app with Force HTTPS, the
// request is redirected to the same URL on https: 301 for GET and HEAD,
// 308 for other methods (the method and body are kept), or 302 and 307
// with redirect.temporary. Exempt, and proxied over plain HTTP: ACME
// challenges the manager does not know (the app may run its own ACME
// client), and the app's exempt_paths. A WebSocket handshake over plain
// HTTP is refused with a message naming the wss:// URL, since WebSocket
// clients do not follow redirects. Apps without Force HTTPS are proxied.
// A host whose certificate is not issued yet (a domain just added, its
// ACME order running: see [HTTPSReadiness]) is not redirected but served
// as if its app did not force HTTPS, with the reason certificate-pending,
// until the certificate manager says it is ready; this is asked per
// request, so the redirect starts with no rebuild.
//
// The HTTPS listener (listen.https) offers TLS 1.2 and 1.3 with the
// manager's certificates, HTTP/2 and HTTP/1.1. A host no app serves gets
// 421 Misdirected Request, and so does a request whose Host belongs to
// another app than the server name (SNI) of its connection, which
// happens when an HTTP/2 client reuses a connection for another host its
// certificate covers: the client retries on a new connection. A
// connection without SNI (clients connecting to an IP address) skips that
// check.
//
// An app's static answers (respond: exact paths with a status, a body and
// its type) are served by the edge itself, behind the app's policy like
// the proxy: on plain HTTP under Force HTTPS they are redirected unless
// their path is exempt, and on HTTPS they get HSTS and the security
// headers. Every method gets the same answer (HEAD without the body).
//
// Both listeners have a fast path (package h1): requests in the
// plainest form of HTTP/1.1 (no body, no upgrade) are read and decided
// without net/http, by the same policy code and with the same bytes,
// access log line and metrics. On the HTTP listener it answers what the
// edge answers itself (redirects, refusals, static answers); on the
// HTTPS listener, everything the app's policy serves, proxied requests
// included: a keep-alive TLS connection doing proxied GETs never reaches
// net/http's server. Every other request (a body, an upgrade, unusual
// framing, an ACME challenge, an unknown host, a
// request to proxy over plain HTTP) goes to net/http with the bytes
// already read, and its connection stays there.
//
// Both listeners bound request heads (timeouts.read_header), keep-alive
// waits (timeouts.idle) and waits on the client (timeouts.client_idle,
// see Timeouts below), and apply limits.max_header_bytes (431 beyond it; net/http allows
// 4 KiB of slack). limits.max_body_bytes, when set, answers 413 for larger
// bodies, announced or streamed. Errors the edge writes itself are short
// plain text with the request ID, never an internal detail; the detail
// goes to the log. A panic in the edge answers 500 and is logged with its
// stack.
//
// # Requests to the apps
//
// The proxy keeps the Host the client sent, and sets:
//
//	X-Forwarded-Proto  http or https: the scheme the client used, one value
//	X-Forwarded-For    the peer's address, appended to a trusted proxy's list
//	X-Forwarded-Host   the Host
//	X-Forwarded-Port   the public HTTPS port, or the HTTP listener's port
//	X-Real-IP          the client's address
//	X-Request-Start    t=<Unix time in milliseconds>
//	X-Request-ID       the client's, if it is 20 to 128 characters of
//	                   [A-Za-z0-9+/=-], else 32 random hex digits; also
//	                   set on every response
//
// A client that is not a trusted proxy (trusted_proxies) cannot make an
// app believe anything about the connection: Forwarded, every
// X-Forwarded-* header, X-Real-IP, X-Request-Start, X-Scheme,
// X-URL-Scheme, Front-End-Https, X-ARR-SSL, CloudFront-Forwarded-Proto,
// CF-Visitor, CF-Connecting-IP, True-Client-IP and X-Client-IP are removed
// from its requests, in every spelling: "_" and "." count as "-" and case
// is ignored (X_Forwarded_Proto, x.forwarded.for), because CGI, WSGI and
// PHP backends read those as the same header. A trusted proxy's values
// are kept (its X-Forwarded-For is appended to, and its scheme is what
// X-Forwarded-Proto says). The edge does not write a Forwarded header of
// its own.
//
// Requests without a body or an upgrade, to an http:// app, whose query
// needs no rewriting, are proxied by forward (forward.go), which does
// what httputil.ReverseProxy does with the edge's rewrite,
// modifyResponse and proxyError, in the same order, without its copies
// of the request, header and URL, its client trace, and its flush timer
// (the differential tests send the same requests and answers through
// both). Every other request goes through httputil.ReverseProxy.
// The exchange that watches a proxied request (exchange.go) goes back to
// a pool when nothing but its handler can reach it any more: a
// fast-path exchange that ended before its watchdog first looked, whose
// context nothing derived from or waited on. Any other is left to the
// garbage collector.
//
// The transport keeps up to 256 idle connections per app (net/http's
// default of 2 makes every burst open new ones), bounds the dial
// (timeouts.upstream_dial) and the wait for response headers
// (timeouts.upstream_response_header), passes bodies and their encodings
// through untouched, and never uses a proxy from the environment.
// Requests to http:// apps without an upgrade and without a body, or
// with one of at most 16 KiB and a known length (most GET and HEAD
// requests, forms and API calls), take package upstream's lean
// transport: no goroutine per connection, one write per request, and a
// response parser stricter than net/http's (an ambiguous framing such
// as Content-Length with Transfer-Encoding is answered 502); the others
// take net/http's Transport.
// Protocol upgrades (WebSocket) pass through; once the app answers 101,
// the connection is a tunnel bounded by timeouts.stream_idle. An app that
// cannot be reached gets 502, one that does not answer in time 504, both
// counted by kind in upstream_errors_total.
//
// An h2c:// upstream is reached over HTTP/2 without TLS, an https://
// one with http2 set over HTTP/2 with TLS (net/http's transports,
// [http.Protocols]): gRPC apps. Calls stream both ways end to end
// (HTTP/2 streams from clients are full duplex; HTTP/1.1 requests with a
// body get [http.ResponseController.EnableFullDuplex]), and trailers
// pass through, grpc-status included. A gRPC call (content-type
// application/grpc...) that the app cannot answer gets a trailers-only
// gRPC answer, HTTP 200 with grpc-status 14 (UNAVAILABLE), 4
// (DEADLINE_EXCEEDED), 8 (RESOURCE_EXHAUSTED) or, for a request the
// edge refuses as malformed, 13 (INTERNAL) and a grpc-message, rather
// than a text page gRPC clients cannot read.
//
// # Timeouts
//
// Besides read_header, timeouts count idle time, not whole exchanges:
// net/http's ReadTimeout and WriteTimeout are off, since they would cut
// a slow upload, a long download or an event stream that progresses.
// Each proxied exchange instead has a watchdog, one timer that looks
// every quarter of its shortest limit at marks its reads and writes
// leave (a clock read each), and cuts:
//
//	client_idle         a read of the request body or a write of the
//	                    response waiting on the client that long
//	upstream_read_idle  a read of the app's response body waiting that long,
//	                    or an app that took nothing of the request body
//	                    that long and has not answered (504)
//	stream_idle         the same two for gRPC calls and server-sent events
//	                    (the app's side), and a WebSocket tunnel in which no
//	                    byte moved either way that long
//	max_duration        the app's hard cap, when set
//
// A client that goes away cancels the request to the app: at once over
// net/http, and on the fast path from the watchdog's first look, at most
// 50 ms into the exchange (package h1 learns that a client left no
// sooner than 100 ms into a request). The request's context is the
// exchange's own (context.go), made without the context package's
// allocations, which a short exchange never needs.
//
// A cut cancels the request to the app and puts the client's deadlines
// in the past, which ends what waits on the client: HTTP/1 gets a
// timeout on its connection, an HTTP/2 stream a reset. Progress is
// counted per write of at most 32 KiB (the copy buffer). A cut before
// the head answers 408 (the body stopped coming) or 504; after it, the
// handler panics with [http.ErrAbortHandler], so the client sees the
// response end abnormally: an HTTP/1.1 connection closed without the
// last chunk or short of its Content-Length, an HTTP/2 stream reset.
// Responses the edge writes itself are bounded by client_idle too
// (a write deadline on HTTP/1 connections, and on HTTP/2 connections
// HTTP2Config.WriteByteTimeout); the fast path's write timeout is
// client_idle.
//
// Every write of a response body is flushed (by the edge's writer), so
// events and slow bodies reach the client as they come and the bytes
// logged are the bytes sent; the write that completes an HTTP/1 app's
// body of declared length leaves with the end of the response instead
// (over HTTP/2, in the DATA frame that ends the stream). The head of a response is sent with its
// first body bytes, or by the watchdog after 10 ms without any: a short
// response leaves in one write, and an app that sends its head and
// stalls does not hold the client with nothing. Event streams and gRPC
// heads go at once, except a trailers-only gRPC answer, whose head must
// end the stream.
//
// # HSTS and the app's responses
//
// Every HTTPS response for an app with Force HTTPS carries exactly one
// Strict-Transport-Security header, the edge's own responses (421, 413,
// 502, 504) and a 101 Switching Protocols included (ReverseProxy writes
// the 101 itself, so modifyResponse adds it there): the proxy runs inside the app's middleware
// ([forcehttps.Middleware.Serve], with the decision the edge already took
// for its logs and metrics), which adds the header only when the
// app did not send one, so the app's own value wins (as on Scalingo). If
// the app sends several, only the first is kept. Plain-HTTP responses
// never carry it (RFC 6797 §7.2), even if the app sent one. With
// force_https off there is no HSTS, unless hsts.revoke asks for
// max-age=0.
//
// For Force-HTTPS apps, a Location header pointing to http:// on one of
// the app's own domains is rewritten to https:// (on the public HTTPS
// port): apps behind a TLS-terminating proxy often build absolute URLs
// from the scheme they see. Other hosts are left alone.
//
// The edge adds no other header unless the app opts in: security headers
// (security_headers) and the Secure cookie attribute (secure_cookies) can
// break an app that did not plan for them, which Force HTTPS and HSTS
// cannot. See package config.
//
// # Reload and shutdown
//
// The routing table is an immutable snapshot swapped atomically
// ([Server.Reload]): a reload validates the whole new configuration
// (unless it is as config.Load returned it: [config.Config.Checked]),
// builds each app's middleware and proxy, lets the reload hook apply
// other changes (certificate files), tells the certificate manager the
// new domains, and only then swaps. A configuration that fails any step
// is refused and logged, and the old one keeps serving; in-flight requests
// finish with the table they started with. With [WithConfigFile], Serve
// polls the file's content every second and reloads when it changes;
// [Server.ReloadFile] is what SIGHUP should call. Listener addresses,
// read_header and idle, the header limit and the access log apply at the
// next start; the other timeouts apply to requests that start after the
// reload.
//
// # Changing one app
//
// [Server.ApplyApp] changes, adds or removes one app without rebuilding
// the table, for the admin API's changes: at 100 000 domains a reload
// takes about a second and hundreds of MiB, a change of one app a
// fraction of a millisecond and memory in proportion to the app. The
// table's indexes (hosts, wildcard parents, app names) are split into
// 1024 shards by a hash of the key; a change builds the one app, copies
// the array of shard pointers and the few shards its domains touch, and
// swaps the new table in. Every other app, with its middleware, proxy and
// metrics, is shared with the previous table, so the apps point to what
// the tables of one full build share (appEnv: its settings, and the live
// table for their own lookups) rather than to one table. The app is
// validated against the others by the rules of the file
// ([config.Config.ValidateApp], also behind [Server.CheckApp]), the
// certificate manager is told the domains added and removed
// ([DomainUpdater]; ManageDomains with every domain for a manager without
// it), and a refusal at any step changes nothing. Requests in flight keep
// the table, and the app, they started with. forcehttps_edge_apply_seconds
// measures the changes applied. A reload or a restart builds the whole
// table again, from the file and the overlay.
//
// When the context given to Serve is done (SIGTERM), the listeners close
// at once and in-flight requests have timeouts.shutdown to finish.
//
// # Logs and metrics
//
// The access log has one JSON line per request: time, app, host, method,
// path, status, bytes, duration_ms, request_id, scheme, peer, client_ip,
// action (proxy, redirect, refuse, respond, acme, reject, error) and reason (the
// middleware's [forcehttps.Reason], such as redirect, exempt:acme,
// exempt:path, or the edge's own: unknown-host, sni-mismatch,
// acme-http-01), plus, when they apply, upstream_error when the app
// failed, cut when the exchange was cut (client_idle, client_gone,
// upstream_read_idle, upstream_reset, stream_idle, max_duration, with the
// bytes actually sent in bytes), and grpc_status and grpc_message of a
// gRPC answer. Status 499 means the client went away before the app
// answered. With format json (the default) a line is what slog's
// JSONHandler writes, byte for byte, but formatted by package accesslog
// without slog, allocation-free: slog's general formatting took a tenth
// of the edge's time on redirects. Format text, and a logger given with
// [WithAccessLog], go through slog.
//
// The admin listener serves /metrics for Prometheus, from a registry of
// its own:
//
//	forcehttps_edge_requests_total{app,scheme,code}
//	forcehttps_edge_redirects_total{app,reason}        reason: plain-http, untrusted-peer, trusted-proxy:<header>
//	forcehttps_edge_hsts_injected_total{app}           HSTS added because the app sent none
//	forcehttps_edge_upstream_errors_total{app,kind}    kind: connect, timeout, response, body-too-large
//	forcehttps_edge_cuts_total{app,reason}             reason: as the access log's cut
//	forcehttps_edge_request_duration_seconds{app,scheme}
//	forcehttps_edge_config_reloads_total{result}       result: success, failure
//	forcehttps_edge_apply_seconds                      time to apply a change of one app (histogram)
//	forcehttps_edge_certificate_expiry_timestamp_seconds{name,source}
//	forcehttps_build_info{version,goversion}
//
// plus the Go runtime and process collectors. Requests for hosts no app
// serves count under app="_unknown". Label sets are resolved when a
// configuration is loaded, so counting costs a request no lookup.
//
// [WithAdminHandler] serves every other path of the admin listener with
// a handler of the caller's: the admin API and dashboard.
//
// # HTTP/2 requests
//
// HTTP/2 is Go's server (net/http), which checks most of the framing
// rules of RFC 9113 itself. Where it lets a malformed request through,
// the edge refuses it before it reaches an app (h2guard.go): a
// content-length that differs from the DATA sent. More DATA than declared
// gets a stream reset from Go (and content-length: 0 is held until the
// stream ends, so that such DATA cannot race a complete request to the
// app); a stream ending before the declared length gets 400, either at
// once (END_STREAM on the HEADERS) or when its body ends short, in which
// case the upstream request is abandoned mid-body: the app sees an
// incomplete request and a closed connection, never a complete one.
// Conflicting or invalid content-length values get 400. The largest
// frame accepted, and announced, is the protocol's initial 16 KiB rather
// than Go's 1 MiB: a larger HEADERS or DATA frame is a connection error
// (FRAME_SIZE_ERROR), as peers that assume the initial value expect.
//
// What remains, from h2spec's 145 cases, is Go's choice of answer, not a
// request reaching an app: connection-specific header fields (Connection,
// Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade) and a TE
// other than "trailers" get a 400 response where the RFC asks for a
// stream error, and the order of SETTINGS acknowledgements follows Go's
// server. Changing them would mean replacing it.
//
// # Overlay
//
// [WithOverlay] derives the configuration the edge serves from the one it
// is given, at start and on every reload (file or [Server.Reload]): the
// admin API applies its per-app changes (Force HTTPS, HSTS, redirects) on
// top of the file that way, so a reload of the file keeps them. The
// result is validated like the file. [Server.Rebuild] applies the
// current configuration again when what the overlay returns has changed,
// with the same atomic swap as a reload; [Server.Config] returns it
// without the overlay. A change of one app need not rebuild everything:
// the caller computes that app as the overlay would and hands it to
// [Server.ApplyApp].
//
// # Builtin upstreams
//
// An app whose upstream is "builtin:<name>" is served by a handler
// registered with [WithBuiltin], which the edge runs on a loopback port
// of its own and proxies to like any app, so the handler sees the request
// exactly as an app would. The header inspector of the embedded default
// configuration is one.
package edge

// Package config reads and validates the configuration of the forcehttps
// edge: listeners, the proxies trusted in front of it, certificate
// sources, and the apps with their Force HTTPS policy.
//
// [Load] reads a file, [Parse] decodes bytes, [Default] returns the
// embedded default. All three return a [Config] with every default filled
// in, validated as a whole, or a [*ValidationError] that lists every
// problem at once, each a [*FieldError] with its field path and line:
//
//	edge.yaml: invalid configuration (3 errors):
//	  trusted_proxies[2]: "10.0.0.0/33" is not a CIDR prefix or an IP address (line 4)
//	  apps[0].upstream: "ftp://x": scheme must be http, https or h2c (line 11)
//	  apps[1].domains[0]: "Shop.example.com" is also a domain of app "shop" (apps[0]) (line 19)
//
// # Format
//
// YAML, or JSON for files ending in ".json" (JSON is checked to be JSON,
// then decoded by the same strict decoder, so errors carry the same paths
// and lines). Keys are exact and case-sensitive. Unknown keys, repeated
// keys and values of the wrong type are errors, with a suggestion for a
// misspelt key. Durations are written "10s", "1m30s", "2h". YAML anchors
// and aliases work; merge keys ("<<") do not. Files are limited to 4 MiB.
//
// # Keys
//
//	listen:
//	  http: ":80"                 # plain-HTTP listener: ACME HTTP-01, redirects
//	  https: ":443"               # TLS listener: HTTP/2 and HTTP/1.1
//	  https_public_port: 0        # port in redirect URLs; 0: the port of https (443 is left out)
//	  http2_server: builtin       # or net/http: who serves HTTP/2 on https
//	trusted_proxies: []           # CIDRs or IPs of proxies in front of the edge
//	tls:                          # at least one source
//	  certificates: [{cert_file: a.pem, key_file: a.key}]  # chosen by SNI
//	  self_signed: [localhost]    # generated at start, for development
//	  acme:                       # certificates for the apps' domains, and only those
//	    email: ops@example.com
//	    directory: https://acme-v02.api.letsencrypt.org/directory
//	    storage: ./state/acme     # share it between replicas
//	    ca_root: ""               # PEM roots for a private or test CA
//	    challenges: {http: true, tls_alpn: true}
//	    renewal_window_ratio: 0   # 0: one third of the lifetime
//	    on_demand: false          # order at the first handshake naming a domain
//	    on_demand_orders_per_hour: 50   # new on-demand orders per replica, 1-300
//	    on_demand_timeout: 8s     # a handshake's wait; below timeouts.read_header
//	apps:
//	  - name: shop                # logs and metrics; unique
//	    domains: [shop.example.com, "*.shop.example.com"]  # unique across apps
//	    upstream: http://127.0.0.1:9000   # scheme required: http://, https://, h2c:// (HTTP/2 without TLS, gRPC), builtin:inspector
//	    http2: false              # speak HTTP/2 to an https upstream (gRPC)
//	    timeouts: {max_duration: 0}   # hard cap on any exchange, tunnels included; 0: none
//	    force_https: true         # default true
//	    include_dev_hosts: false  # force localhost and IP hosts too
//	    redirect: {status: 301, unsafe_status: 308, temporary: false}
//	    hsts: {max_age: 31536000, include_subdomains: false, preload: false, revoke: false, disable: false}
//	    exempt_paths: [/healthz]  # served over plain HTTP; the ACME path always is
//	    security_headers: {defaults: false, headers: {}}
//	    secure_cookies: false
//	    respond:                  # answered by the edge itself, not proxied
//	      - path: /health         # the exact decoded request path; unique in the app
//	        status: 200           # default 200; 200 to 599
//	        body: "ok\n"          # default empty; at most 64 KiB
//	        content_type: "text/plain; charset=utf-8"   # the default
//	timeouts: {read_header: 10s, client_idle: 60s, stream_idle: 1h, idle: 120s,
//	           upstream_dial: 5s, upstream_response_header: 30s,
//	           upstream_read_idle: 60s, shutdown: 20s}
//	limits: {max_header_bytes: 65536, max_body_bytes: 0}
//	access_log: {format: json, output: stderr}   # or stdout, off, a file
//	admin:                        # absent: no admin listener (the default)
//	  listen: "127.0.0.1:9090"    # /metrics, the admin API and dashboard
//	  token_file: admin.token     # bearer token; absent: generated at the first start
//	  state_file: ""              # absent: <config file>.state.json
//	  allowed_hosts: []           # Host values accepted besides its own address and localhost
//	  tls: {cert_file: admin.pem, key_file: admin.key}  # required beyond loopback
//	  insecure_plain_http: false  # true: plain HTTP beyond loopback, the token in clear
//	  tokens_file: admin.tokens   # named tokens, "name: token" lines, re-read on change
//	  audit_log: audit.jsonl      # JSON lines of every change through the API
//	cluster:                      # absent: a single node, state and certificates in files
//	  postgres: "postgres://forcehttps@db.internal/forcehttps?sslmode=verify-full"  # never logged
//	  postgres_file: ""           # or a file holding the URL (when it has a password)
//	  replica: edge-1             # default: the host name; unique among live replicas
//	  member_timeout: 30s         # silent longer: shown as gone, name free again
//	  resync: 10s                 # state re-read without a notification, as a backstop
//
// Each field of [Config] documents its key and default.
//
// # Validation
//
// Everything is checked together, so one run lists every mistake:
// addresses are host:port; trusted proxies are CIDR prefixes or addresses,
// and not 0.0.0.0/0 (that would let any client claim https); app names are
// unique; domains are valid host names, one-label "*." wildcards or IP
// addresses, and no domain belongs to two apps, compared after
// normalisation with [forcehttps.ParseHostPattern] (case, trailing dot,
// punycode); upstreams are absolute http, https or h2c URLs with a host
// and no path, query or credentials, or a known builtin ("127.0.0.1:9001",
// without a scheme, is refused with the forms that are accepted); http2 is
// only set on https upstreams. Timeouts are not negative, and those that
// protect the edge (read_header, client_idle, stream_idle,
// upstream_read_idle, ...) are positive. Each app's Force HTTPS
// policy is built with [forcehttps.New] ([Config.Policy]), so statuses,
// exempt paths, HSTS (preload needs max_age ≥ 31536000 and
// include_subdomains) and headers are validated by the same code that
// applies them, and its errors are reported at the app's keys. Static
// responses are checked as described below.
//
// [Config.Checked] reports whether a Config still holds what [Load] or
// [Parse] validated (a fingerprint of every field, taken then): the edge
// validates again only what is not, since for a large table validation
// costs as much as building the routing table.
//
// [Config.ValidateApp] checks one app by the same rules, against the
// other apps as [Others] describes them rather than against Apps: an
// edge validates a change of one app through its index of domains and
// names, without going through every app. [Config.Validate] checks each
// app with the same code.
//
// [Load] also checks the files, in the same pass, so that one run still
// lists every mistake: the CA root must hold a PEM certificate, and each
// certificate pair is checked by the code the certificate manager serves
// it with (internal/certfile): both files readable, a certificate that
// names something, valid now (not expired, not yet to come), and the key
// of that certificate, not of another; so is admin.tls. The admin token file, when set, must be
// readable and not empty, the admin tokens file must parse, and the directory of an access log file must
// exist. A file "--check-config" accepts is one the edge starts with.
//
// # Certificates
//
// [Load] refuses a domain that Force HTTPS redirects to but that no
// certificate source covers: visitors would be sent from a working
// http:// page to a certificate error, and, once HSTS is cached, could not
// go back. The edge never redirects to a name it cannot serve. A domain
// is covered by a certificate file that names it (a "*." name covers one
// label, as in TLS), by a self_signed name (served, if untrusted: the
// embedded default's localhost), or by tls.acme, which covers exact names
// but not wildcards or IP addresses (HTTP-01 and TLS-ALPN-01 cannot
// validate them). Not checked: apps with force_https false, which are
// proxied over plain HTTP as they are, and development hosts (localhost,
// *.localhost, IP addresses), which are not redirected unless
// include_dev_hosts is set. The error names the fix: a certificate, or
// force_https: false until HTTPS works. Refusing, rather than serving the
// app over plain HTTP with a warning, keeps the file the single truth:
// what it says is what the edge does. Reloads are checked the same way
// and a refused one leaves the running configuration in place.
//
// # Decisions
//
// force_https defaults to true: a new app is HTTPS-only unless it says
// otherwise. With force_https false, requests are proxied on both
// listeners and no HSTS is sent; hsts.revoke then sends max-age=0, which
// is how Force HTTPS is turned off without leaving browsers pinned.
//
// The edge adds no security headers and leaves cookies alone unless an
// app opts in (security_headers.defaults, security_headers.headers,
// secure_cookies): a Content-Security-Policy the app did not write can
// break it, while Force HTTPS and HSTS cannot. Headers are only added where
// the app did not set them.
//
// localhost, *.localhost and IP-address hosts are not forced unless
// include_dev_hosts is set, as in the middleware. The embedded default
// sets it, to show the feature on localhost.
//
// Relative paths in a file read by [Load] are relative to the file's
// directory, not to the working directory, so that the edge finds its
// certificates wherever it is started from.
//
// # Timeouts
//
// Only the request head (read_header) and the shutdown drain have whole
// bounds. The others count idle time, as nginx's client_body_timeout,
// send_timeout and proxy_read_timeout do: a slow upload, a slow
// download or an event stream that keeps moving is never cut. The keys
// timeouts.read and timeouts.write of earlier versions bounded whole
// exchanges; a configuration that still has them is refused with a
// message naming what replaces them (client_idle, stream_idle,
// apps[].timeouts.max_duration), rather than read with another meaning.
//
// # Builtin upstreams
//
// "builtin:inspector" is the header inspector, run by the edge inside its
// own process on a loopback port, so that it sees the request exactly as
// an app would, X-Forwarded-* headers included. [Builtins] lists the
// names.
//
// # Static responses
//
// An app's respond list holds answers the edge serves itself, in its own
// process, without reaching the upstream: a health check, robots.txt,
// security.txt, a maintenance text. Each answers one exact path,
// compared byte for byte with the decoded request path (r.URL.Path):
// /health answers neither /health/ nor /Health. [Parse] and [Load] fill
// in the defaults, status 200 and [DefaultContentType], so that each
// [Response] holds what is sent.
//
// The rules keep that comparison unambiguous and the answer sendable. A
// path starts with "/", is printable ASCII without space, "?", "#", "%",
// "\" or ";", has no "//" and no "." or ".." segment (a final "/" is
// allowed), and is at most 1024 bytes: percent-encoding is refused because
// the path is compared after decoding, and "\" and ";" mean something else
// to some servers. No path may be under /.well-known/acme-challenge/,
// whatever its case: the certificate manager answers there. A status is
// 200 to 599, since a 1xx status is not a final answer, and 204, 205 and
// 304 have no body. A body is at most 64 KiB. A content_type is a
// type/subtype media type with optional parameters and no control
// characters; it is checked even when the body is empty, though it is not
// sent then. An app has at most 256 responses, each for a different path.
package config

// Package audit checks a live site's HTTPS setup and grades it, the way
// Mozilla HTTP Observatory, securityheaders.com, hstspreload.org and SSL
// Labs do, in one run. It is the engine of "forcehttps check".
//
//	t, err := audit.ParseTarget("example.com")
//	...
//	rep, err := audit.Run(ctx, audit.Options{Target: t})
//	if err != nil {
//		// the site could not be audited: DNS, refused, timeout, TLS, endless redirects
//	}
//	audit.WriteText(os.Stdout, rep, false)
//	fmt.Println(rep.Grade, rep.Score)
//
// # What is checked
//
// [Run] makes, in order, bounded by Options.Timeout each and
// Options.TotalTimeout in all:
//
//  1. The plain-HTTP chain: GET http://host/path and its redirects,
//     followed one by one (never by net/http), at most
//     Options.MaxRedirects. When the target leaves the HTTPS port unset
//     (an http:// URL, or a bare host without a port), the port of the
//     first https URL this chain reaches on the audited host becomes the
//     HTTPS port; a redirect to another host does not move the audit
//     there, and 443 is used ([Report.HTTPSPortSource] says which).
//  2. TLS: a default handshake (version, cipher suite, ALPN, stapled OCSP
//     response, certificate chain); one handshake per protocol version
//     from TLS 1.0 to 1.3, each pinned with MinVersion = MaxVersion and
//     offering every cipher suite Go implements, insecure ones included,
//     in Go's order (ECDHE with AEAD first, as browsers do); and, for each
//     version from TLS 1.0 to 1.2 the server accepts, one handshake per
//     cipher suite Go can speak with it, offering that suite alone: the
//     suites of [tls.CipherSuites] and [tls.InsecureCipherSuites] (AES-GCM,
//     ChaCha20-Poly1305, AES-CBC with SHA-1 and SHA-256, 3DES, RC4; ECDHE
//     and RSA key exchange). These run at most 4 at a time, each bounded
//     by Options.Timeout: about 50 handshakes for a server that accepts
//     every version. The chain is verified against the system roots or
//     Options.RootCAs, for the host, at Options.Now.
//  3. The HTTPS chain: the same as the first from https://host:port/path.
//     The last response is the page whose headers and cookies are graded.
//
// Requests look like a browser navigation (they send
// Upgrade-Insecure-Requests: 1), ignore proxy environment variables, read
// at most Options.MaxHeaderBytes of headers and 64 KiB of body, and never
// send anything secret. Options.Resolve sends connections for a name to a
// fixed address (curl's --resolve) while SNI and Host keep the name.
//
// A site that answers badly is graded; a site that cannot be audited is an
// error: DNS failure, or a refused connection on both ports
// ([ErrUnreachable]), a timeout ([ErrTimeout]), no TLS handshake possible
// ([ErrHandshake]), an unreadable response such as oversized headers
// ([ErrResponse]), a redirect chain longer than MaxRedirects or an HTTPS
// redirect loop ([ErrRedirects]). Nothing listening on the plain-HTTP port
// is a finding, not an error, and so are a plain-HTTP redirect loop and a
// plain-HTTP redirect to a URL where nothing listens. Nothing listening on
// the HTTPS port while plain HTTP answers is the worst finding of all,
// tls-no-https: the site has no HTTPS, it is graded F, and the headers and
// cookies graded are those of the last plain-HTTP response.
//
// # Scoring
//
// The scheme is Mozilla Observatory's: start at 100, apply the modifier of
// each finding, and map the score to a letter. Findings belong to
// categories (Observatory's tests); in each category only the most negative
// modifier counts, or, when there is none, the largest bonus. Bonuses count
// only when the score without them is at least 90 ([BonusThreshold]). The
// score never goes below 0. Grades: 100 and up A+, 90 A, 85 A-, 80 B+,
// 70 B, 65 B-, 60 C+, 50 C, 45 C-, 40 D+, 30 D, 25 D-, below 25 F.
//
// Some findings cap the grade instead, like SSL Labs: the grade is the
// worse of the score's grade and the strictest cap. [Report.CappedBy]
// names the findings that lowered it.
//
//	category                      finding                        modifier or cap
//	redirect                      redirect-missing               -20  http:// answers without redirecting
//	                              redirect-loop                  -20
//	                              redirect-final-http            -20  the chain ends on http://
//	                              redirect-https-to-http         -20  the HTTPS site sends visitors back to http://
//	                              redirect-unreachable           -20  a redirect leads to a URL that does not answer
//	                              redirect-invalid-cert          -20  another host of the chain has a bad certificate
//	                              redirect-first-not-https       -10  first hop to another http:// URL
//	                              redirect-no-http               -10  nothing answers on http://
//	                              redirect-off-host               -5  first hop to https on another host
//	                              redirect-temporary               0  302, 303 or 307 from http://
//	                              redirect-308                     0  old clients do not follow 308
//	                              redirect-many-hops               0  more than 3 redirects
//	hsts                          hsts-missing                   -20
//	                              hsts-multiple                  -20  more than one header line
//	                              hsts-invalid                   -20  rejected by forcehttps.ParseHSTS
//	                              hsts-revoked                   -20  max-age=0
//	                              hsts-short                     -10  max-age under 15552000 (6 months)
//	                              hsts-under-one-year              0  6 to 12 months
//	                              hsts-no-include-subdomains       0
//	                              hsts-over-http                   0  sent over plain HTTP, where it is ignored
//	                              hsts-redirect-missing            0  an HTTPS redirect of the host lacks it
//	                              hsts-preload-ready               0  preload asked for, requirements met
//	                              hsts-preload-not-ready           0  preload asked for, requirements not met
//	tls                           tls-no-https                 cap F  plain HTTP answers, nothing on the HTTPS port
//	                              tls-cert-expired             cap F
//	                              tls-cert-not-yet-valid       cap F
//	                              tls-cert-name-mismatch       cap F
//	                              tls-cert-untrusted           cap F  the chain does not verify
//	                              tls-no-modern-version        cap C  neither TLS 1.2 nor 1.3
//	                              tls-legacy-version           cap B  TLS 1.0 or 1.1 accepted
//	                              tls-cipher-weak              cap B  the default handshake got RC4, 3DES, CBC or RSA key exchange
//	                              tls-weak-preferred           cap B  a client limited to TLS 1.2 gets CBC or RSA key exchange
//	                              tls-suite-insecure           cap C  one per RC4 or 3DES suite accepted (cap B if TLS 1.0 only)
//	                              tls-suite-no-fs                  0  one per RSA key exchange suite accepted
//	                              tls-suite-cbc                    0  one per ECDHE suite with CBC accepted
//	                              tls-key-weak                 cap B  RSA under 2048 bits, ECDSA under 256
//	                              tls-no-tls13                     0
//	                              tls-cert-expiring                0  less than 14 days left
//	                              tls-ocsp-stapled, tls-ocsp-not-stapled   0
//	csp                           csp-missing, csp-invalid       -25  report-only policies do not count
//	                              csp-unsafe-inline              -20  in script-src, without nonce or hash
//	                              csp-script-data                -20  data: in script-src
//	                              csp-script-broad               -20  *, https:, http: in script-src
//	                              csp-script-unrestricted        -20  no script-src nor default-src
//	                              csp-object-broad               -20
//	                              csp-object-unrestricted        -20  no object-src nor default-src
//	                              csp-insecure-scheme            -20  http: sources for active content
//	                              csp-unsafe-eval                -10
//	                              csp-insecure-scheme-passive    -10  http: images or media
//	                              csp-default-none               +10  default-src 'none', nothing unsafe
//	                              csp-ok                          +5  nothing unsafe
//	                              csp-style-unsafe                 0  but no bonus
//	                              csp-strict-dynamic-no-nonce      0  but no bonus
//	                              csp-object-not-none, csp-no-default-src, csp-no-frame-ancestors,
//	                              csp-report-only, csp-duplicate-directive, csp-unknown-directive,
//	                              csp-invalid-source, csp-unquoted-keyword   0
//	x-frame-options               xfo-missing, xfo-invalid       -20
//	                              xfo-frame-ancestors             +5  CSP frame-ancestors restricts framing
//	                              xfo-allow-from                   0  ignored by browsers
//	x-content-type-options        xcto-missing, xcto-invalid      -5
//	referrer-policy               referrer-policy-unsafe          -5  unsafe-url, origin, origin-when-cross-origin, no-referrer-when-downgrade
//	                              referrer-policy-invalid         -5
//	                              referrer-policy-private         +5  no-referrer, same-origin, strict-origin, strict-origin-when-cross-origin
//	                              referrer-policy-missing          0
//	permissions-policy            permissions-policy-missing       0
//	cross-origin-opener-policy    coop-missing, coop-invalid, coop-unsafe-none   0
//	cross-origin-resource-policy  corp-invalid                    -5
//	                              corp-ok                        +10  same-origin or same-site
//	                              corp-cross-origin, corp-missing  0
//	cookies                       cookie-session-no-secure       -40  -10 when HSTS of 6 months or more protects it
//	                              cookie-session-no-httponly     -30
//	                              cookie-no-secure               -20  -5 when HSTS protects it
//	                              cookie-samesite-invalid        -20
//	                              cookie-csrf-no-samesite        -20
//	                              cookies-ok                      +5  all Secure and SameSite, sessions HttpOnly
//	                              cookie-prefix-invalid, cookie-invalid, cookies-no-samesite, cookies-none   0
//
// Passing findings (redirect-ok, hsts-ok, tls-versions-ok, tls-cipher-ok,
// tls-cert-ok, xfo-ok, xcto-ok, permissions-policy-ok, coop-ok) carry no
// modifier.
//
// With forcehttps' defaults a page without inline scripts scores 125 (A+):
// 100, plus 5 for the CSP, 5 for frame-ancestors, 5 for the Referrer-Policy
// and 10 for Cross-Origin-Resource-Policy.
//
// # Where we differ from Observatory, and why
//
//   - Nothing listening on port 80 costs 10 (Observatory: 0). Force HTTPS
//     means a visitor who types the name or follows an old http:// link
//     reaches the HTTPS site; a closed port gives them an error instead.
//     It costs less than a missing redirect (-20), since nothing is served
//     in clear.
//   - max-age=0 counts as missing HSTS (-20; Observatory: under six months,
//     -10): it revokes the policy, so browsers are not protected at all.
//   - No +5 for a preloaded host: the audit does not download the preload
//     list. It checks hstspreload.org's requirements instead when the
//     header asks for preload.
//   - An invalid certificate (expired, not yet valid, wrong name,
//     untrusted chain) caps the grade at F instead of costing 20 in two
//     tests: browsers show an interstitial, and SSL Labs would give T or M.
//     Those letters are not used so that every grade can be compared with
//     --min-grade. Options.Insecure reports the problems without the cap.
//   - TLS is graded with SSL Labs' and testssl.sh's caps, which Observatory
//     does not test. See "Cipher suites" below.
//   - An HTTPS redirect back to plain HTTP costs 20 in the redirect
//     category.
//   - 'strict-dynamic' without a nonce or hash is a warning (Observatory:
//     invalid policy, -25): it blocks every script, which is broken but not
//     unsafe.
//   - Several CSP policies are all enforced by browsers, so a weakness is
//     counted only if every policy has it; Observatory merges them. Plain
//     http: URLs in non-source directives (report-uri) are not counted.
//     Policies in <meta> elements are not read, since bodies are not.
//   - Cookies are collected from every response of both chains, redirects
//     included; a Secure cookie set over plain HTTP counts as not Secure;
//     "auth", "jwt" and a "sid" name part also mark session cookies
//     (Observatory: "login", "sess"); __Host- and __Secure- prefix
//     violations are reported.
//   - Permissions-Policy (graded by securityheaders.com) and
//     Cross-Origin-Opener-Policy are reported but not scored, as in
//     Observatory's current chart.
//   - Not checked: Subresource Integrity and CORS, which need the page body
//     or extra requests.
//
// # Cipher suites
//
// Every suite a version accepts is listed (TLSVersion.Suites), and each
// weak one is a finding, as testssl.sh lists them and SSL Labs labels them
// WEAK or INSECURE. The caps follow SSL Labs' rating guide and its grading
// updates (Qualys blog, "SSL Labs Grading Update: Forward Secrecy,
// Authenticated Encryption and ROBOT", effective 1 March 2018; "SSL Labs
// Grading Changes for 2017"), and testssl.sh's RATING section:
//
//   - no forward secrecy, or no AEAD, for the clients that can do better
//     caps at B (SSL Labs 2018; testssl.sh: "no FS", "no AEAD"). SSL Labs
//     judges it from its browser simulations and explicitly does not
//     penalise weak suites that good clients never negotiate. Here a good
//     client is the default handshake (tls-cipher-weak) and a client
//     limited to the newest version below TLS 1.3, offering every suite
//     with ECDHE and AEAD first (tls-weak-preferred): a server whose TLS
//     1.2 preference puts CBC or RSA key exchange first is capped, one
//     that only accepts them beside ECDHE with AES-GCM is not, but each
//     such suite is reported (tls-suite-no-fs: warn; tls-suite-cbc: info).
//     Go's own default configuration accepts two ECDHE suites with CBC in
//     TLS 1.2, so a Go server is reported with two tls-suite-cbc findings
//     and still gets A+.
//   - 3DES (SWEET32) with TLS 1.1 or newer caps at C (SSL Labs 2017;
//     testssl.sh: SWEET32 on TLS 1.1 → C), and so does RC4 (SSL Labs 2015:
//     RC4 with TLS 1.1 or newer; testssl.sh: RC4 → B, C with TLS 1.1).
//     Accepted with TLS 1.0 only, they cap at B, which TLS 1.0 does anyway.
//   - TLS 1.0 or 1.1 caps at B (SSL Labs, 31 January 2020); no TLS 1.2 nor
//     1.3, at C (testssl.sh).
//
// What it cannot test, since a Go client cannot speak it: SSL 2 and SSL 3
// (SSL Labs: F and B caps), export and NULL suites, anonymous, PSK and SRP
// suites, finite-field DHE suites (a server offering only DHE looks like
// one with no suite in common; one offering DHE beside RSA key exchange
// has its DHE suites missing from the list), Camellia, ARIA, SEED, IDEA
// and AES-CCM suites, and each TLS 1.3 suite alone (a Go client always
// offers all three; all are AEAD with forward secrecy, so only the one
// negotiated is listed). Nor does it test key exchange groups, DH
// parameter sizes, renegotiation, compression (CRIME), session tickets,
// or vulnerabilities such as Heartbleed, ROBOT, POODLE and DROWN; for
// those, run testssl.sh or SSL Labs.
//
// # JSON
//
// [WriteJSON] writes the [Report] as JSON, schema_version 1. Fields are
// never removed or change meaning within a version; new fields and new
// finding IDs may appear. Times are RFC 3339 in UTC.
//
//	schema_version  1
//	target          the HTTPS URL audited
//	https_port_source  where its port comes from: "given" (the URL, the
//	                host:port or --https-port), "redirect" (the plain-HTTP
//	                redirect to https on the same host) or "default" (443:
//	                the redirects name no https URL on the host)
//	host            the host
//	checked_at      when the audit started
//	grade           "A+" … "F", after caps
//	score           the score, with bonuses when base_score >= 90
//	base_score      100 plus the counted penalties
//	score_grade     the grade of score alone
//	capped_by       IDs of the findings whose cap lowered the grade ([] if none)
//	findings[]      id, category, severity (pass|info|warn|fail), message,
//	                modifier, counted (entered the score), cap (optional),
//	                fix (optional, one line)
//	http, https     the chains: start, hops[] (url, status, proto, location,
//	                hsts[], cert_error), loop, error (nothing listens)
//	headers         graded headers of the final HTTPS response, by name
//	tls             address, versions[] (name, offered, error,
//	                negotiated, suites[], suites_unknown[]), version,
//	                cipher_suite, alpn, ocsp_stapled, certificate (subject,
//	                issuer, dns_names, ip_addresses, not_before, not_after,
//	                days_left, key, signature_algorithm), chain_length,
//	                verified, verify_errors[], error (nothing answers HTTPS)
//
// When the site cannot be audited, "forcehttps check --json" still prints
// JSON, a [Failure] of the same schema_version with no grade and an error:
//
//	schema_version  1
//	target, host    as far as they are known
//	checked_at      when the audit started
//	error           kind (usage, target, unreachable, timeout, handshake,
//	                response, redirects, interrupted, internal) and message
//
// A consumer tells the two apart by the error key.
package audit

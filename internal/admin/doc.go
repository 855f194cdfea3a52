// Package admin turns Force HTTPS on and off per app, safely, through a
// JSON API and a dashboard on the edge's admin listener.
//
//	adm, err := admin.New(admin.Options{StateFile: path, Token: token})
//	srv, err := edge.New(cfg, certs, edge.WithOverlay(adm.Overlay), edge.WithAdminHandler(adm.Handler()))
//	adm.Attach(srv)
//	go adm.Run(ctx) // ends HSTS drains on time
//
// # State
//
// Changes are kept per app in a JSON file ([State]), by default the
// configuration file's path plus ".state.json":
//
//	{
//	  "version": 1,
//	  "apps": {
//	    "shop": {
//	      "force_https": true,
//	      "enabled_at": "2026-01-02T03:04:05Z",
//	      "ramp": true,
//	      "disabled_at": "...", "drain_until": "...",
//	      "hsts": {"max_age": 31536000, "include_subdomains": false, "preload": false},
//	      "redirect": {"status": 301, "unsafe_status": 308, "temporary": false},
//	      "max_age_sent": 300
//	    }
//	  }
//	}
//
// Absent keys leave the configuration file's value. The file is written
// atomically: a temporary file in the same directory, fsynced, renamed
// over the old one, then the directory fsynced; a crash leaves the old
// state or the new one. It is read at start and overlaid on the apps of
// the configuration ([Admin.Overlay]) at every build of the edge's routing
// table, so a reload of the configuration file keeps the changes. A
// change takes effect through the edge's atomic reload: requests in
// flight finish with the old policy, none is dropped. Changes are
// serialized: state, file and reload under one lock.
//
// A value the API changed wins over the configuration file until the app
// is reset, even if the file changes it later. That is shown, not
// hidden: each app's "sources" say, per key the API can change, "file"
// or "api" with the file's value; the dashboard and "forcehttps apps
// show" list the overridden keys; and when a reload of the file changes
// a value the state overrides, the edge logs a warning naming the app,
// the key, the file's old and new values and the one in effect (at
// start, every override that differs from the file is logged once).
// [Admin.Reset] drops an app's overrides: the file's values apply again,
// under the rules of enable and disable (below).
//
// # Stores
//
// The state lives in a [Store]: [FileStore] (the file above) on a single
// node, or a database shared by the replicas of a cluster (package
// pgstate). A change reads the store's snapshot, changes one app,
// validates, and commits only if that app did not change after the
// snapshot's version (optimistic concurrency): a concurrent change of the
// same app gets a *[ConflictError] holding the current snapshot, and the
// API answers 409 with the app as it now is. Changes of other replicas
// arrive through [Watcher] and [Admin.Apply], which applies them the same
// way. Times of enables and drains are stored with the change, so
// every replica computes the same max-age from them. When the store
// cannot be reached ([ErrStoreUnavailable]) nothing changes, the edge
// keeps serving, and the API answers 503.
//
// # Enabling
//
// Enable first runs a preflight ([Admin.Preflight]): for every domain of
// the app, https://<domain>/ is fetched through the edge's own HTTPS
// listener (dialled on loopback), with the domain as server name and
// Host. The certificate must chain to the system roots or
// [Options.Roots] and cover the name, and the app must answer below 500,
// within [Options.PreflightTimeout]. Wildcard domains cannot be fetched
// and are reported as skipped. If any domain fails, nothing changes and
// the API answers 409 with the per-domain report; force skips the check
// ("--force" in the CLI, which the error names).
//
// The check asks whether browsers will accept the certificate, so a
// self-signed one fails it, as it would in browsers, and so does one of
// a private CA unless [Options.Roots] has that CA. The edge's command
// fills Roots with tls.acme.ca_root, admin.preflight_ca_file (the
// private CA an operator's users trust: the honest way to pass the check
// with such a certificate) and, only when it names loopback addresses
// alone (localhost, *.localhost, 127.0.0.0/8, ::1), the edge's own
// self-signed certificate: that is the embedded default, reachable from
// this machine only, where browsers ignore HSTS sent with an untrusted
// certificate, so nothing gets pinned by mistake.
//
// With ramp, HSTS max-age grows with the time since the enable: 300 s
// for a day, a week until day 8, 30 days until day 38, then the target
// (forcehttps.RampMaxAge), without any rebuild: the edge's middleware
// reads the clock.
//
// # Disabling safely
//
// Disable stops redirecting but keeps serving HTTPS. Browsers that saw
// HSTS keep using HTTPS for max-age seconds, so if HSTS was ever sent
// (the largest max-age sent is recorded), max-age=0 is sent over HTTPS
// until the drain ends (default: the largest max-age sent; "drain" in the
// request otherwise), then no header at all. [Admin.Run] applies the app
// again when its drain ends ([Admin.Tick]); no restart is needed.
//
// A drain shorter than the largest max-age sent is accepted, since the
// operator may know better, but not silently: the app's "warning" (in
// the answer, the CLI's output and the log) says how long browsers that
// saw that max-age keep forcing HTTPS after the drain ends, until their
// pins expire.
//
// Reset follows the same rules: if the file's value turns Force HTTPS on
// where it was off, the preflight runs first (force skips it); if it
// turns it off after HSTS was sent, max-age=0 is sent for the drain
// ("drain" in the request, else the largest max-age sent); if Force HTTPS
// stays off, a drain in progress goes on; if it stays on, a ramp in
// progress (an API setting, which the file has no key for) goes on
// rather than jumping to the file's max-age. The largest max-age sent is
// kept.
//
// # API
//
//	GET   /api/apps                 {"apps": [app, ...]}
//	GET   /api/apps/{name}          app
//	POST  /api/apps/{name}/enable   {"force": false, "ramp": false} -> app + "preflight", or 409
//	POST  /api/apps/{name}/disable  {"drain": "720h"} (optional) -> app
//	POST  /api/apps/{name}/reset    {"force": false, "drain": "720h"} -> app (+ "preflight"), or 409
//	PATCH /api/apps/{name}          {"redirect": {"status", "unsafe_status", "temporary"},
//	                                 "hsts": {"max_age", "include_subdomains", "preload"}} -> app
//	GET   /api/cluster              the replicas ([ClusterStatus]); 404 outside a cluster
//
// Apps as data: a platform creates apps and custom domains through the
// API, as many as it likes, on an edge whose configuration file may have
// none (allowed when it has an admin listener or a cluster):
//
//	POST   /api/apps                         an app, the JSON of an entry of "apps" in the file -> 201 app
//	PUT    /api/apps/{name}                  the same, replacing an API app -> app
//	DELETE /api/apps/{name}                  -> {"deleted", "warning" if HSTS was sent}
//	POST   /api/apps/{name}/domains          {"domain": "www.shop.example"} -> app
//	DELETE /api/apps/{name}/domains/{domain} -> app
//	GET    /api/apps?domain=D&limit=N&after=NAME  {"apps": [...], "next": NAME}
//
// An API app's definition is kept in its [AppState] ("app"), where the
// state lives (the state file, or the cluster's database: every replica
// serves it within the NOTIFY delay), and [Admin.Overlay] adds it after
// the file's apps at every build, so the edge's atomic reload serves it.
// A change of one app is applied to that app alone: the admin computes
// the app as the overlay would, for that app alone, the edge validates it
// against the apps it serves with the rules that validate the file
// (names, domain uniqueness across all apps, wildcards, upstream URLs:
// config.Config.ValidateApp) before the change is stored, and applies
// it after, without rebuilding the other apps (edge.Server.ApplyApp): a
// change costs in proportion to the app, not to the number of apps. Of
// the changes other replicas made, those of up to 64 apps are applied
// that way, more by a rebuild. A refusal is 422
// with "errors": [{"path", "message"}], paths relative to the request's
// app ("domains[1]") and the other app named with where it comes from
// ("(from the configuration file)"). The apps of the file are read-only
// through these endpoints (409 naming the file); an existing name is 409;
// a concurrent change of the same app is 409 with its current view; a
// cluster store out of reach is 503. Every app view has "origin", "file"
// or "api". Enable, disable, set and reset work on API apps as on the
// file's. If the file later gets an app of the same name, the file's app
// is served and the API's definition is ignored; a reload of the file
// that takes a domain of an API app is refused like any invalid file.
//
// Deleting an app stops serving its domains at once. Browsers that got
// its HSTS header keep using HTTPS for those names until their max-age
// expires, which is harmless while nothing else serves them but pins
// whatever serves them next: the delete answers with a "warning" then;
// disable Force HTTPS first and keep the app for the drain to release
// the pins.
//
// An app ([AppView]) has its name, domains, force_https, hsts (state off,
// ramping, on or revoking; effective_max_age; stage 1-4 while ramping;
// target), redirect, the certificate serving each domain (names,
// not_after, source, or missing), enabled_at, drain_until, a message
// saying in words what the policy does, sources (where each value comes
// from) and, after a short drain, a warning. Policy changes are validated
// and applied like the other changes of one app.
//
// Errors are {"error": "..."} without internal details: 400 for bad JSON
// (unknown fields included) or an invalid change, 401 without the token,
// 404 for an unknown app (named, with the closest name or the list of
// apps) or endpoint, 405 for a wrong method, 413 beyond 64 KiB, 409 for a
// failed preflight or a concurrent change of the app (with "app", its
// current view, and "state_version"), 503 when the cluster store is
// unreachable, 500 when the change could not be saved or applied (the
// previous state is kept).
//
// # Security
//
// Every API request needs "Authorization: Bearer <token>". Tokens are
// named: [Options.Token] is "default", and [Options.TokensFile] holds
// others, one "name: token" a line, read again when it changes (at most
// every [Options.TokensCheck]) so that tokens rotate without a restart.
// A token is compared with every valid one as SHA-256 hashes with
// crypto/subtle, so neither its content nor its length shows in the
// timing. A missing or wrong token gets 401 with WWW-Authenticate:
// Bearer. A dashboard session ends when its token is removed.
//
// # Audit log
//
// Every authenticated request that is not GET or HEAD is logged once
// answered, at info level with the message "admin: audit" and the keys
// who (the token's name, or "dashboard:" and it), action, app, detail
// (the request's parameters as JSON), peer and status; with
// [Options.AuditLog], also as a JSON line appended to that file (mode
// 0600). Change paths name their action with Admin.audit(ctx, action,
// app, detail), ctx being the request's; a change that does not is
// logged as its method and path. Tokens are never logged.
//
// Against DNS rebinding, the Host header must be localhost, 127.0.0.1 or
// [::1] (any port), the admin listener's address, or an entry of
// [Options.AllowedHosts]; anything else gets 421. A request that changes
// something (not GET or HEAD) with an Origin header must come from the
// same origin, else 403.
//
// # Dashboard
//
// "/" is a server-rendered page, readable without JavaScript: apps,
// domains, certificate expiry, Force HTTPS state and HSTS stage, with
// HTML forms to disable, or to check then enable: the check runs the
// preflight and shows the result per domain before the "Confirm enable"
// button ("Enable anyway" when it failed). The login form takes the
// token and starts a server-side session: a random id in a cookie that is
// HttpOnly, SameSite=Strict, Path=/, and Secure when the admin listener
// is reached over TLS (admin.tls in the edge's configuration). On plain
// HTTP, allowed on loopback only unless configured otherwise, a Secure
// cookie would not be sent back by every browser, so it is not Secure
// there. Every form carries the
// session's CSRF token, checked on POST, besides SameSite=Strict and the
// Origin check. The Content-Security-Policy allows no script and no
// inline style; the stylesheet is served from /static/admin.css.
package admin

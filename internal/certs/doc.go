// Package certs provides the certificates of the edge's TLS listener: from
// files, a self-signed one generated at start, and ACME certificates
// obtained and renewed through certmagic. A [Manager] holds all three and
// picks one per handshake ([Manager.GetCertificate], [Manager.TLSConfig]).
//
// # Sources
//
//   - Files ([Options.Files]): PEM certificate (the chain may follow the
//     leaf) and key. [New] rejects a missing or unreadable file, PEM
//     without a certificate or key, a key that does not match, a
//     certificate without subject alternative names, or one that has
//     expired or is not yet valid, listing every bad pair at once, each as
//     a [*FileError] naming its files. [Manager.SetFiles] reloads them the
//     same way and keeps the old set on error.
//   - Self-signed ([Options.SelfSigned]): ECDSA P-256, valid one year from
//     one hour before the start, for the given host names and IP
//     addresses, kept in memory only. The edge's embedded default
//     configuration uses it for "localhost", "127.0.0.1" and "::1".
//   - ACME ([Options.ACME]): certificates for exactly the names given to
//     [Manager.ManageDomains]: the domains attached to apps. A handshake
//     for any other name never starts an order (an attacker pointing DNS
//     at the edge cannot burn the CA's rate limits), on demand or not.
//
// # Selection
//
// The server name is normalized (case, trailing dot; a name that is not
// ASCII, as server names must be, is unknown) and matched exactly
// against the files (in configuration order), then the ACME certificates,
// then the self-signed certificate; then by wildcard ("*.example.com"
// covers one label: a.example.com, not a.b.example.com) against the files
// and the self-signed certificate. Among several candidates, the first one
// that is currently valid and that the client supports wins. A client that
// sends no server name (it connected to an IP address) gets a certificate
// naming the local IP address when there is one. Everything else, unknown
// names included, gets the default certificate: the first file, else the
// self-signed one, else the handshake fails. The edge then answers 421 for
// an unknown Host.
//
// # ACME
//
// Challenges: HTTP-01 is answered by [Manager.HandleHTTPChallenge], which
// the port 80 handler must call before anything else; TLS-ALPN-01 by
// [Manager.GetCertificate] (handshakes offering only "acme-tls/1"), which
// needs the "acme-tls/1" protocol that [Manager.TLSConfig] adds. certmagic
// never opens a listener of its own: its solvers are pointed at a loopback
// port the Manager holds, so they defer to the edge's listeners. Wildcard
// names cannot use either challenge and need a certificate file.
//
// Storage: [ACME.Storage] is a certmagic FileStorage: the account under
// acme/<ca>/users/, certificates, keys and metadata under
// certificates/<ca>/<name>/, challenge tokens under
// acme/<ca>/challenge_tokens/ while a validation runs, and locks under
// locks/. Edge replicas that share this directory (a shared file system
// with working exclusive file creation) coordinate as a cluster: one
// replica obtains or renews a certificate while the others wait on its
// lock and then load the result, and any replica answers the CA's
// validation request, because the challenge is in storage.
// [ACME.SharedStorage] replaces the directory with any certmagic storage,
// such as PostgreSQL (package pgcerts) for replicas without a shared file
// system; everything above then lives there. [ACME.LocalCache] adds a
// copy on local disk of what this replica serves, read first, so that a
// replica restarted while the shared storage is unreachable serves its
// certificates (fail static).
//
// Renewal: certmagic checks managed certificates every
// [ACME.RenewCheckInterval] and renews them when [ACME.RenewalWindowRatio]
// of their lifetime is left, or earlier when the CA's ACME Renewal
// Information says so. A failed renewal is logged and retried with
// backoff; the current certificate keeps being served until a renewal
// succeeds, even past its expiry (clients then fail to verify it, which
// the expiry metric from [Manager.Certificates] should alert on long
// before).
//
// Orders are retried in the background with certmagic's backoff (1 minute
// at first, growing to a day, for 30 days). When the directory is Let's
// Encrypt production, certmagic retries a failed order against Let's
// Encrypt staging first, to spare the production rate limits.
//
// # States
//
// Every managed name has a [State] ([Manager.DomainState]): pending
// until its certificate is in use, then issued; failed, with the CA's
// reason and the time of the next try, after a failed order. States are
// kept from certmagic's events (a certificate cached, an order failed;
// the time of certmagic's next try is computed from its retry table, as
// certmagic does not publish it). [Manager.HTTPSReady] answers from the
// state alone, without a lock shared with orders, for the edge to ask on
// every plain-HTTP request whether it may redirect to HTTPS. A failed
// renewal leaves a name issued: the current certificate keeps serving.
//
// # On demand
//
// With [ACME.OnDemand], ManageDomains only loads what storage already
// holds, and a managed name without a certificate is ordered by the
// first handshake that names it ([Manager.GetCertificate]). The design is
// our own rather than certmagic's OnDemand mode, so that each rule below
// is ours to test: the name must be managed (the "ask" is the app
// table); one order per name runs at a time, every handshake for it
// waiting on the same flight; it first loads the certificate from
// storage (another replica may have obtained it; the order itself takes
// certmagic's issuance lock, so replicas make one order between them);
// new orders are limited per sliding hour
// ([ACME.OnDemandOrdersPerHour], per Manager), a name refused by the limit
// waiting (failed, not ready) until the limit frees an order; after a
// failure the name
// waits [ACME.OnDemandBackoff], doubling up to [ACME.OnDemandMaxBackoff],
// and its handshakes fail at once meanwhile; a handshake waits at most
// [ACME.OnDemandTimeout], then fails while the order goes on. An order is
// one try of certmagic's ObtainCertAsync, cancelled at its first
// failure (ObtainCertSync would prompt on the terminal for a missing
// email address), so that the backoff above is the only one. A
// certificate obtained is cached as managed: certmagic renews it until
// its name is removed. Refused handshakes are logged and counted
// ([Manager.OnDemandRefusals], [Manager.Collector]).
//
// # Lifecycle
//
// Build one Manager with [New] at start and call [Manager.ManageDomains]
// with the domains of every app, then again after every configuration
// reload with the new full list; call [Manager.SetFiles] first when the
// certificate files may have changed. Names added are loaded from storage
// before ManageDomains returns, or ordered in the background; names removed
// stop being served and renewed. When the ACME settings themselves change,
// build a new Manager, call ManageDomains on it, swap it in, and Close the
// old one: the new one finds the certificates in storage, so no order is
// repeated. [Manager.Close] cancels pending orders and stops renewals.
//
// # Logging
//
// certmagic's logs (zap) go to [Options.Logger] with the attribute
// logger=certmagic.*, at their own levels: info for orders and renewals,
// error for failures.
package certs

// Package pgcerts is a certmagic.Storage on PostgreSQL: the ACME account,
// certificates, private keys, challenge tokens and locks that the edge
// replicas of a cluster share.
//
// # Keys
//
// certmagic addresses its data by slash-separated keys ("certificates/
// <issuer>/<name>/<name>.crt") and expects file-system semantics from them:
// a "directory" exists while keys sit under it, Delete of a directory
// removes everything under it, and List without recursion returns the
// direct children only, files and directories alike (certmagic finds its
// ACME account that way). Everything lives in one table, certmagic_data,
// keyed by the key in the "C" collation: its B-tree orders keys bytewise,
// so everything under "a/b" is the contiguous range ["a/b/", "a/b0") ('0'
// follows '/'). Load and Stat are one primary-key lookup, Delete and
// recursive List one range scan, and a non-recursive List walks the range
// child by child (a recursive query that jumps over each subdirectory with
// one index probe), so listing "certificates" costs a few probes however
// many certificates lie below it. Nothing scans the table, and nothing
// here runs during a TLS handshake except the Load of a certificate that
// is not in certmagic's memory cache yet.
//
// Missing keys are reported as errors that match fs.ErrNotExist, as
// certmagic requires.
//
// # Locks
//
// certmagic locks a name while it obtains or renews a certificate, which
// can take minutes across ACME retries, so a lock is a lease row in
// certmagic_locks (name, owner, token, expires), not a database lock that
// would pin a connection and a transaction for that long. Lock inserts the
// row, or takes over a row whose lease has expired, in one statement;
// otherwise it polls with backoff (100 ms up to 1 s) until it wins or its
// context ends. Every expiry is computed from the server's clock, so the
// replicas' clocks do not matter. While a lock is held, a goroutine extends
// its lease every third of [Options.LockLease]; a holder that dies stops
// extending it, and another replica takes the lock over at most one lease
// later. Each acquisition gets a new token from a sequence (a fencing
// token): the refresher and Unlock act only on the row with their token,
// so a holder whose lease expired and was taken over cannot extend or
// release its successor's lock; it logs that the lock was lost.
//
// certmagic asks to extend a lease across its retry waits
// (RenewLockLease); the refresher already keeps it for as long as the
// process lives, so that only checks the lock is still held: a longer
// lease would only delay the takeover after a crash.
//
// # Security
//
// The table holds what certmagic stores: the account key and every
// certificate's private key, unencrypted. Whoever can read certmagic_data
// can impersonate the sites; grant it to the edge's database role only.
package pgcerts

// Package pg connects forcehttps to the PostgreSQL database that the
// replicas of a cluster share, and keeps that database's schema.
//
// # Connecting
//
// [Open] parses a connection URL (or a keyword/value string), connects
// with a bounded timeout and pings, so that a wrong host, a wrong password
// or a missing database is reported at start-up, once, as a clear error
// ([ErrUnreachable], [ErrAuth], [ErrNoDatabase], [ErrBadURL]) rather than
// later on the first request. [NewPool] builds the pool without
// connecting, for a process that must start while the database is down
// (and serve what it kept locally); [Ping] checks it later with the same
// errors. The URL usually carries a password: no error
// of this package contains it, and [Redact] masks it for logs. Only the
// connection string is the caller's; pool sizes and timeouts are pgx's
// defaults unless the URL sets them (pool_max_conns, connect_timeout, …).
// TLS to the database is pgx's: sslmode=verify-full with sslrootcert.
//
// # Schema
//
// The schema is a list of numbered migrations in schema.go, applied in
// order by [Migrate] and recorded one row per version in the
// forcehttps_schema table. Each migration runs in its own transaction, so a
// failed one leaves the database at the previous version. [Migrate] holds a
// session advisory lock on one dedicated connection for the whole run:
// replicas that start together wait for the first one and then find
// nothing left to do. That connection is closed, not returned to the pool,
// if the unlock cannot be confirmed — a session lock left on a pooled
// connection would be held by whoever borrows it next. A database already
// at a version newer than this binary knows is refused with
// [SchemaTooNewError]: an older binary must not write to tables whose
// meaning changed under it.
//
// Migrations are only ever appended. A released version is never edited:
// a database that applied it would not apply it again.
package pg

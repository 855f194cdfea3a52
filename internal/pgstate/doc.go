// Package pgstate keeps the Force HTTPS state of a cluster of edge
// replicas in PostgreSQL, and the list of those replicas: the
// [admin.Store] and [admin.Cluster] of cluster mode.
//
//	st, err := pgstate.Open(ctx, url, pgstate.Options{Replica: "edge-1", LastKnownGood: path})
//	adm, err := admin.New(admin.Options{Store: st, Cluster: st, ...})
//	st.Start(ctx, adm.Version) // heartbeats; adm.Run(ctx) watches the state
//
// # Data model
//
// One row per app in forcehttps_app_state (its admin.AppState as JSON,
// which holds the definition of an app created through the API, and the
// version of its last change) and one global counter in
// forcehttps_state_version, incremented by every change. Rows rather than
// one versioned document: a change touches one app, and conflicts are
// per app, so two operators changing two different apps at the same time
// both succeed, while two changing the same app cannot both win. A removed
// app keeps its row with a NULL state, so that its version still counts.
//
// [Store.Update] runs in one transaction: lock the counter row (FOR
// UPDATE, which serializes writers: changes come at human rates), check
// that the app's row did not change after the version the change was based
// on, write the row with the next version, and NOTIFY forcehttps_state
// with that version as payload. A stale base makes it return an
// *[admin.ConflictError] holding the current snapshot: the API answers 409
// with it. [Store.Load] reads the counter and the rows in one
// repeatable-read transaction, so the snapshot is consistent.
//
// # Propagation
//
// [Store.Watch] holds one connection of its own (taken out of the pool:
// LISTEN belongs to a session) and LISTENs on forcehttps_state. A
// notification is only a wake-up call (PostgreSQL does not replay missed
// ones), so the state is read again in full: on each notification newer
// than what the edge applies, after every (re)connection, and every
// [Options.Resync] as a backstop. Each newer snapshot goes to the admin,
// which rebuilds the edge through its atomic reload; requests in flight
// keep the old policy. HSTS ramps and drains are computed from the times
// stored in the state (enabled_at, drain_until), not from when a replica
// learnt of them, so every replica sends the same max-age.
//
// # Fail static
//
// When the database cannot be reached, the edge keeps serving the last
// state it applied; changes answer 503 ([admin.ErrStoreUnavailable]); the
// watcher reconnects with backoff ([Options.RetryMin] doubling up to
// [Options.RetryMax]) and catches up on reconnection, without a restart.
// Each snapshot read is also written to [Options.LastKnownGood]
// (atomically, mode 0600), so that a replica that starts while the
// database is down serves that copy; without one, [Open] fails with an
// error saying so.
//
// Versions only grow: a replica applies a snapshot only if its version is
// newer than the one it serves. After restoring the database from an
// older backup, restart the replicas: at start the database's snapshot
// wins over the local copy.
//
// # Members
//
// Each replica has one row in forcehttps_members: name, a random instance
// id, addresses, binary version, the state version it applies, when it
// started and when it was last seen (the server's clock, so the replicas'
// clocks do not matter). A heartbeat every [Options.Heartbeat] refreshes
// it and reads the others. A replica is converged when it applies the
// newest state version, gone when silent for longer than
// [Options.MemberTimeout], and forgotten after a day of silence. [Open] refuses a name that a live replica of
// another instance holds ([ErrReplicaInUse]); a clean shutdown removes the
// row, so a restart can take the name at once.
//
// # Security
//
// The connection URL is never logged: errors name the server through
// pg.Redact. The tables hold the Force HTTPS policy of every app, no
// secret; whoever can write them can turn Force HTTPS off for any app, so
// grant them to the edge's role only.
package pgstate

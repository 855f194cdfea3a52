package pg

// Migration is one step of the schema: SQL run in a transaction, once per
// database.
type Migration struct {
	// Version is the migration's position, from 1, without gaps.
	Version int
	// Name says what the migration adds, for the forcehttps_schema table.
	Name string
	// SQL is one or more statements, run in one transaction.
	SQL string
}

// migrations is the schema, in order. Append only: never edit or reorder a
// released migration.
var migrations = []Migration{
	{
		Version: 1,
		Name:    "certmagic storage: keys and lock leases",
		// key uses the "C" collation so that its primary-key B-tree orders
		// keys bytewise: a directory ("a/b/") is then a contiguous key range
		// ["a/b/", "a/b0"), and List and Delete of a directory are index
		// range scans. Lock leases expire at expires (server time); token
		// grows on every acquisition (a fencing token).
		SQL: `
CREATE TABLE certmagic_data (
	key      text COLLATE "C" PRIMARY KEY,
	value    bytea NOT NULL,
	modified timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE certmagic_locks (
	name    text PRIMARY KEY,
	owner   text NOT NULL,
	token   bigint NOT NULL,
	expires timestamptz NOT NULL
);
CREATE SEQUENCE certmagic_lock_tokens;
`,
	},
	{
		Version: 2,
		Name:    "Force HTTPS state and cluster members",
		// One row per app (its admin.AppState as JSON; NULL once removed,
		// so that its version still counts for conflicts) and one global
		// version, incremented by every change: package pgstate.
		SQL: `
CREATE TABLE forcehttps_state_version (
	id      boolean PRIMARY KEY DEFAULT true CHECK (id),
	version bigint NOT NULL
);
INSERT INTO forcehttps_state_version (id, version) VALUES (true, 0);
CREATE TABLE forcehttps_app_state (
	app     text PRIMARY KEY,
	state   jsonb,
	version bigint NOT NULL,
	changed timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE forcehttps_members (
	replica        text PRIMARY KEY,
	instance       text NOT NULL,
	addresses      text[] NOT NULL DEFAULT '{}',
	binary_version text NOT NULL,
	state_version  bigint NOT NULL DEFAULT 0,
	started_at     timestamptz NOT NULL DEFAULT now(),
	last_seen      timestamptz NOT NULL DEFAULT now()
);
`,
	},
}

// SchemaVersion is the schema version this binary writes: the last
// migration's.
func SchemaVersion() int { return migrations[len(migrations)-1].Version }

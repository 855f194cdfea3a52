package pg

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrateLockKey is the session advisory lock Migrate holds: one constant
// shared by every forcehttps binary ("fh" "sc" "he" "ma" in ASCII).
const migrateLockKey int64 = 0x6668_7363_6865_6d61

// SchemaTooNewError is returned by [Migrate] when the database was
// migrated by a newer forcehttps than this one.
type SchemaTooNewError struct {
	Database int // the database's version
	Binary   int // the newest version this binary knows
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("database schema version %d is newer than this forcehttps (%d); upgrade forcehttps", e.Database, e.Binary)
}

// Migrate brings the database's schema to [SchemaVersion], applying the
// missing migrations in order, each in its own transaction, under a
// session advisory lock held on one dedicated connection: concurrent
// callers (replicas starting together) wait, then find nothing left to do.
// It returns a *[SchemaTooNewError] for a database newer than this binary.
// ctx bounds the whole run, the wait for the lock included.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return migrate(ctx, pool, migrations)
}

func migrate(ctx context.Context, pool *pgxpool.Pool, steps []Migration) (err error) {
	if err := checkMigrations(steps); err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("schema migration: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		// The lock may have been granted just as ctx ended: never hand
		// the connection back to the pool in that doubt.
		closeConn(conn)
		return fmt.Errorf("schema migration: waiting for the migration lock: %w", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		var unlocked bool
		if uerr := conn.QueryRow(uctx, "SELECT pg_advisory_unlock($1)", migrateLockKey).Scan(&unlocked); uerr != nil || !unlocked {
			closeConn(conn)
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS forcehttps_schema (
	version int PRIMARY KEY,
	name    text NOT NULL,
	applied timestamptz NOT NULL DEFAULT now()
)`); err != nil {
		return fmt.Errorf("schema migration: creating forcehttps_schema: %w", err)
	}
	var current int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM forcehttps_schema").Scan(&current); err != nil {
		return fmt.Errorf("schema migration: reading the schema version: %w", err)
	}
	latest := 0
	if len(steps) > 0 {
		latest = steps[len(steps)-1].Version
	}
	if current > latest {
		return &SchemaTooNewError{Database: current, Binary: latest}
	}
	for _, m := range steps[current:] {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO forcehttps_schema (version, name) VALUES ($1, $2)", m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("schema migration %d (%s): %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// checkMigrations checks that versions run 1, 2, 3… without gaps, so that
// steps[v:] are the migrations after version v.
func checkMigrations(steps []Migration) error {
	for i, m := range steps {
		if m.Version != i+1 {
			return fmt.Errorf("schema migration list: entry %d has version %d, want %d", i, m.Version, i+1)
		}
		if m.SQL == "" || m.Name == "" {
			return fmt.Errorf("schema migration %d: empty name or SQL", m.Version)
		}
	}
	return nil
}

// closeConn closes the connection under conn so that Release destroys it
// rather than returning it to the pool with a session lock still held.
func closeConn(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Conn().Close(ctx)
}

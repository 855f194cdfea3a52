package pg

import (
	"errors"
	"sync"
	"testing"

	"github.com/forcehttps/forcehttps/internal/pgtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

func openT(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := Open(ctxT(t), pgtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func schemaRows(t *testing.T, pool *pgxpool.Pool) []int {
	t.Helper()
	rows, err := pool.Query(ctxT(t), "SELECT version FROM forcehttps_schema ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestMigrationsList(t *testing.T) {
	t.Parallel()
	if err := checkMigrations(migrations); err != nil {
		t.Fatal(err)
	}
	if err := checkMigrations([]Migration{{Version: 2, Name: "x", SQL: "SELECT 1"}}); err == nil {
		t.Error("a list starting at version 2 was accepted")
	}
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	pool := openT(t)
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() { errs[i] = Migrate(ctxT(t), pool) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate #%d: %v", i, err)
		}
	}
	got := schemaRows(t, pool)
	if len(got) != SchemaVersion() || got[len(got)-1] != SchemaVersion() {
		t.Errorf("forcehttps_schema versions = %v, want 1..%d once each", got, SchemaVersion())
	}
	// The migration lock is released: a pooled connection can take it.
	var ok bool
	if err := pool.QueryRow(ctxT(t), "SELECT pg_try_advisory_xact_lock($1)", migrateLockKey).Scan(&ok); err != nil || !ok {
		t.Errorf("migration lock still held after Migrate: %v, %v", ok, err)
	}
}

func TestMigrateStepwise(t *testing.T) {
	t.Parallel()
	pool := openT(t)
	steps := []Migration{
		{Version: 1, Name: "one", SQL: "CREATE TABLE one (a int)"},
		{Version: 2, Name: "two", SQL: "CREATE TABLE two (a int); INSERT INTO two VALUES (2)"},
	}
	if err := migrate(ctxT(t), pool, steps[:1]); err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctxT(t), pool, steps); err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctxT(t), pool, steps); err != nil {
		t.Fatalf("a second run: %v", err)
	}
	if got := schemaRows(t, pool); len(got) != 2 {
		t.Errorf("versions = %v, want [1 2]", got)
	}
	// A failing migration leaves the previous version in place.
	bad := append(steps, Migration{Version: 3, Name: "bad", SQL: "CREATE TABLE three (a int); SELECT * FROM missing"})
	if err := migrate(ctxT(t), pool, bad); err == nil {
		t.Fatal("a failing migration returned nil")
	}
	if got := schemaRows(t, pool); len(got) != 2 {
		t.Errorf("after a failed migration, versions = %v, want [1 2]", got)
	}
	var n int
	if err := pool.QueryRow(ctxT(t), "SELECT count(*) FROM pg_tables WHERE tablename = 'three'").Scan(&n); err != nil || n != 0 {
		t.Errorf("the failed migration's table exists (%d, %v)", n, err)
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	pool := openT(t)
	if err := Migrate(ctxT(t), pool); err != nil {
		t.Fatal(err)
	}
	newer := SchemaVersion() + 2
	if _, err := pool.Exec(ctxT(t), "INSERT INTO forcehttps_schema (version, name) VALUES ($1, 'from the future')", newer); err != nil {
		t.Fatal(err)
	}
	err := Migrate(ctxT(t), pool)
	var tooNew *SchemaTooNewError
	if !errors.As(err, &tooNew) || tooNew.Database != newer || tooNew.Binary != SchemaVersion() {
		t.Fatalf("Migrate = %v, want a SchemaTooNewError{%d, %d}", err, newer, SchemaVersion())
	}
	t.Log(err)
}

package pgcerts

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// largeCerts is the number of certificates in the large storage: three
// keys each (.crt, .key, .json), as certmagic stores them.
const largeCerts = 100_000

// fillLarge stores n certificates under certificates/ca/ (named
// d<i>.example.com), an ACME account and a few other keys, in one
// statement, then vacuums the table as autovacuum would in production.
func fillLarge(tb testing.TB, pool *pgxpool.Pool, n int) {
	tb.Helper()
	_, err := pool.Exec(ctxT(tb), `
INSERT INTO certmagic_data (key, value)
SELECT 'certificates/ca/d' || i || '.example.com/d' || i || '.example.com' || ext, decode(repeat('ab', 600), 'hex')
FROM generate_series(1, $1) AS i, unnest(ARRAY['.crt', '.key', '.json']) AS ext`, n)
	if err != nil {
		tb.Fatal(err)
	}
	for _, k := range []string{"acme/ca/users/me@example.com/me.json", "acme/ca/users/me@example.com/me.key", "last_clean.json"} {
		if _, err := pool.Exec(ctxT(tb), "INSERT INTO certmagic_data (key, value) VALUES ($1, 'x')", k); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctxT(tb), "VACUUM ANALYZE certmagic_data"); err != nil {
		tb.Fatal(err)
	}
}

// TestLargeStoragePlans checks, on 300 000 keys, that the queries a
// handshake or a listing runs use the primary-key index, never a scan of
// the table, and that listings are right at that size.
func TestLargeStoragePlans(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 300 000 rows")
	}
	t.Parallel()
	pool := newPool(t)
	fillLarge(t, pool, largeCerts)
	s := newStorage(t, pool, Options{})
	ctx := ctxT(t)

	lo, hi := dirRange("certificates/ca/d7.example.com")
	plans := []struct {
		name string
		sql  string
		args []any
	}{
		{"load", "SELECT value FROM certmagic_data WHERE key = $1", []any{"certificates/ca/d7.example.com/d7.example.com.crt"}},
		{"list one directory", "SELECT key FROM certmagic_data WHERE key >= $1 AND key < $2 ORDER BY key", []any{lo, hi}},
		{"skip scan", skipScanDir, []any{"certificates/", "certificates0"}},
		{"delete a directory", "DELETE FROM certmagic_data WHERE key = $1 OR (key >= $2 AND key < $3)", []any{"certificates/ca/d7.example.com", lo, hi}},
	}
	for _, p := range plans {
		// A generic plan is what a prepared statement may settle on.
		for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
			plan := explain(t, pool, mode, p.sql, p.args...)
			if strings.Contains(plan, "Seq Scan") {
				t.Errorf("%s (%s) scans the table:\n%s", p.name, mode, plan)
			}
		}
	}

	got, err := s.List(ctx, "certificates", false)
	if err != nil || len(got) != 1 || got[0] != "certificates/ca" {
		t.Errorf("List(certificates) = %q, %v", got, err)
	}
	got, err = s.List(ctx, "certificates/ca", false)
	if err != nil || len(got) != largeCerts {
		t.Errorf("List(certificates/ca) = %d names, %v; want %d", len(got), err, largeCerts)
	}
	got, err = s.List(ctx, "certificates/ca/d7.example.com", false)
	if err != nil || len(got) != 3 {
		t.Errorf("List(one certificate's directory) = %q, %v", got, err)
	}
}

func explain(t *testing.T, pool *pgxpool.Pool, mode, sql string, args ...any) string {
	t.Helper()
	ctx := ctxT(t)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SET plan_cache_mode = "+mode); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(context.Background(), "RESET plan_cache_mode")
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background()) // EXPLAIN ANALYZE of a DELETE deletes
	rows, err := tx.Query(ctx, "EXPLAIN ANALYZE "+sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		b.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// BenchmarkLargeStorage measures the operations certmagic runs, on a
// storage of 100 000 certificates (300 000 keys).
func BenchmarkLargeStorage(b *testing.B) {
	pool := newPool(b)
	fillLarge(b, pool, largeCerts)
	s := newStorage(b, pool, Options{})
	ctx := ctxT(b)
	list := func(dir string, recursive bool, want int) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				got, err := s.List(ctx, dir, recursive)
				if err != nil || len(got) != want {
					b.Fatalf("List(%q, %v) = %d keys, %v; want %d", dir, recursive, len(got), err, want)
				}
			}
		}
	}
	b.Run("Load", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			k := fmt.Sprintf("certificates/ca/d%d.example.com/d%d.example.com.crt", i%largeCerts+1, i%largeCerts+1)
			if _, err := s.Load(ctx, k); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Stat", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Stat(ctx, "certificates/ca/d42.example.com/d42.example.com.json"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("List/one-certificate", list("certificates/ca/d42.example.com", false, 3))
	b.Run("List/certificates", list("certificates", false, 1))
	b.Run("List/account", list("acme/ca/users", false, 1))
	b.Run("List/all-certificates", list("certificates/ca", false, largeCerts))
	b.Run("List/all-certificates-recursive", list("certificates/ca", true, 4*largeCerts))
}

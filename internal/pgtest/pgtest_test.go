package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/pgtest"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func query(t *testing.T, url string) (int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, "SELECT 1 + 1").Scan(&n)
	return n, err
}

func TestStartGivesFreshDatabases(t *testing.T) {
	t.Parallel()
	a, b := pgtest.Start(t), pgtest.Start(t)
	if a == b {
		t.Fatalf("two Start calls returned the same database %q", a)
	}
	for _, u := range []string{a, b} {
		if n, err := query(t, u); err != nil || n != 2 {
			t.Fatalf("SELECT 1 + 1 on %s = %d, %v", u, n, err)
		}
	}
}

func TestStopStart(t *testing.T) {
	t.Parallel()
	s := pgtest.New(t)
	u := s.NewDatabase(t)
	s.Stop(t)
	if s.Running() {
		t.Fatal("Running() after Stop")
	}
	if _, err := query(t, u); err == nil {
		t.Fatal("query succeeded on a stopped server")
	}
	s.Start(t)
	if n, err := query(t, u); err != nil || n != 2 {
		t.Fatalf("after restart: SELECT 1 + 1 = %d, %v\n%s", n, err, s.Log())
	}
}

package pgcerts

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/pg"
	"github.com/forcehttps/forcehttps/internal/pgtest"
)

// TestDatabaseDown: with the database stopped, every operation fails with
// an error that is not fs.ErrNotExist (a missing certificate would start
// an order), within its context; once the database is back, the same
// Storage works again without a restart.
func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	srv := pgtest.New(t)
	ctx := ctxT(t)
	pool, err := pg.Open(ctx, srv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pg.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	s := newStorage(t, pool, Options{})
	const key = "certificates/ca/a.com/a.com.crt"
	if err := s.Store(ctx, key, []byte("cert")); err != nil {
		t.Fatal(err)
	}

	srv.Stop(t)
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		t.Cleanup(cancel)
		return c
	}
	if _, err := s.Load(short(), key); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load with the database down: %v; want an error other than fs.ErrNotExist", err)
	}
	if _, err := s.Stat(short(), key); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat with the database down: %v; want an error other than fs.ErrNotExist", err)
	}
	if _, err := s.List(short(), "certificates", false); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("List with the database down: %v; want an error other than fs.ErrNotExist", err)
	}
	if err := s.Store(short(), key, []byte("new")); err == nil {
		t.Error("Store with the database down succeeded")
	}
	if err := s.Lock(short(), "issue_cert_a.com"); err == nil {
		t.Error("Lock with the database down succeeded")
	}

	srv.Start(t)
	if v, err := s.Load(ctx, key); err != nil || string(v) != "cert" {
		t.Errorf("Load after the database came back = %q, %v", v, err)
	}
	if err := s.Lock(ctx, "issue_cert_a.com"); err != nil {
		t.Errorf("Lock after the database came back: %v", err)
	}
}

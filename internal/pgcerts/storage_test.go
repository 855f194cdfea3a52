package pgcerts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/forcehttps/forcehttps/internal/pg"
	"github.com/forcehttps/forcehttps/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newPool opens a fresh, migrated database.
func newPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pg.Open(ctxT(t), pgtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pg.Migrate(ctxT(t), pool); err != nil {
		t.Fatal(err)
	}
	return pool
}

func newStorage(t testing.TB, pool *pgxpool.Pool, opts Options) *Storage {
	t.Helper()
	s, err := New(pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// abandon stops refreshing every held lock without releasing it, as a
// process that died would.
func (s *Storage) abandon() {
	s.mu.Lock()
	s.closed = true
	held := s.held
	s.held = map[string]*heldLock{}
	s.mu.Unlock()
	for _, h := range held {
		h.stop()
		<-h.done
	}
}

func TestStoreLoadDeleteStat(t *testing.T) {
	t.Parallel()
	s := newStorage(t, newPool(t), Options{})
	ctx := ctxT(t)

	if _, err := s.Load(ctx, "a/b.crt"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing key: %v, want fs.ErrNotExist", err)
	}
	if _, err := s.Stat(ctx, "a/b.crt"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat of a missing key: %v, want fs.ErrNotExist", err)
	}
	if s.Exists(ctx, "a") || s.Exists(ctx, "a/b.crt") {
		t.Fatal("Exists is true in an empty storage")
	}
	// The root always exists, as a directory.
	if keys, err := s.List(ctx, "", false); err != nil || len(keys) != 0 {
		t.Fatalf("List of an empty root = %q, %v; want nothing", keys, err)
	}
	if info, err := s.Stat(ctx, ""); err != nil || info.IsTerminal || !s.Exists(ctx, "") {
		t.Fatalf("Stat of the root = %+v, %v; want a directory", info, err)
	}
	before := time.Now().Add(-time.Minute)
	for _, v := range [][]byte{[]byte("one"), []byte("two, longer")} {
		if err := s.Store(ctx, "a/b.crt", v); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(ctx, "a/b.crt")
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("Load = %q, %v; want %q", got, err, v)
		}
	}
	info, err := s.Stat(ctx, "a/b.crt")
	if err != nil || info.Key != "a/b.crt" || !info.IsTerminal || info.Size != int64(len("two, longer")) || info.Modified.Before(before) {
		t.Errorf("Stat(file) = %+v, %v", info, err)
	}
	info, err = s.Stat(ctx, "a")
	if err != nil || info.Key != "a" || info.IsTerminal {
		t.Errorf("Stat(dir) = %+v, %v", info, err)
	}
	if !s.Exists(ctx, "a") || !s.Exists(ctx, "a/b.crt") || s.Exists(ctx, "a/b") || s.Exists(ctx, "a/b.cr") {
		t.Error("Exists: want true for a and a/b.crt only")
	}
	// An empty value is a value.
	if err := s.Store(ctx, "empty", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Load(ctx, "empty"); err != nil || len(got) != 0 {
		t.Errorf("Load(empty) = %q, %v", got, err)
	}
	if err := s.Delete(ctx, "a/b.crt"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "a/b.crt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load after Delete: %v", err)
	}
	if s.Exists(ctx, "a") {
		t.Error("directory a exists with nothing under it")
	}
	if err := s.Delete(ctx, "a/b.crt"); err != nil {
		t.Errorf("Delete of a missing key: %v, want nil", err)
	}
	if err := s.Store(ctx, "", []byte("x")); err == nil {
		t.Error("Store of the empty key succeeded")
	}
	if err := s.Delete(ctx, ""); err == nil {
		t.Error("Delete of the root succeeded")
	}
}

// tree is a storage layout shaped like certmagic's, with neighbours that
// share prefixes (a.com, a.com.au, a.comx), bytes around '/' ('.' and '0'
// sort either side of it) and a multi-byte character.
var tree = []string{
	"acme/ca/users/me@example.com/me.json",
	"acme/ca/users/me@example.com/me.key",
	"acme/ca/users/you@example.com/you.json",
	"certificates/ca/a.com/a.com.crt",
	"certificates/ca/a.com/a.com.key",
	"certificates/ca/a.com.au/a.com.au.crt",
	"certificates/ca/a.com0",
	"certificates/ca/a.comx/a.comx.crt",
	"certificates/ca/b.com/b.com.crt",
	"certificates/other/c.com/c.com.crt",
	"certificates/other/é.com/é.com.crt",
	"last_clean.json",
	"ocsp/a-123",
}

func TestList(t *testing.T) {
	t.Parallel()
	s := newStorage(t, newPool(t), Options{})
	ctx := ctxT(t)
	for _, k := range tree {
		if err := s.Store(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		dir       string
		recursive bool
		want      []string
	}{
		{"", false, []string{"acme", "certificates", "last_clean.json", "ocsp"}},
		{"certificates", false, []string{"certificates/ca", "certificates/other"}},
		{"certificates/", false, []string{"certificates/ca", "certificates/other"}},
		{"certificates/ca", false, []string{"certificates/ca/a.com", "certificates/ca/a.com.au", "certificates/ca/a.com0", "certificates/ca/a.comx", "certificates/ca/b.com"}},
		{"certificates/ca/a.com", false, []string{"certificates/ca/a.com/a.com.crt", "certificates/ca/a.com/a.com.key"}},
		{"acme/ca/users", false, []string{"acme/ca/users/me@example.com", "acme/ca/users/you@example.com"}},
		{"certificates/ca/a.com0", false, nil}, // a file
		{"certificates", true, []string{
			"certificates/ca",
			"certificates/ca/a.com",
			"certificates/ca/a.com.au",
			"certificates/ca/a.com.au/a.com.au.crt",
			"certificates/ca/a.com/a.com.crt",
			"certificates/ca/a.com/a.com.key",
			"certificates/ca/a.com0",
			"certificates/ca/a.comx",
			"certificates/ca/a.comx/a.comx.crt",
			"certificates/ca/b.com",
			"certificates/ca/b.com/b.com.crt",
			"certificates/other",
			"certificates/other/c.com",
			"certificates/other/c.com/c.com.crt",
			"certificates/other/é.com",
			"certificates/other/é.com/é.com.crt",
		}},
		{"certificates/other", false, []string{"certificates/other/c.com", "certificates/other/é.com"}},
		{"acme/ca", true, []string{
			"acme/ca/users",
			"acme/ca/users/me@example.com",
			"acme/ca/users/me@example.com/me.json",
			"acme/ca/users/me@example.com/me.key",
			"acme/ca/users/you@example.com",
			"acme/ca/users/you@example.com/you.json",
		}},
	}
	for _, tt := range tests {
		got, err := s.List(ctx, tt.dir, tt.recursive)
		if err != nil {
			t.Errorf("List(%q, %v): %v", tt.dir, tt.recursive, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("List(%q, %v) mismatch (-want +got):\n%s", tt.dir, tt.recursive, diff)
		}
	}
	for _, dir := range []string{"nope", "certificates/ca/a.co", "certificates/ca/a"} {
		for _, rec := range []bool{false, true} {
			if got, err := s.List(ctx, dir, rec); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("List(%q, %v) = %q, %v; want fs.ErrNotExist", dir, rec, got, err)
			}
		}
	}
	// Delete of a directory takes everything under it, and only that.
	if err := s.Delete(ctx, "certificates/ca/a.com"); err != nil {
		t.Fatal(err)
	}
	got, err := s.List(ctx, "certificates/ca", false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"certificates/ca/a.com.au", "certificates/ca/a.com0", "certificates/ca/a.comx", "certificates/ca/b.com"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after Delete(certificates/ca/a.com): List mismatch (-want +got):\n%s", diff)
	}
}

func TestConcurrentStores(t *testing.T) {
	t.Parallel()
	s := newStorage(t, newPool(t), Options{})
	ctx := ctxT(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			v := bytes.Repeat([]byte{byte('a' + i)}, 10000)
			if err := s.Store(ctx, "k", v); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := s.Load(ctx, "k")
	if err != nil || len(got) != 10000 || !bytes.Equal(got, bytes.Repeat(got[:1], 10000)) {
		t.Errorf("after concurrent Stores: %d bytes, %v; want one writer's 10000 bytes", len(got), err)
	}
}

func TestLockExcludes(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	// Three replicas, each with two goroutines, all on one lock.
	var stores []*Storage
	for i := range 3 {
		stores = append(stores, newStorage(t, pool, Options{Owner: fmt.Sprintf("replica-%d", i)}))
	}
	ctx := ctxT(t)
	var inside, maxInside, rounds atomic.Int32
	var wg sync.WaitGroup
	for _, s := range stores {
		for range 2 {
			wg.Go(func() {
				for range 5 {
					if err := s.Lock(ctx, "issue_cert_a.com"); err != nil {
						t.Error(err)
						return
					}
					n := inside.Add(1)
					if n > maxInside.Load() {
						maxInside.Store(n)
					}
					time.Sleep(5 * time.Millisecond)
					inside.Add(-1)
					rounds.Add(1)
					if err := s.Unlock(ctx, "issue_cert_a.com"); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	if maxInside.Load() != 1 || rounds.Load() != 30 {
		t.Errorf("at most %d holders at once over %d rounds; want 1 over 30", maxInside.Load(), rounds.Load())
	}
}

func TestLockSemantics(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	a := newStorage(t, pool, Options{Owner: "a"})
	b := newStorage(t, pool, Options{Owner: "b"})
	ctx := ctxT(t)

	if ok, err := a.TryLock(ctx, "x"); !ok || err != nil {
		t.Fatalf("TryLock on a free lock = %v, %v", ok, err)
	}
	if ok, err := b.TryLock(ctx, "x"); ok || err != nil {
		t.Fatalf("TryLock on a held lock = %v, %v; want false", ok, err)
	}
	if ok, err := a.TryLock(ctx, "x"); ok || err != nil {
		t.Fatalf("TryLock by the holder itself = %v, %v; want false (not reentrant)", ok, err)
	}
	if ok, err := b.TryLock(ctx, "y"); !ok || err != nil {
		t.Fatalf("TryLock on another name = %v, %v", ok, err)
	}
	if err := b.Unlock(ctx, "x"); err == nil {
		t.Error("Unlock by a non-holder succeeded")
	}
	if err := a.RenewLockLease(ctx, "x", time.Hour); err != nil {
		t.Errorf("RenewLockLease by the holder: %v", err)
	}
	if err := b.RenewLockLease(ctx, "x", time.Hour); err == nil {
		t.Error("RenewLockLease by a non-holder succeeded")
	}
	// Lock waits for the holder; ctx ends the wait.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := b.Lock(short, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock on a held lock until ctx ends: %v, want DeadlineExceeded", err)
	}
	got := make(chan error, 1)
	go func() { got <- b.Lock(ctx, "x") }()
	if err := a.Unlock(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("Lock after the holder's Unlock: %v", err)
	}
	if err := a.Unlock(ctx, "x"); err == nil {
		t.Error("a second Unlock succeeded")
	}
	// Close releases what b holds.
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.TryLock(ctx, "x"); !ok || err != nil {
		t.Errorf("TryLock after the holder's Close = %v, %v", ok, err)
	}
	if _, err := b.TryLock(ctx, "z"); !errors.Is(err, ErrClosed) {
		t.Errorf("TryLock after Close: %v, want ErrClosed", err)
	}
}

// TestLockHeldPastLease: the refresher keeps a lock alive past its lease.
func TestLockHeldPastLease(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	lease := 600 * time.Millisecond
	a := newStorage(t, pool, Options{Owner: "a", LockLease: lease})
	b := newStorage(t, pool, Options{Owner: "b", LockLease: lease})
	ctx := ctxT(t)
	if err := a.Lock(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 4*lease)
	defer cancel()
	if err := b.Lock(short, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock while a live holder refreshes: %v, want DeadlineExceeded", err)
	}
	if err := a.Unlock(ctx, "x"); err != nil {
		t.Fatalf("Unlock after four leases: %v", err)
	}
}

// TestDeadHolderTakenOver: a holder that stops refreshing (a crash) loses
// the lock one lease later, and cannot release its successor's lock.
func TestDeadHolderTakenOver(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	lease := 500 * time.Millisecond
	dead := newStorage(t, pool, Options{Owner: "dead", LockLease: lease})
	live := newStorage(t, pool, Options{Owner: "live", LockLease: lease})
	ctx := ctxT(t)
	if err := dead.Lock(ctx, "issue_cert_a.com"); err != nil {
		t.Fatal(err)
	}
	var oldToken int64
	if err := pool.QueryRow(ctx, "SELECT token FROM certmagic_locks WHERE name = 'issue_cert_a.com'").Scan(&oldToken); err != nil {
		t.Fatal(err)
	}
	dead.abandon()
	if err := live.Lock(ctx, "issue_cert_a.com"); err != nil {
		t.Fatalf("Lock after the holder died: %v", err)
	}
	var owner string
	var token int64
	if err := pool.QueryRow(ctx, "SELECT owner, token FROM certmagic_locks WHERE name = 'issue_cert_a.com'").Scan(&owner, &token); err != nil {
		t.Fatal(err)
	}
	if owner != "live" || token <= oldToken {
		t.Errorf("lock row owner %q token %d; want live with a token above %d", owner, token, oldToken)
	}
	// The dead holder's token no longer matches anything.
	if err := dead.release(ctx, "issue_cert_a.com", oldToken); err == nil {
		t.Error("the old holder released its successor's lock")
	}
	if ok, _ := dead.extend(ctx, "issue_cert_a.com", oldToken); ok {
		t.Error("the old holder extended its successor's lease")
	}
	if err := live.Unlock(ctx, "issue_cert_a.com"); err != nil {
		t.Error(err)
	}
}

func TestNewOptions(t *testing.T) {
	t.Parallel()
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil pool) succeeded")
	}
	if _, err := New(&pgxpool.Pool{}, Options{LockLease: time.Millisecond}); err == nil {
		t.Error("a 1ms lease was accepted")
	}
}

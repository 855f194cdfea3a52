package pgcerts

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// Lock polling: from pollMin, doubling up to pollMax, with jitter so that
// waiting replicas do not poll in step.
const (
	pollMin = 100 * time.Millisecond
	pollMax = time.Second
)

// ErrClosed is returned by Lock and TryLock after Close.
var ErrClosed = errors.New("pgcerts: storage closed")

// acquire takes the lock name if it is free or its lease has expired, in
// one statement: the row's lock serialises concurrent takers, and the
// WHERE is evaluated again on the row as it is after the winner's commit.
const acquire = `
INSERT INTO certmagic_locks (name, owner, token, expires)
VALUES ($1, $2, nextval('certmagic_lock_tokens'), now() + make_interval(secs => $3))
ON CONFLICT (name) DO UPDATE
	SET owner = excluded.owner, token = excluded.token, expires = excluded.expires
	WHERE certmagic_locks.expires < now()
RETURNING token`

// Lock takes the named lock, waiting (polling with backoff) until it is
// free or its holder's lease has expired, or until ctx ends.
func (s *Storage) Lock(ctx context.Context, name string) error {
	delay := pollMin
	for {
		ok, err := s.TryLock(ctx, name)
		if err != nil || ok {
			return err
		}
		jittered := delay/2 + rand.N(delay/2+1)
		t := time.NewTimer(jittered)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("pgcerts: waiting for lock %q: %w", name, context.Cause(ctx))
		case <-t.C:
		}
		delay = min(2*delay, pollMax)
	}
}

// TryLock takes the named lock if it is free or its holder's lease has
// expired, and reports whether it did. It does not wait.
func (s *Storage) TryLock(ctx context.Context, name string) (bool, error) {
	s.mu.Lock()
	closed := s.closed
	_, mine := s.held[name]
	s.mu.Unlock()
	if closed {
		return false, ErrClosed
	}
	if mine {
		// Held by another caller in this process: locks are not
		// reentrant, and the row is not expired while we refresh it.
		return false, nil
	}
	var token int64
	err := s.pool.QueryRow(ctx, acquire, name, s.owner, s.lease.Seconds()).Scan(&token)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pgcerts: lock %q: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, raced := s.held[name]; raced || s.closed {
		// Another caller in this process won the same lock meanwhile
		// (possible only after the first holder's lease expired), or
		// Close ran: give this acquisition back.
		go s.release(context.Background(), name, token)
		return false, nil
	}
	rctx, stop := context.WithCancel(context.Background())
	h := &heldLock{token: token, stop: stop, done: make(chan struct{})}
	s.held[name] = h
	go s.refresh(rctx, name, h)
	return true, nil
}

// refresh extends the lease of a held lock every third of the lease until
// stopped, or until it finds the lock taken over.
func (s *Storage) refresh(ctx context.Context, name string, h *heldLock) {
	defer close(h.done)
	tick := time.NewTicker(s.lease / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ok, err := s.extend(ctx, name, h.token)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			// The next tick tries again; the lease survives two misses.
			s.log.Warn("pgcerts: extending a lock lease", "lock", name, "err", err)
		case !ok:
			s.log.Error("pgcerts: lock lost: its lease expired and another holder took it", "lock", name)
			s.mu.Lock()
			if s.held[name] == h {
				delete(s.held, name)
			}
			s.mu.Unlock()
			return
		}
	}
}

// extend pushes the lease of the lock held with token one lease past now,
// and reports whether the lock was still held with that token.
func (s *Storage) extend(ctx context.Context, name string, token int64) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE certmagic_locks SET expires = now() + make_interval(secs => $3)
WHERE name = $1 AND token = $2`, name, token, s.lease.Seconds())
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// Unlock releases a lock taken by Lock or TryLock on this Storage. It is
// an error if this Storage does not hold it, or if its lease expired and
// another holder took it meanwhile.
func (s *Storage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	h, ok := s.held[name]
	delete(s.held, name)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("pgcerts: unlock %q: not held here (or lost: its lease expired)", name)
	}
	h.stop()
	<-h.done
	return s.release(ctx, name, h.token)
}

// release deletes the row of the lock held with token.
func (s *Storage) release(ctx context.Context, name string, token int64) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM certmagic_locks WHERE name = $1 AND token = $2", name, token)
	if err != nil {
		return fmt.Errorf("pgcerts: unlock %q: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgcerts: unlock %q: lost: its lease expired and another holder took it", name)
	}
	return nil
}

// RenewLockLease checks that the lock is still held and extends its
// lease by the usual [Options.LockLease]. certmagic asks for
// leaseDuration to keep the lock through its retry waits; the refresher
// already keeps it for as long as this process lives, and a longer lease
// would only delay a takeover after a crash.
func (s *Storage) RenewLockLease(ctx context.Context, name string, _ time.Duration) error {
	s.mu.Lock()
	h, ok := s.held[name]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("pgcerts: renew lock %q: not held here", name)
	}
	held, err := s.extend(ctx, name, h.token)
	if err != nil {
		return fmt.Errorf("pgcerts: renew lock %q: %w", name, err)
	}
	if !held {
		return fmt.Errorf("pgcerts: renew lock %q: lost: its lease expired and another holder took it", name)
	}
	return nil
}

// Close releases every lock this Storage holds (as certmagic's
// CleanUpOwnLocks does for its file storage) and makes Lock fail
// afterwards. The pool stays open: it is the caller's.
func (s *Storage) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	held := s.held
	s.held = map[string]*heldLock{}
	s.mu.Unlock()
	var errs []error
	for name, h := range held {
		h.stop()
		<-h.done
		if err := s.release(ctx, name, h.token); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

package pgstate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/forcehttps/forcehttps/internal/admin"
	"github.com/forcehttps/forcehttps/internal/pg"
)

// Watch hands apply every newer snapshot until ctx is done: after each
// (re)connection, on each notification and every Resync. It reconnects
// with backoff while the database is down. Run it once per Store.
func (s *Store) Watch(ctx context.Context, apply func(context.Context, admin.Snapshot) error) {
	wait := s.o.RetryMin
	for ctx.Err() == nil {
		connected, err := s.listen(ctx, apply)
		if ctx.Err() != nil {
			return
		}
		s.setUp(false, err)
		if connected {
			wait = s.o.RetryMin
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, s.o.RetryMax)
	}
}

// listen holds one LISTEN session until it fails, and reports whether it
// got connected.
func (s *Store) listen(ctx context.Context, apply func(context.Context, admin.Snapshot) error) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, s.o.QueryTimeout)
	pc, err := s.pool.Acquire(cctx)
	cancel()
	if err != nil {
		return false, err
	}
	// The session is this listener's: it never goes back to the pool.
	conn := pc.Hijack()
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if err := s.catchUp(ctx); err != nil {
		return false, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return false, err
	}
	s.setUp(true, nil)
	// Whatever was committed before LISTEN took effect is read now.
	if err := s.sync(ctx, apply); err != nil {
		return true, err
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, s.o.Resync)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return true, nil
		case errors.Is(err, context.DeadlineExceeded) || (err != nil && wctx.Err() != nil):
			// The backstop. A failed read means the database is out of
			// reach, maybe without this session noticing (a network
			// partition leaves the socket open): start a new one.
			if err := s.sync(ctx, apply); err != nil {
				return true, err
			}
		case err != nil:
			return true, err
		default:
			if v, perr := strconv.ParseInt(n.Payload, 10, 64); perr == nil && v <= s.applied() {
				continue // this replica's own change, already applied
			}
			if err := s.sync(ctx, apply); err != nil {
				return true, err
			}
		}
	}
}

// catchUp does what a start with the database down left undone: migrate
// and join.
func (s *Store) catchUp(ctx context.Context) error {
	s.mu.Lock()
	migrate, joined := s.needMigrate, s.joined
	s.mu.Unlock()
	if migrate {
		if err := pg.Migrate(ctx, s.pool); err != nil {
			var tooNew *pg.SchemaTooNewError
			if errors.As(err, &tooNew) {
				s.log.Error("cluster: " + err.Error())
			}
			return fmt.Errorf("schema migration: %w", err)
		}
		s.mu.Lock()
		s.needMigrate = false
		s.mu.Unlock()
	}
	if !joined {
		if err := s.join(ctx); err != nil {
			s.log.Error("cluster: joining the members table", "error", err.Error())
			if errors.Is(err, ErrReplicaInUse) {
				return nil // keep serving and listening; the name conflict is logged
			}
			return err
		}
	}
	return nil
}

// sync reads the state and applies it if it is newer than what the edge
// applies. It returns an error only when the state could not be read.
func (s *Store) sync(ctx context.Context, apply func(context.Context, admin.Snapshot) error) error {
	snap, err := s.Load(ctx)
	if err != nil {
		return err
	}
	if snap.Version <= s.applied() {
		return nil
	}
	if err := apply(ctx, snap); err != nil {
		s.log.Error("cluster: could not apply the state; retrying at the next resync", "state_version", snap.Version, "error", err.Error())
	}
	return nil
}

// applied returns the state version the edge applies.
func (s *Store) applied() int64 {
	s.mu.Lock()
	f := s.applyVersion
	s.mu.Unlock()
	if f == nil {
		return -1
	}
	return f()
}

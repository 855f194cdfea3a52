package pgstate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/forcehttps/forcehttps/internal/admin"
)

// forgetAfter is how long a gone replica stays listed.
const forgetAfter = "24 hours"

// join records this replica in the members table, unless a live replica
// of another process has its name.
func (s *Store) join(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.o.QueryTimeout)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `INSERT INTO forcehttps_members AS m
	(replica, instance, addresses, binary_version, state_version, started_at, last_seen)
VALUES ($1, $2, coalesce($3, '{}'::text[]), $4, $5, now(), now())
ON CONFLICT (replica) DO UPDATE SET instance = EXCLUDED.instance, addresses = EXCLUDED.addresses,
	binary_version = EXCLUDED.binary_version, state_version = EXCLUDED.state_version,
	started_at = now(), last_seen = now()
WHERE m.instance = EXCLUDED.instance OR m.last_seen < now() - make_interval(secs => $6)`,
		s.o.Replica, s.instance, s.addresses(), s.o.BinaryVersion, max(s.applied(), 0), s.o.MemberTimeout.Seconds())
	if err != nil {
		return fmt.Errorf("cluster: recording replica %q: %w", s.o.Replica, s.unavailable("members", err))
	}
	if tag.RowsAffected() == 0 {
		var secs float64
		var started time.Time
		err := s.pool.QueryRow(ctx, `SELECT extract(epoch FROM now() - last_seen)::float8, started_at FROM forcehttps_members WHERE replica = $1`, s.o.Replica).Scan(&secs, &started)
		seen := time.Duration(secs * float64(time.Second))
		if err != nil {
			return fmt.Errorf("cluster: %w: replica name %q is taken by a live replica", ErrReplicaInUse, s.o.Replica)
		}
		return fmt.Errorf("cluster: %w: replica name %q is taken by a live replica (started %s, last seen %s ago); give this one another cluster.replica, or start it after the other has been silent for cluster.member_timeout (%s)",
			ErrReplicaInUse, s.o.Replica, started.UTC().Format(time.RFC3339), seen.Round(time.Millisecond), s.o.MemberTimeout)
	}
	s.mu.Lock()
	s.joined = true
	s.mu.Unlock()
	return nil
}

// Start begins the heartbeat; applied returns the state version the edge
// applies (admin.Admin.Version). [Store.Close] stops it.
func (s *Store) Start(ctx context.Context, applied func() int64) {
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.applyVersion = applied
	s.stop, s.done = cancel, make(chan struct{})
	s.mu.Unlock()
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.o.Heartbeat)
		defer t.Stop()
		s.heartbeat(ctx)
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.heartbeat(ctx)
			}
		}
	}()
}

// heartbeat records this replica as alive and reads the members.
func (s *Store) heartbeat(ctx context.Context) {
	s.mu.Lock()
	joined := s.joined
	s.mu.Unlock()
	if !joined {
		return // the watcher joins on reconnection
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.QueryTimeout)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `UPDATE forcehttps_members SET last_seen = now(), state_version = $3, addresses = coalesce($4, '{}'::text[])
WHERE replica = $1 AND instance = $2`, s.o.Replica, s.instance, max(s.applied(), 0), s.addresses())
	if err != nil {
		s.unavailable("heartbeat", err)
		return
	}
	if tag.RowsAffected() == 0 {
		// Silent for too long, and the name was taken meanwhile.
		s.log.Error("cluster: this replica's name was taken by another process while it was silent; it keeps serving but is not listed", "replica", s.o.Replica)
	}
	// Replicas gone for a day are forgotten: a dashboard of every pod that
	// ever ran would hide the live ones.
	if _, err := s.pool.Exec(ctx, "DELETE FROM forcehttps_members WHERE last_seen < now() - $1::interval", forgetAfter); err != nil {
		s.unavailable("forgetting old members", err)
		return
	}
	rows, err := s.pool.Query(ctx, `SELECT replica, addresses, binary_version, state_version, started_at, last_seen,
	now() - last_seen > make_interval(secs => $1), (SELECT version FROM forcehttps_state_version)
FROM forcehttps_members ORDER BY replica`, s.o.MemberTimeout.Seconds())
	if err != nil {
		s.unavailable("reading the members", err)
		return
	}
	var members []admin.Member
	var newest int64
	for rows.Next() {
		var m admin.Member
		if err := rows.Scan(&m.Name, &m.Addresses, &m.Version, &m.StateVersion, &m.StartedAt, &m.LastSeen, &m.Gone, &newest); err != nil {
			rows.Close()
			s.log.Error("cluster: reading the members", "error", err.Error())
			return
		}
		m.Self = m.Name == s.o.Replica
		members = append(members, m)
	}
	if err := rows.Err(); err != nil {
		s.unavailable("reading the members", err)
		return
	}
	for i := range members {
		members[i].Converged = !members[i].Gone && members[i].StateVersion >= newest
	}
	s.mu.Lock()
	s.members = members
	s.newest = max(s.newest, newest)
	s.mu.Unlock()
}

// Status returns the members as of the last heartbeat.
func (s *Store) Status(context.Context) admin.ClusterStatus {
	applied := max(s.applied(), 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := admin.ClusterStatus{
		Replica:        s.o.Replica,
		StoreReachable: s.up.Load(),
		StateVersion:   s.newest,
		MemberTimeout:  s.o.MemberTimeout.String(),
		Members:        make([]admin.Member, 0, len(s.members)),
	}
	for _, m := range s.members {
		if m.Self {
			m.StateVersion = applied
			m.Converged = m.StateVersion >= s.newest
		}
		st.Members = append(st.Members, m)
	}
	if len(s.members) == 0 {
		// Not read yet (the database is down): this replica at least.
		st.Members = append(st.Members, admin.Member{Name: s.o.Replica, Addresses: s.addrs, Version: s.o.BinaryVersion,
			StateVersion: applied, Converged: applied >= s.newest, Self: true})
	}
	return st
}

// Close stops the heartbeat, removes this replica from the members (so
// that a restart can take its name at once) and closes the pool.
func (s *Store) Close(ctx context.Context) error {
	s.mu.Lock()
	stop, done, joined := s.stop, s.done, s.joined
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	var err error
	if joined {
		ctx, cancel := context.WithTimeout(ctx, s.o.QueryTimeout)
		_, err = s.pool.Exec(ctx, "DELETE FROM forcehttps_members WHERE replica = $1 AND instance = $2", s.o.Replica, s.instance)
		cancel()
		if err != nil {
			err = s.unavailable("leaving the members", err)
		}
	}
	s.pool.Close()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// SetAddresses sets the addresses shown to the other replicas, from the
// next heartbeat: the listeners' bound addresses, known once they listen.
func (s *Store) SetAddresses(addrs []string) {
	s.mu.Lock()
	s.addrs = slices.Clone(addrs)
	s.mu.Unlock()
}

func (s *Store) addresses() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs
}

package pgstate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/forcehttps/forcehttps/internal/admin"
	"github.com/forcehttps/forcehttps/internal/pg"
)

// Channel is the NOTIFY channel of state changes; the payload is the new
// state version.
const Channel = "forcehttps_state"

// Options configure a [Store].
type Options struct {
	// Replica is this replica's name in the members table. Required.
	Replica string
	// Addresses are this replica's listener addresses, shown to the
	// others.
	Addresses []string
	// BinaryVersion is this program's version. Empty: "(devel)".
	BinaryVersion string
	// LastKnownGood is the local copy of the last state read, for a start
	// while the database is down. Empty: none, and such a start fails.
	LastKnownGood string
	// Resync is how often the state is read again without a
	// notification. Zero: 10s.
	Resync time.Duration
	// MemberTimeout is how long a replica may stay silent before it is
	// gone. Zero: 30s.
	MemberTimeout time.Duration
	// Heartbeat is how often this replica records itself and reads the
	// others. Zero: a sixth of MemberTimeout, at most 5s.
	Heartbeat time.Duration
	// RetryMin and RetryMax bound the wait between reconnections while
	// the database is down. Zero: 100ms and 5s.
	RetryMin, RetryMax time.Duration
	// QueryTimeout bounds each read or write. Zero: 5s.
	QueryTimeout time.Duration
	// Logger receives the outages and recoveries. Nil: slog.Default().
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.BinaryVersion == "" {
		o.BinaryVersion = "(devel)"
	}
	if o.Resync <= 0 {
		o.Resync = 10 * time.Second
	}
	if o.MemberTimeout <= 0 {
		o.MemberTimeout = 30 * time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = min(o.MemberTimeout/6, 5*time.Second)
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 100 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Second
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Store is the state of a cluster in PostgreSQL: an [admin.Store], an
// [admin.Watcher] and an [admin.Cluster]. Build it with [Open].
type Store struct {
	o        Options
	log      *slog.Logger
	pool     *pgxpool.Pool
	instance string

	mu          sync.Mutex
	cur         admin.Snapshot
	members     []admin.Member // as of the last heartbeat
	newest      int64          // the newest state version seen
	addrs       []string
	needMigrate bool // started while the database was down
	joined      bool

	up           atomic.Bool
	applyVersion func() int64 // the state version the edge applies
	stop         context.CancelFunc
	done         chan struct{}
}

// Errors of [Open].
var (
	// ErrReplicaInUse means a live replica of another process has the
	// name.
	ErrReplicaInUse = errors.New("replica name in use")
	// ErrNoLocalCopy means the database is down and there is no local
	// copy of the state to start from.
	ErrNoLocalCopy = errors.New("no last-known-good copy of the state")
)

// Open connects to the database at conn, migrates its schema, reads the
// state and records this replica as a member. When the database cannot be
// reached it starts from [Options.LastKnownGood] and connects later; with
// no such copy it fails, wrapping [ErrNoLocalCopy] and pg.ErrUnreachable.
// Errors never contain the password of conn.
func Open(ctx context.Context, conn string, o Options) (*Store, error) {
	o.defaults()
	if o.Replica == "" {
		return nil, errors.New("cluster: a replica name is required")
	}
	s := &Store{o: o, log: o.Logger, instance: randomID(), addrs: o.Addresses}
	pool, err := pg.Open(ctx, conn)
	if errors.Is(err, pg.ErrUnreachable) {
		return s.openStatic(conn, err)
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	s.pool = pool
	s.up.Store(true)
	if err := pg.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if _, err := s.Load(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cluster: reading the state: %w", err)
	}
	if err := s.join(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// openStatic is Open while the database is down: the local copy, and a
// pool that connects later.
func (s *Store) openStatic(conn string, cause error) (*Store, error) {
	if s.o.LastKnownGood == "" {
		return nil, fmt.Errorf("cluster: %w, and %w is configured: cannot start", cause, ErrNoLocalCopy)
	}
	snap, err := admin.LoadSnapshot(s.o.LastKnownGood)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w, and %w: %v: cannot start", cause, ErrNoLocalCopy, err)
	}
	pool, err := pg.NewPool(conn)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	s.pool, s.cur, s.newest, s.needMigrate = pool, snap, snap.Version, true
	s.log.Warn("cluster: the database is unreachable; serving the last-known-good copy of the state until it is back",
		"state_version", snap.Version, "file", s.o.LastKnownGood, "error", cause.Error())
	return s, nil
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Pool returns the connection pool, for the certificate storage.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Reachable reports whether the database answered the last attempt.
func (s *Store) Reachable() bool { return s.up.Load() }

// Current returns the last snapshot read or written.
func (s *Store) Current() admin.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// unavailable classifies err: connection failures and timeouts wrap
// admin.ErrStoreUnavailable and mark the store down; SQL errors are
// returned as they are.
func (s *Store) unavailable(op string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", "57", "53": // connection exception, operator intervention, insufficient resources
		default:
			return fmt.Errorf("cluster: %s: %w", op, err)
		}
	}
	if !errors.Is(err, context.Canceled) { // shutting down, not an outage
		s.setUp(false, err)
	}
	return fmt.Errorf("%w: %s: %v", admin.ErrStoreUnavailable, op, err)
}

// setUp records whether the database answers, logging the transitions.
func (s *Store) setUp(up bool, err error) {
	if s.up.Swap(up) == up {
		return
	}
	if up {
		s.log.Info("cluster: the database is reachable again")
	} else {
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		s.log.Warn("cluster: the database is unreachable; serving the last state applied, changes refused", "error", msg)
	}
}

// Load reads the state.
func (s *Store) Load(ctx context.Context) (admin.Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, s.o.QueryTimeout)
	defer cancel()
	var snap admin.Snapshot
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		snap, err = readState(ctx, tx)
		return err
	})
	if err != nil {
		return admin.Snapshot{}, s.unavailable("reading the state", err)
	}
	s.setUp(true, nil)
	s.remember(snap)
	return snap, nil
}

// readState reads the whole state in tx.
func readState(ctx context.Context, tx pgx.Tx) (admin.Snapshot, error) {
	st := &admin.State{Version: 1, Apps: map[string]*admin.AppState{}}
	var version int64
	if err := tx.QueryRow(ctx, "SELECT version FROM forcehttps_state_version").Scan(&version); err != nil {
		return admin.Snapshot{}, err
	}
	rows, err := tx.Query(ctx, "SELECT app, state FROM forcehttps_app_state WHERE state IS NOT NULL")
	if err != nil {
		return admin.Snapshot{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var data []byte
		if err := rows.Scan(&name, &data); err != nil {
			return admin.Snapshot{}, err
		}
		var a admin.AppState
		if err := json.Unmarshal(data, &a); err != nil {
			return admin.Snapshot{}, fmt.Errorf("the state of app %q: %w", name, err)
		}
		st.Apps[name] = &a
	}
	if err := rows.Err(); err != nil {
		return admin.Snapshot{}, err
	}
	return admin.Snapshot{State: st, Version: version}, nil
}

// remember makes snap the current snapshot if it is newer, and writes the
// local copy.
func (s *Store) remember(snap admin.Snapshot) {
	s.mu.Lock()
	newer := snap.Version > s.cur.Version || s.cur.State == nil
	if newer {
		s.cur = snap
	}
	s.newest = max(s.newest, snap.Version)
	s.mu.Unlock()
	if newer && s.o.LastKnownGood != "" {
		if err := admin.SaveSnapshot(s.o.LastKnownGood, snap); err != nil {
			s.log.Error("cluster: could not write the last-known-good copy of the state", "error", err.Error())
		}
	}
}

// Update commits the state of app name if it did not change after base.
func (s *Store) Update(ctx context.Context, name string, a *admin.AppState, base int64) (admin.Snapshot, error) {
	var data []byte // nil: SQL NULL, the app's state removed
	if a != nil {
		var err error
		if data, err = json.Marshal(a); err != nil {
			return admin.Snapshot{}, fmt.Errorf("cluster: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.QueryTimeout)
	defer cancel()
	var snap admin.Snapshot
	conflict := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var version, changed int64
		if err := tx.QueryRow(ctx, "SELECT version FROM forcehttps_state_version FOR UPDATE").Scan(&version); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, "SELECT version FROM forcehttps_app_state WHERE app = $1", name).Scan(&changed)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if changed > base {
			conflict = true
			snap, err = readState(ctx, tx)
			return err
		}
		next := version + 1
		if _, err := tx.Exec(ctx, `INSERT INTO forcehttps_app_state (app, state, version) VALUES ($1, $2, $3)
ON CONFLICT (app) DO UPDATE SET state = EXCLUDED.state, version = EXCLUDED.version, changed = now()`, name, data, next); err != nil {
			return err
		}
		if err := commitVersion(ctx, tx, next); err != nil {
			return err
		}
		snap, err = readState(ctx, tx)
		return err
	})
	if err != nil {
		return admin.Snapshot{}, s.unavailable("writing the state", err)
	}
	s.setUp(true, nil)
	s.remember(snap)
	if conflict {
		return admin.Snapshot{}, &admin.ConflictError{App: name, Current: snap}
	}
	return snap, nil
}

// commitVersion sets the state version to next in tx and notifies the
// listeners of it, which happens at commit (to the sessions listening
// then), or not at all on rollback.
func commitVersion(ctx context.Context, tx pgx.Tx, next int64) error {
	if _, err := tx.Exec(ctx, "UPDATE forcehttps_state_version SET version = $1", next); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", Channel, strconv.FormatInt(next, 10))
	return err
}

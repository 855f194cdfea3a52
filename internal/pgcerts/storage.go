package pgcerts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultLockLease is how long a lock outlives its holder when
// [Options.LockLease] is zero.
const DefaultLockLease = 30 * time.Second

// Options configures a [Storage].
type Options struct {
	// LockLease is how long a lock stays valid without being extended: the
	// longest a dead holder blocks the others. The holder extends it every
	// third of it. 0 means DefaultLockLease (30 s); at least 300 ms.
	LockLease time.Duration

	// Owner names this process in the locks table, for people reading it.
	// Empty means the host name, process id and a random suffix.
	Owner string

	// Logger receives lost locks and refresh failures; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Storage is a certmagic.Storage (with TryLocker and LockLeaseRenewer) on
// the certmagic_data and certmagic_locks tables, which pg.Migrate creates.
// It is safe for concurrent use. Call Close to release the locks it holds.
type Storage struct {
	pool  *pgxpool.Pool
	lease time.Duration
	owner string
	log   *slog.Logger

	mu     sync.Mutex
	held   map[string]*heldLock // by lock name
	closed bool
}

// heldLock is one lock this Storage holds.
type heldLock struct {
	token int64
	stop  context.CancelFunc // stops the refresher
	done  chan struct{}      // closed when the refresher has returned
}

var (
	_ certmagic.Storage          = (*Storage)(nil)
	_ certmagic.TryLocker        = (*Storage)(nil)
	_ certmagic.LockLeaseRenewer = (*Storage)(nil)
)

// New returns a Storage on pool. The schema must be in place
// (pg.Migrate).
func New(pool *pgxpool.Pool, opts Options) (*Storage, error) {
	if pool == nil {
		return nil, errors.New("pgcerts: nil pool")
	}
	lease := opts.LockLease
	if lease == 0 {
		lease = DefaultLockLease
	}
	if lease < 300*time.Millisecond {
		return nil, fmt.Errorf("pgcerts: lock lease %v is shorter than 300ms", lease)
	}
	owner := opts.Owner
	if owner == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		owner = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Storage{pool: pool, lease: lease, owner: owner, log: log, held: map[string]*heldLock{}}, nil
}

// String describes the storage for certmagic's logs.
func (s *Storage) String() string { return "PostgreSQL storage (owner " + s.owner + ")" }

// notExist is the error for a missing key.
func notExist(op, key string) error {
	return &fs.PathError{Op: op, Path: key, Err: fs.ErrNotExist}
}

// clean trims the slashes certmagic never puts at either end but a caller
// might.
func clean(key string) string { return strings.Trim(key, "/") }

// dirRange is the key range ["dir/", "dir0") holding everything under dir
// ('0' is the byte after '/').
func dirRange(dir string) (lo, hi string) { return dir + "/", dir + "0" }

// Store puts value at key, replacing any value there.
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	key = clean(key)
	if key == "" {
		return errors.New("pgcerts: store: empty key")
	}
	if value == nil {
		value = []byte{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO certmagic_data (key, value, modified) VALUES ($1, $2, now())
ON CONFLICT (key) DO UPDATE SET value = excluded.value, modified = excluded.modified`, key, value)
	if err != nil {
		return fmt.Errorf("pgcerts: store %q: %w", key, err)
	}
	return nil
}

// Load returns the value at key, or an error matching fs.ErrNotExist.
func (s *Storage) Load(ctx context.Context, key string) ([]byte, error) {
	key = clean(key)
	var value []byte
	err := s.pool.QueryRow(ctx, "SELECT value FROM certmagic_data WHERE key = $1", key).Scan(&value)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notExist("load", key)
	}
	if err != nil {
		return nil, fmt.Errorf("pgcerts: load %q: %w", key, err)
	}
	return value, nil
}

// Delete removes key and, if it is a directory, everything under it. A
// missing key is not an error.
func (s *Storage) Delete(ctx context.Context, key string) error {
	key = clean(key)
	if key == "" {
		return errors.New("pgcerts: delete: empty key (would delete everything)")
	}
	lo, hi := dirRange(key)
	_, err := s.pool.Exec(ctx, "DELETE FROM certmagic_data WHERE key = $1 OR (key >= $2 AND key < $3)", key, lo, hi)
	if err != nil {
		return fmt.Errorf("pgcerts: delete %q: %w", key, err)
	}
	return nil
}

// Exists reports whether key is a file or a directory.
func (s *Storage) Exists(ctx context.Context, key string) bool {
	key = clean(key)
	if key == "" {
		return true // the root
	}
	lo, hi := dirRange(key)
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM certmagic_data WHERE key = $1)
	OR EXISTS (SELECT 1 FROM certmagic_data WHERE key >= $2 AND key < $3)`, key, lo, hi).Scan(&ok)
	return err == nil && ok
}

// Stat describes key: a file (IsTerminal, with size and modification
// time) or a directory; an error matching fs.ErrNotExist if neither.
func (s *Storage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	key = clean(key)
	if key == "" {
		return certmagic.KeyInfo{}, nil // the root: a directory
	}
	var (
		size     int64
		modified time.Time
	)
	err := s.pool.QueryRow(ctx, "SELECT octet_length(value), modified FROM certmagic_data WHERE key = $1", key).Scan(&size, &modified)
	switch {
	case err == nil:
		return certmagic.KeyInfo{Key: key, Modified: modified, Size: size, IsTerminal: true}, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return certmagic.KeyInfo{}, fmt.Errorf("pgcerts: stat %q: %w", key, err)
	}
	lo, hi := dirRange(key)
	var ok bool
	if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM certmagic_data WHERE key >= $1 AND key < $2)", lo, hi).Scan(&ok); err != nil {
		return certmagic.KeyInfo{}, fmt.Errorf("pgcerts: stat %q: %w", key, err)
	}
	if !ok {
		return certmagic.KeyInfo{}, notExist("stat", key)
	}
	return certmagic.KeyInfo{Key: key, IsTerminal: false}, nil
}

// List returns the keys under dir: its direct children (files and
// directories), or with recursive every file and directory below it. The
// empty dir is the root. A dir that does not exist is an error matching
// fs.ErrNotExist; a file has no children.
func (s *Storage) List(ctx context.Context, dir string, recursive bool) ([]string, error) {
	dir = clean(dir)
	var prefix string // what every key under dir starts with
	if dir != "" {
		prefix = dir + "/"
	}
	var (
		keys []string
		err  error
	)
	if recursive {
		keys, err = s.descendants(ctx, dir)
	} else {
		keys, err = s.firstOfEachChild(ctx, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("pgcerts: list %q: %w", dir, err)
	}
	if len(keys) == 0 {
		if dir == "" {
			return nil, nil // the root always exists
		}
		if _, err := s.Stat(ctx, dir); err == nil {
			return nil, nil // a file
		}
		return nil, notExist("list", dir)
	}
	// Each key yields its own path and, recursively, every directory
	// between dir and it; without recursion only its first component.
	seen := map[string]bool{}
	var out []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, k := range keys {
		rest := strings.TrimPrefix(k, prefix)
		if !recursive {
			child, _, _ := strings.Cut(rest, "/")
			add(prefix + child)
			continue
		}
		for i := 0; i < len(rest); i++ {
			if rest[i] == '/' {
				add(prefix + rest[:i])
			}
		}
		add(k)
	}
	slices.Sort(out)
	return out, nil
}

// descendants returns every key under dir (the whole table for the root).
func (s *Storage) descendants(ctx context.Context, dir string) ([]string, error) {
	var rows pgx.Rows
	var err error
	if dir == "" {
		rows, err = s.pool.Query(ctx, "SELECT key FROM certmagic_data ORDER BY key")
	} else {
		lo, hi := dirRange(dir)
		rows, err = s.pool.Query(ctx, "SELECT key FROM certmagic_data WHERE key >= $1 AND key < $2 ORDER BY key", lo, hi)
	}
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// skipScan finds, in key order, the first key of each child of a
// directory: from each key found it jumps to the first key past that
// key's child (past "dir/child0" for a subdirectory, just past the key for
// a file), one index probe per child. $1 is the directory's prefix
// ("dir/", or "" for the root); %s is the upper bound of the range.
const skipScan = `
WITH RECURSIVE walk(k) AS (
	SELECT (SELECT key FROM certmagic_data WHERE key >= $1 %[1]s ORDER BY key LIMIT 1)
	UNION ALL
	SELECT (SELECT d.key FROM certmagic_data d
		WHERE d.key >= (CASE WHEN strpos(substr(w.k, length($1) + 1), '/') > 0
			THEN left(w.k, length($1) + strpos(substr(w.k, length($1) + 1), '/') - 1) || '0'
			ELSE w.k || chr(1) END) COLLATE "C"
		%[2]s ORDER BY d.key LIMIT 1)
	FROM walk w WHERE w.k IS NOT NULL
)
SELECT k FROM walk WHERE k IS NOT NULL`

var (
	skipScanRoot = fmt.Sprintf(skipScan, "", "")
	skipScanDir  = fmt.Sprintf(skipScan, "AND key < $2", "AND d.key < $2")
)

// firstOfEachChild returns one key per direct child of dir.
func (s *Storage) firstOfEachChild(ctx context.Context, dir string) ([]string, error) {
	var rows pgx.Rows
	var err error
	if dir == "" {
		rows, err = s.pool.Query(ctx, skipScanRoot, "")
	} else {
		lo, hi := dirRange(dir)
		rows, err = s.pool.Query(ctx, skipScanDir, lo, hi)
	}
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

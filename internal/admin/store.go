package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
)

// Snapshot is the state at one version of a [Store].
type Snapshot struct {
	// State is the state; the receiver must not modify it.
	State *State
	// Version grows by one with every committed change; 0 is the empty
	// state of a new store.
	Version int64
}

// Store is where the state lives: the state file on a single node, a
// database shared by the replicas of a cluster. Changes are optimistic:
// the admin reads a snapshot, changes one app, and commits only if that
// app did not change since, so two admins changing one app at the same
// time never lose a change silently.
type Store interface {
	// Current returns the last snapshot the store read or wrote, without
	// reaching a database: what the edge serves at start, even when the
	// database is down.
	Current() Snapshot
	// Load reads the current snapshot.
	Load(ctx context.Context) (Snapshot, error)
	// Update replaces the state of app name with s (nil removes it) if
	// the app did not change after version base, and returns the snapshot
	// that the change committed. If it changed, Update returns a
	// *[ConflictError] holding the current snapshot. Errors reaching the
	// store wrap [ErrStoreUnavailable].
	Update(ctx context.Context, name string, s *AppState, base int64) (Snapshot, error)
}

// Watcher is implemented by stores that other processes change too.
type Watcher interface {
	// Watch calls apply with each newer snapshot that others committed,
	// until ctx is done. A snapshot whose apply returned an error is
	// offered again later.
	Watch(ctx context.Context, apply func(context.Context, Snapshot) error)
}

// ErrStoreUnavailable means the store (the cluster's database) could not
// be reached: nothing changed, and the edge keeps serving the last state
// it applied.
var ErrStoreUnavailable = errors.New("admin: the cluster store is unreachable")

// ConflictError is returned by [Store.Update] when the app changed after
// the version the change was based on.
type ConflictError struct {
	// App is the app's name.
	App string
	// Current is the store's snapshot, with the other change.
	Current Snapshot
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("admin: app %q was changed concurrently (now at state version %d); reload and retry", e.App, e.Current.Version)
}

// FileStore is the [Store] of a single node: the state in memory, and in
// a JSON file ([SaveState]) when it has a path. Versions count the changes
// since the process started; the file does not hold them, so its format is
// the one of [State].
type FileStore struct {
	path string

	mu      sync.Mutex
	snap    Snapshot
	changed map[string]int64 // app -> version of its last change
}

// NewFileStore reads the state file at path (missing: an empty state);
// "" keeps the state in memory only.
func NewFileStore(path string) (*FileStore, error) {
	st := &State{Version: stateVersion, Apps: map[string]*AppState{}}
	if path != "" {
		var err error
		if st, err = LoadState(path); err != nil {
			return nil, err
		}
	}
	return &FileStore{path: path, snap: Snapshot{State: st}, changed: map[string]int64{}}, nil
}

// Current returns the state in memory.
func (f *FileStore) Current() Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap
}

// Load returns the state in memory: the file is only read at start.
func (f *FileStore) Load(context.Context) (Snapshot, error) { return f.Current(), nil }

// Update changes app name and writes the file atomically.
func (f *FileStore) Update(_ context.Context, name string, s *AppState, base int64) (Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.changed[name] > base {
		return Snapshot{}, &ConflictError{App: name, Current: f.snap}
	}
	next := f.snap.State.cloneFor(name)
	if s == nil {
		delete(next.Apps, name)
	} else {
		next.Apps[name] = s.clone() // s stays the caller's
	}
	if f.path != "" {
		if err := SaveState(f.path, next); err != nil {
			return Snapshot{}, err
		}
	}
	f.snap = Snapshot{State: next, Version: f.snap.Version + 1}
	f.changed[name] = f.snap.Version
	return f.snap, nil
}

// snapshotFile is the format of [SaveSnapshot]: a state and its version.
type snapshotFile struct {
	Format       int    `json:"format"`
	StateVersion int64  `json:"state_version"`
	State        *State `json:"state"`
}

// SaveSnapshot writes snap to path atomically, as [SaveState] does: the
// local copy of a shared store's state, for a start while the store is
// unreachable.
func SaveSnapshot(path string, snap Snapshot) error {
	data, err := json.MarshalIndent(snapshotFile{Format: 1, StateVersion: snap.Version, State: snap.State}, "", "  ")
	if err != nil {
		return fmt.Errorf("admin: snapshot: %w", err)
	}
	return writeAtomic(path, append(data, '\n'), 0o600)
}

// LoadSnapshot reads a file written by [SaveSnapshot]. A missing file is
// an error that matches fs.ErrNotExist.
func LoadSnapshot(path string) (Snapshot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Snapshot{}, fmt.Errorf("admin: snapshot: %w", err)
	}
	if len(data) > maxStateBytes {
		return Snapshot{}, errors.New("admin: snapshot: file too large")
	}
	var f snapshotFile
	if err := decodeStrict(data, &f); err != nil {
		return Snapshot{}, fmt.Errorf("admin: snapshot %s: %w", path, err)
	}
	if f.Format != 1 || f.State == nil || f.StateVersion < 0 {
		return Snapshot{}, fmt.Errorf("admin: snapshot %s: not a state snapshot of format 1", path)
	}
	st, err := ParseState(mustJSON(f.State))
	if err != nil {
		return Snapshot{}, fmt.Errorf("admin: snapshot %s: %w", path, err)
	}
	return Snapshot{State: st, Version: f.StateVersion}, nil
}

// mustJSON encodes v, which cannot fail for a State.
func mustJSON(v any) []byte {
	data, _ := json.Marshal(v)
	return data
}

package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"time"
)

// State is what the admin API changed, by app name: the content of the
// state file.
type State struct {
	// Version is the format version, 1.
	Version int `json:"version"`
	// Apps holds the changes per app name.
	Apps map[string]*AppState `json:"apps"`
}

// AppState is what the admin API changed on one app. Nil fields leave
// the configuration file's value.
type AppState struct {
	// ForceHTTPS overrides force_https.
	ForceHTTPS *bool `json:"force_https,omitempty"`
	// EnabledAt is when Force HTTPS was last enabled through the API.
	EnabledAt time.Time `json:"enabled_at,omitzero"`
	// Ramp ramps HSTS max-age up from EnabledAt.
	Ramp bool `json:"ramp,omitempty"`
	// DisabledAt is when Force HTTPS was last disabled through the API.
	DisabledAt time.Time `json:"disabled_at,omitzero"`
	// DrainUntil is when max-age=0 stops being sent after a disable.
	DrainUntil time.Time `json:"drain_until,omitzero"`
	// HSTS overrides the HSTS policy.
	HSTS *HSTSOverride `json:"hsts,omitempty"`
	// Redirect overrides the redirect statuses.
	Redirect *RedirectOverride `json:"redirect,omitempty"`
	// MaxAgeSent is the largest HSTS max-age, in seconds, the edge is
	// known to have sent for the app.
	MaxAgeSent int64 `json:"max_age_sent,omitempty"`
	// App is the definition of an app created through the API: a JSON
	// object with the keys of an entry of "apps" in the configuration
	// file ([config.DecodeApp]). Absent for the apps of the file.
	App json.RawMessage `json:"app,omitempty"`
}

// HSTSOverride overrides HSTS keys of an app; nil fields are unchanged.
type HSTSOverride struct {
	MaxAge            *int64 `json:"max_age,omitempty"`
	IncludeSubdomains *bool  `json:"include_subdomains,omitempty"`
	Preload           *bool  `json:"preload,omitempty"`
}

// RedirectOverride overrides redirect keys of an app; nil fields are
// unchanged.
type RedirectOverride struct {
	Status       *int  `json:"status,omitempty"`
	UnsafeStatus *int  `json:"unsafe_status,omitempty"`
	Temporary    *bool `json:"temporary,omitempty"`
}

// stateVersion is the version of the state file format.
const stateVersion = 1

// maxStateBytes bounds the state file.
const maxStateBytes = 4 << 20

// clone returns a deep copy of s.
func (s *State) clone() *State {
	out := &State{Version: stateVersion, Apps: map[string]*AppState{}}
	if s == nil {
		return out
	}
	data, err := json.Marshal(s)
	if err != nil {
		return out
	}
	if err := json.Unmarshal(data, out); err != nil || out.Apps == nil {
		out.Apps = map[string]*AppState{}
	}
	return out
}

// cloneFor returns a copy of s that shares the state of every app but
// name, whose state is copied deeply: what a change of app name may
// modify. The states of a State are never modified once it is shared,
// so sharing them is safe, and a change costs in proportion to its app
// rather than to the number of apps.
func (s *State) cloneFor(name string) *State {
	out := &State{Version: stateVersion, Apps: map[string]*AppState{}}
	if s == nil {
		return out
	}
	out.Apps = maps.Clone(s.Apps)
	if out.Apps == nil {
		out.Apps = map[string]*AppState{}
	}
	if a := s.Apps[name]; a != nil {
		out.Apps[name] = a.clone()
	}
	return out
}

// clone returns a deep copy of a.
func (a *AppState) clone() *AppState {
	out := &AppState{}
	if data, err := json.Marshal(a); err == nil {
		json.Unmarshal(data, out)
	}
	return out
}

// app returns the state of app name, creating it.
func (s *State) app(name string) *AppState {
	a := s.Apps[name]
	if a == nil {
		a = &AppState{}
		s.Apps[name] = a
	}
	return a
}

// LoadState reads a state file. A missing file is an empty state.
func LoadState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Version: stateVersion, Apps: map[string]*AppState{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("admin: state: %w", err)
	}
	return ParseState(data)
}

// ParseState decodes the content of a state file; unknown fields are
// errors.
func ParseState(data []byte) (*State, error) {
	if len(data) > maxStateBytes {
		return nil, errors.New("admin: state: file too large")
	}
	var s State
	if err := decodeStrict(data, &s); err != nil {
		return nil, fmt.Errorf("admin: state: %w", err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("admin: state: version %d, want %d", s.Version, stateVersion)
	}
	if s.Apps == nil {
		s.Apps = map[string]*AppState{}
	}
	for name, a := range s.Apps {
		if a == nil {
			return nil, fmt.Errorf("admin: state: app %q: null", name)
		}
	}
	return &s, nil
}

// SaveState writes s to path atomically: a temporary file in the same
// directory, synced, renamed over path, then the directory synced.
func SaveState(path string, s *State) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("admin: state: %w", err)
	}
	return writeAtomic(path, append(data, '\n'), 0o600)
}

// writeAtomic replaces path with data, all or nothing.
func writeAtomic(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("admin: state: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("admin: state: %w", err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("admin: state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("admin: state: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("admin: state: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("admin: state: %w", err)
	}
	return nil
}

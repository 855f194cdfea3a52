package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFileStoreConflicts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json")
	fs, err := NewFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	on, off := true, false
	s1, err := fs.Update(ctx, "shop", &AppState{ForceHTTPS: &on}, 0)
	if err != nil || s1.Version != 1 {
		t.Fatalf("Update(shop, base 0) = %v, %v; want version 1", s1, err)
	}
	// Another app, based on the same version: no conflict.
	if s, err := fs.Update(ctx, "blog", &AppState{ForceHTTPS: &off}, 0); err != nil || s.Version != 2 {
		t.Fatalf("Update(blog, base 0) = %v, %v; want version 2", s, err)
	}
	// The same app, based on a version before its change: a conflict
	// carrying the current state.
	_, err = fs.Update(ctx, "shop", &AppState{ForceHTTPS: &off}, 0)
	var conflict *ConflictError
	if !errors.As(err, &conflict) || conflict.App != "shop" || conflict.Current.Version != 2 || !*conflict.Current.State.Apps["shop"].ForceHTTPS {
		t.Fatalf("Update(shop, stale base) = %v, want a ConflictError at version 2 with shop on", err)
	}
	// Removing an app; the file has what the store has, in the state
	// file's format.
	if _, err := fs.Update(ctx, "blog", nil, 2); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fs.Current().State, got); diff != "" {
		t.Errorf("LoadState(file) mismatch (-store +file):\n%s", diff)
	}
	if _, ok := got.Apps["blog"]; ok {
		t.Errorf("blog still in the file after its removal")
	}
}

func TestSnapshotFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	on := true
	want := Snapshot{Version: 42, State: &State{Version: 1, Apps: map[string]*AppState{"shop": {ForceHTTPS: &on, MaxAgeSent: 300}}}}
	path := filepath.Join(dir, "edge.yaml.state.cluster.json")
	if err := SaveSnapshot(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadSnapshot(SaveSnapshot(s)) mismatch (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("snapshot file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	tests := []struct{ name, content, want string }{
		{"missing", "", "no such file"},
		{"not JSON", "{", "unexpected EOF"},
		{"wrong format", `{"format": 2, "state_version": 1, "state": {"version": 1, "apps": {}}}`, "not a state snapshot of format 1"},
		{"no state", `{"format": 1, "state_version": 1}`, "not a state snapshot"},
		{"unknown field", `{"format": 1, "state_version": 1, "state": {"version": 1, "apps": {}}, "x": 1}`, "unknown field"},
		{"bad state", `{"format": 1, "state_version": 1, "state": {"version": 7, "apps": {}}}`, "version 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".json")
			if tt.content != "" {
				if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := LoadSnapshot(p); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LoadSnapshot = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// fakeStore is a FileStore that can be made unreachable, or made to
// report that someone else changed the app first.
type fakeStore struct {
	*FileStore
	mu       sync.Mutex
	down     bool
	conflict *State // applied as someone else's change before the next Update
}

func (f *fakeStore) Load(ctx context.Context) (Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return Snapshot{}, fmt.Errorf("%w: dial tcp 127.0.0.1:5432: connection refused", ErrStoreUnavailable)
	}
	return f.FileStore.Load(ctx)
}

func (f *fakeStore) Update(ctx context.Context, name string, s *AppState, base int64) (Snapshot, error) {
	f.mu.Lock()
	other := f.conflict
	f.conflict = nil
	f.mu.Unlock()
	if other != nil {
		if _, err := f.FileStore.Update(ctx, name, other.Apps[name], base); err != nil {
			return Snapshot{}, err
		}
	}
	return f.FileStore.Update(ctx, name, s, base)
}

// fakeCluster reports a fixed cluster.
type fakeCluster struct{ st ClusterStatus }

func (f fakeCluster) Status(context.Context) ClusterStatus { return f.st }

// TestStoreErrors: a conflict is a 409 with the current app, an
// unreachable store a 503 that says so, and the change is not made.
func TestStoreErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fs, err := NewFileStore("")
	if err != nil {
		t.Fatal(err)
	}
	store := &fakeStore{FileStore: fs}
	e.store = store
	in := e.start(t, newClock())

	status := 302
	store.conflict = &State{Version: 1, Apps: map[string]*AppState{"good": {Redirect: &RedirectOverride{Status: &status}}}}
	code, body := in.api("PATCH", "/api/apps/good", `{"hsts": {"max_age": 600}}`)
	if code != http.StatusConflict {
		t.Fatalf("PATCH with a concurrent change = %d %v, want 409", code, body)
	}
	app, _ := body["app"].(map[string]any)
	if app == nil || app["redirect"].(map[string]any)["status"] != float64(302) || app["hsts"].(map[string]any)["target"] == float64(600) {
		t.Errorf("409 body = %v, want the other change (redirect 302) and not this one", body)
	}
	if v := in.app("good"); v.Redirect.Status != 302 {
		t.Errorf("after the 409 the admin shows redirect %d, want the current 302", v.Redirect.Status)
	}

	store.mu.Lock()
	store.down = true
	store.mu.Unlock()
	req, _ := http.NewRequest("POST", "http://"+in.addrs.Admin+"/api/apps/good/disable", nil)
	req.Header.Set("Authorization", "Bearer "+in.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("disable with the store down = %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	code, body = in.api("PATCH", "/api/apps/good", `{"hsts": {"max_age": 600}}`)
	if msg := fmt.Sprint(body["error"]); code != http.StatusServiceUnavailable || !strings.Contains(msg, "cluster store") || strings.Contains(msg, "5432") {
		t.Errorf("PATCH with the store down = %d %q, want 503 naming the cluster store, without internals", code, msg)
	}

	// Outside a cluster, /api/cluster is a 404.
	if code, _ := in.api("GET", "/api/cluster", ""); code != http.StatusNotFound {
		t.Errorf("GET /api/cluster outside a cluster = %d, want 404", code)
	}
}

// TestClusterView: /api/cluster and the dashboard's panel show the
// replicas, and say when the store is unreachable.
func TestClusterView(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seen := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e.cluster = fakeCluster{ClusterStatus{
		Replica: "edge-1", StoreReachable: false, StateVersion: 7, MemberTimeout: "30s",
		Members: []Member{
			{Name: "edge-1", Version: "v1", StateVersion: 7, LastSeen: seen, Converged: true, Self: true},
			{Name: "edge-2", Version: "v1", StateVersion: 6, LastSeen: seen},
			{Name: "edge-3", Version: "v1", StateVersion: 3, LastSeen: seen, Gone: true},
			{Name: "edge-4", Version: "v1"},
		},
	}}
	in := e.start(t, newClock())
	code, body := in.api("GET", "/api/cluster", "")
	if code != 200 || body["replica"] != "edge-1" || body["store_reachable"] != false || len(body["members"].([]any)) != 4 {
		t.Errorf("GET /api/cluster = %d %v", code, body)
	}
	if code, _ := in.api("POST", "/api/cluster", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/cluster = %d, want 405", code)
	}

	c := browser(t)
	base := "http://" + in.addrs.Admin
	post(t, c, base+"/login", url.Values{"token": {e.token}}, nil)
	_, page := get(t, c, base+"/")
	for _, want := range []string{
		`id="store-down"`,
		`id="member-edge-1"><td>edge-1 (this one)`,
		`<span class="ok">converged</span>`,
		`<span class="off">behind</span>`,
		`<span class="fail">gone</span>`,
		"silent for more than 30s",
		"2026-01-02 03:04:05 UTC",
		"not yet recorded",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %s", want)
		}
	}
}

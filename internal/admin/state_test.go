package admin

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStateRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "edge.yaml.state.json")
	on, maxAge, temp := true, int64(600), true
	want := &State{Version: 1, Apps: map[string]*AppState{
		"shop": {ForceHTTPS: &on, EnabledAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Ramp: true,
			HSTS: &HSTSOverride{MaxAge: &maxAge}, Redirect: &RedirectOverride{Temporary: &temp}, MaxAgeSent: 300},
	}}
	if err := SaveState(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadState(SaveState(s)) mismatch (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode = %v %v, want 0600", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want the state file only (no temporary file left)", len(entries))
	}
	missing, err := LoadState(filepath.Join(t.TempDir(), "none.json"))
	if err != nil || len(missing.Apps) != 0 {
		t.Errorf("LoadState(missing) = %v, %v; want an empty state", missing, err)
	}
}

func TestParseStateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in string }{
		{"not JSON", `{`},
		{"unknown field", `{"version":1,"apps":{},"extra":1}`},
		{"wrong version", `{"version":2,"apps":{}}`},
		{"null app", `{"version":1,"apps":{"a":null}}`},
		{"trailing data", `{"version":1,"apps":{}} x`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseState([]byte(tt.in)); err == nil {
				t.Errorf("ParseState(%q) = nil error, want one", tt.in)
			}
		})
	}
}

func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"version":1,"apps":{"a":{"force_https":true,"enabled_at":"2026-01-02T03:04:05Z","ramp":true}}}`))
	f.Add([]byte(`{"version":1,"apps":{"a":{"hsts":{"max_age":5},"redirect":{"status":302}}}}`))
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseState(data)
		if err != nil {
			return
		}
		if s.Apps == nil || s.Version != stateVersion {
			t.Fatalf("ParseState(%q) = %+v, want apps and version 1", data, s)
		}
		// What parses survives a save and a load unchanged.
		path := filepath.Join(t.TempDir(), "s.json")
		if err := SaveState(path, s); err != nil {
			t.Fatal(err)
		}
		again, err := LoadState(path)
		if err != nil {
			t.Fatalf("LoadState after SaveState: %v", err)
		}
		if diff := cmp.Diff(s, again); diff != "" {
			t.Fatalf("round trip mismatch (-parsed +reloaded):\n%s", diff)
		}
	})
}

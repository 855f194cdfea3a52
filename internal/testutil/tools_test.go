package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ending is how a helper ended the test it was given.
type ending struct {
	Fatal, Skip string // the messages, "" for neither
}

// recorder is a testing.TB whose Fatal and Skip record their message and
// end the goroutine, as the real ones do, without touching the test that
// runs the helper.
type recorder struct {
	testing.TB // nil: a helper calling anything else panics
	mu         sync.Mutex
	end        ending
}

func (r *recorder) Helper() {}

func (r *recorder) Fatal(args ...any) {
	r.mu.Lock()
	r.end.Fatal = fmt.Sprint(args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Skip(args ...any) {
	r.mu.Lock()
	r.end.Skip = fmt.Sprint(args...)
	r.mu.Unlock()
	runtime.Goexit()
}

// run calls f with a recorder on a goroutine of its own and returns how
// f ended the test, if it did.
func run(f func(testing.TB)) ending {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.end
}

// executable makes an empty executable file dir/name.
func executable(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMissingTool: CI set fails the test, CI unset skips it.
func TestMissingTool(t *testing.T) {
	const msg = "frob is not installed: run `bash scripts/frob.sh`"
	tests := []struct {
		ci   string
		want ending
	}{
		{"", ending{Skip: msg}},
		{"true", ending{Fatal: msg}},
		{"1", ending{Fatal: msg}},
	}
	for _, tt := range tests {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			got := run(func(tb testing.TB) { MissingTool(tb, msg) })
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("MissingTool(%q) with CI=%q mismatch (-want +got):\n%s", msg, tt.ci, diff)
			}
		})
	}
}

func TestFindChromium(t *testing.T) {
	bin := t.TempDir()
	onlyBrowser := t.TempDir()
	chromium := executable(t, bin, "chromium")
	executable(t, bin, "chromium-browser")
	browser := executable(t, onlyBrowser, "chromium-browser")
	empty := t.TempDir()
	tests := []struct {
		name          string
		env, path, ci string
		want          string // the path found, if any
		wantEnd       ending
	}{
		{name: "$CHROMIUM wins", env: "/opt/browser/chrome", path: bin, want: "/opt/browser/chrome"},
		{name: "chromium first", path: bin, want: chromium},
		{name: "then chromium-browser", path: onlyBrowser, want: browser},
		{name: "missing without CI", path: empty, wantEnd: ending{Skip: chromiumInstall}},
		{name: "missing under CI", path: empty, ci: "1", wantEnd: ending{Fatal: chromiumInstall}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CHROMIUM", tt.env)
			t.Setenv("PATH", tt.path)
			t.Setenv("CI", tt.ci)
			var got *Chromium
			end := run(func(tb testing.TB) { got = FindChromium(tb) })
			if diff := cmp.Diff(tt.wantEnd, end); diff != "" {
				t.Errorf("FindChromium() ending mismatch (-want +got):\n%s", diff)
			}
			if tt.want == "" {
				if got != nil {
					t.Errorf("FindChromium() = %+v, want none", got)
				}
				return
			}
			if got == nil || got.Path != tt.want {
				t.Errorf("FindChromium() = %+v, want %q", got, tt.want)
			}
		})
	}
}

func TestFindTool(t *testing.T) {
	// A module of its own, with a tool in .tools/bin, another that is not
	// executable there, and a PATH directory.
	mod := t.TempDir()
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.test/m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tools := filepath.Join(mod, ".tools", "bin")
	if err := os.MkdirAll(tools, 0o755); err != nil {
		t.Fatal(err)
	}
	pinned := executable(t, tools, "pinned")
	if err := os.WriteFile(filepath.Join(tools, "plain"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(tools, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := t.TempDir()
	executable(t, path, "pinned")
	plainOnPath := executable(t, path, "plain")
	dirOnPath := executable(t, path, "dir")
	onPath := executable(t, path, "onpath")
	sub := filepath.Join(mod, "internal", "pkg")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	const install = "bash scripts/tool.sh"
	missing := "absent not found in .tools/bin or PATH; install it with: " + install
	tests := []struct {
		name, tool, ci string
		want           string
		wantEnd        ending
	}{
		{name: ".tools/bin before PATH", tool: "pinned", want: pinned},
		{name: "PATH", tool: "onpath", want: onPath},
		{name: "not executable in .tools/bin", tool: "plain", want: plainOnPath},
		{name: "directory in .tools/bin", tool: "dir", want: dirOnPath},
		{name: "missing without CI", tool: "absent", wantEnd: ending{Skip: missing}},
		{name: "missing under CI", tool: "absent", ci: "true", wantEnd: ending{Fatal: missing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(sub)
			t.Setenv("PATH", path)
			t.Setenv("CI", tt.ci)
			var got string
			end := run(func(tb testing.TB) { got = FindTool(tb, tt.tool, install) })
			if diff := cmp.Diff(tt.wantEnd, end); diff != "" {
				t.Errorf("FindTool(%q) ending mismatch (-want +got):\n%s", tt.tool, diff)
			}
			if got != tt.want {
				t.Errorf("FindTool(%q) = %q, want %q", tt.tool, got, tt.want)
			}
		})
	}
}

// TestFindToolOutsideModule: with no go.mod above the working directory,
// PATH alone counts.
func TestFindToolOutsideModule(t *testing.T) {
	dir := t.TempDir()
	path := t.TempDir()
	want := executable(t, path, "tool")
	t.Chdir(dir)
	if root, err := moduleRoot(); err == nil {
		t.Skipf("the temporary directory is inside the module at %s", root)
	}
	t.Setenv("PATH", path)
	var got string
	if end := run(func(tb testing.TB) { got = FindTool(tb, "tool", "true") }); end != (ending{}) || got != want {
		t.Errorf("FindTool(%q) = %q, ended %+v; want %q", "tool", got, end, want)
	}
}

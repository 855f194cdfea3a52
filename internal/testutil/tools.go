package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// MissingTool ends a test that cannot run without an outside program:
// with t.Fatal when the environment variable CI is set (CI must never pass
// by skipping), with t.Skip otherwise. msg says what is missing and how to
// install it.
func MissingTool(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// FindTool returns the path of the program name: an executable file in
// the .tools/bin directory of the module holding the working directory
// (where the project's scripts install pinned tools), else the first on
// PATH. Missing, it calls [MissingTool] with a message quoting install,
// the command that installs it.
func FindTool(t testing.TB, name, install string) string {
	t.Helper()
	if dir, err := moduleRoot(); err == nil {
		p := filepath.Join(dir, ".tools", "bin", name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	MissingTool(t, fmt.Sprintf("%s not found in .tools/bin or PATH; install it with: %s", name, install))
	return ""
}

// moduleRoot is the nearest directory at or above the working directory
// holding a go.mod file.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

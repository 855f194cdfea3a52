package h2

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// h2specBinary finds h2spec: in the repository's .tools/bin (scripts/tools.sh
// installs it there), or on PATH.
func h2specBinary() string {
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", ".tools", "bin", "h2spec")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	p, _ = exec.LookPath("h2spec")
	return p
}

// TestH2spec runs the h2spec conformance suite (generic and http2
// sections) against the server on loopback TLS.
func TestH2spec(t *testing.T) {
	if testing.Short() {
		t.Skip("h2spec: skipped in short mode")
	}
	bin := h2specBinary()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("h2spec is not installed: run bash scripts/tools.sh h2spec (make test-deps)")
		}
		t.Skip("h2spec is not installed: run bash scripts/tools.sh h2spec (make test-deps)")
	}
	h := start(t, &Server{
		MaxHeaderBytes: 16 << 10,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, "hello")
		}),
	})
	_, port, _ := net.SplitHostPort(h.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, section := range []string{"generic", "http2", "hpack"} {
		out, err := exec.CommandContext(ctx, bin, section, "-t", "-k", "-h", "127.0.0.1", "-p", port, "-o", "5").CombinedOutput()
		t.Logf("h2spec %s: %s", section, lastLines(string(out), 3))
		if err != nil || !strings.Contains(string(out), " 0 failed") {
			t.Errorf("h2spec %s: %v\n%s", section, err, out)
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

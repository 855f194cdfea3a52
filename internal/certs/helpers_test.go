package certs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

// writePair writes a certificate and key into dir as <name>.pem and
// <name>.key.
func writePair(t testing.TB, dir, name string, certPEM, keyPEM []byte) Pair {
	t.Helper()
	p := Pair{CertFile: filepath.Join(dir, name+".pem"), KeyFile: filepath.Join(dir, name+".key")}
	testutil.WriteFile(t, p.CertFile, certPEM)
	testutil.WriteFile(t, p.KeyFile, keyPEM)
	return p
}

// logRecorder is a slog.Handler keeping every record in memory. Tests hand
// it to a Manager instead of t.Log, because certmagic's goroutines may log
// after a test has returned.
type logRecorder struct {
	mu    *sync.Mutex
	lines *[]logLine
	attrs []slog.Attr
}

type logLine struct {
	level slog.Level
	msg   string
	text  string // message and attributes, key=value
}

func newLogRecorder() *logRecorder {
	return &logRecorder{mu: new(sync.Mutex), lines: new([]logLine)}
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	for _, a := range h.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.mu.Lock()
	*h.lines = append(*h.lines, logLine{level: r.Level, msg: r.Message, text: b.String()})
	h.mu.Unlock()
	return nil
}

func (h *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *logRecorder) WithGroup(string) slog.Handler { return h }

func (h *logRecorder) snapshot() []logLine {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]logLine(nil), *h.lines...)
}

// find returns the first record at level or above whose text contains
// every one of subs.
func (h *logRecorder) find(level slog.Level, subs ...string) (logLine, bool) {
	for _, l := range h.snapshot() {
		if l.level < level {
			continue
		}
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(l.text, s)
		}
		if ok {
			return l, true
		}
	}
	return logLine{}, false
}

// dumpOnFailure writes the records to the test log when the test failed,
// or always when CERTS_DUMP is set (to read certmagic's story of a passing
// test).
func (h *logRecorder) dumpOnFailure(t testing.TB, what string) {
	t.Helper()
	t.Cleanup(func() {
		if !t.Failed() && os.Getenv("CERTS_DUMP") == "" {
			return
		}
		lines := h.snapshot()
		if len(lines) > 300 {
			lines = lines[len(lines)-300:]
		}
		var b strings.Builder
		for _, l := range lines {
			b.WriteString(l.text)
			b.WriteByte('\n')
		}
		t.Logf("%s (last %d records):\n%s", what, len(lines), b.String())
	})
}

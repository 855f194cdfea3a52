package certs

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
)

func TestZapToSlog(t *testing.T) {
	t.Parallel()
	logs := newLogRecorder()
	zl := newZapLogger(levelFilter{logs, slog.LevelInfo}).Named("obtain").With(zap.String("identifier", "a.test"))
	zl.Debug("dropped")
	zl.Info("obtaining certificate", zap.Int("attempt", 2))
	zl.Warn("looking up info", zap.Strings("names", []string{"x", "y"}))
	zl.Error("could not get certificate", zap.Error(errors.New("boom")))
	var got []string
	for _, l := range logs.snapshot() {
		got = append(got, l.text)
	}
	want := []string{
		"INFO obtaining certificate identifier=a.test logger=certmagic.obtain attempt=2",
		"WARN looking up info identifier=a.test logger=certmagic.obtain names=[x y]",
		"ERROR could not get certificate identifier=a.test logger=certmagic.obtain error=boom",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records mismatch (-want +got):\n%s", diff)
	}
}

// levelFilter drops records below min.
type levelFilter struct {
	h   slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(_ context.Context, l slog.Level) bool { return l >= f.min }

func (f levelFilter) Handle(ctx context.Context, r slog.Record) error { return f.h.Handle(ctx, r) }

func (f levelFilter) WithAttrs(as []slog.Attr) slog.Handler {
	return levelFilter{f.h.WithAttrs(as), f.min}
}

func (f levelFilter) WithGroup(g string) slog.Handler { return levelFilter{f.h.WithGroup(g), f.min} }

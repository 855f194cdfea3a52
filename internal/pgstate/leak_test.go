package pgstate_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/admin"
	"github.com/forcehttps/forcehttps/internal/pgstate"
	"github.com/forcehttps/forcehttps/internal/pgtest"
)

// TestNoGoroutineLeft: once Watch's context is done and Close returned,
// the store has left nothing running: no LISTEN session, heartbeat or
// pool goroutine. Not parallel: it counts the process's goroutines.
func TestNoGoroutineLeft(t *testing.T) {
	db := pgtest.Start(t)
	o := testOptions("leak", t.TempDir())
	before := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	st, err := pgstate.Open(ctx, db, o)
	if err != nil {
		t.Fatal(err)
	}
	st.Start(ctx, func() int64 { return 0 })
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		st.Watch(ctx, func(context.Context, admin.Snapshot) error { return nil })
	}()
	// A change, so that the listener has received something.
	if _, err := st.Update(ctx, "shop", &admin.AppState{}, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the heartbeat to list this replica", func() (bool, string) {
		ms := st.Status(ctx).Members
		return len(ms) == 1 && ms[0].Self && !ms[0].StartedAt.IsZero(), ""
	})
	cancel()
	select {
	case <-watching:
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not return within 10s of its context's end")
	}
	if err := st.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the store's goroutines to end", func() (bool, string) {
		n := runtime.NumGoroutine()
		return n <= before, fmt.Sprintf("%d goroutines, %d before", n, before)
	})
}

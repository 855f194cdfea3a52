package edge

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// newTestContext returns an exchange's context over parent, for rq.
func newTestContext(parent context.Context, rq *request, eager bool) *exchangeContext {
	ex := &exchange{parent: parent}
	ex.ctx.init(ex, rq, eager)
	return &ex.ctx
}

// waitCalled waits (at most 10 s) until n reports true.
func waitCalled(t *testing.T, what string, n *atomic.Bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !n.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: never called", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestExchangeContext checks that an exchange's context behaves as
// context.WithCancel(context.WithValue(parent, requestKey{}, rq)):
// errors, values, causes and derived contexts, whoever cancels it.
func TestExchangeContext(t *testing.T) {
	t.Parallel()
	type key struct{}
	tests := []struct {
		name    string
		made    bool // Done was called before the cancellation
		byOwn   bool // canceled by the exchange, else by the parent
		follow  bool // the exchange follows its parent (the watchdog looked)
		wantErr error
	}{
		{"own cancel", false, true, false, context.Canceled},
		{"own cancel, made", true, true, false, context.Canceled},
		{"parent, not followed", false, false, false, context.Canceled},
		{"parent, followed", false, false, true, context.Canceled},
		{"parent, made", true, false, false, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parent, cancelParent := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
			defer cancelParent()
			rq := &request{id: "x"}
			c := newTestContext(parent, rq, false)
			if requestOf(c) != rq || requestOf(context.WithValue(c, key{}, "w")) != rq {
				t.Fatal("requestOf does not find the request")
			}
			if c.Value(key{}) != "v" || c.Err() != nil {
				t.Fatalf("before: Value %v, Err %v", c.Value(key{}), c.Err())
			}
			derived, stop := context.WithCancel(c)
			defer stop()
			var ran atomic.Bool
			context.AfterFunc(c, func() { ran.Store(true) })
			if tt.made {
				c.Done()
			}
			if tt.follow {
				c.follow()
			}
			if tt.byOwn {
				c.cancel(context.Canceled)
			} else {
				cancelParent()
			}
			if err := c.Err(); !errors.Is(err, tt.wantErr) {
				t.Errorf("Err = %v, want %v", err, tt.wantErr)
			}
			select {
			case <-c.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("Done not closed")
			}
			select {
			case <-derived.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("a derived context not canceled")
			}
			waitCalled(t, "context.AfterFunc's function", &ran)
			if cause := context.Cause(c); !errors.Is(cause, tt.wantErr) {
				t.Errorf("Cause = %v, want %v", cause, tt.wantErr)
			}
			if c.Value(key{}) != "v" {
				t.Errorf("after: Value = %v", c.Value(key{}))
			}
			c.end()
			if requestOf(c) != nil {
				t.Error("requestOf finds the request once the exchange is over")
			}
		})
	}
}

// TestExchangeContextNotify checks NotifyDone and StopNotify, the
// upstream transport's way to learn of a cancellation, against the
// contract of context.AfterFunc's function and stop function.
func TestExchangeContextNotify(t *testing.T) {
	t.Parallel()
	t.Run("canceled by the exchange", func(t *testing.T) {
		t.Parallel()
		c := newTestContext(context.Background(), nil, false)
		var ran atomic.Bool
		if !c.NotifyDone(func() { ran.Store(true) }) {
			t.Fatal("NotifyDone refused the first function")
		}
		if c.NotifyDone(func() {}) {
			t.Fatal("NotifyDone took a second function")
		}
		c.cancel(context.Canceled)
		if !ran.Load() {
			t.Fatal("the function did not run when the context was canceled")
		}
		if c.StopNotify() {
			t.Fatal("StopNotify reports it stopped a function that ran")
		}
	})
	t.Run("stopped", func(t *testing.T) {
		t.Parallel()
		c := newTestContext(context.Background(), nil, false)
		var ran atomic.Bool
		c.NotifyDone(func() { ran.Store(true) })
		if !c.StopNotify() {
			t.Fatal("StopNotify did not stop a registered function")
		}
		c.cancel(context.Canceled)
		if ran.Load() {
			t.Fatal("a stopped function ran")
		}
		if !c.NotifyDone(func() {}) {
			t.Fatal("NotifyDone refused a function after StopNotify")
		}
	})
	t.Run("already canceled", func(t *testing.T) {
		t.Parallel()
		c := newTestContext(context.Background(), nil, false)
		c.cancel(context.Canceled)
		var ran atomic.Bool
		if !c.NotifyDone(func() { ran.Store(true) }) {
			t.Fatal("NotifyDone refused a function")
		}
		waitCalled(t, "the function of a canceled context", &ran)
		if c.StopNotify() {
			t.Fatal("StopNotify reports it stopped a function that ran")
		}
	})
	for _, eager := range []bool{false, true} {
		name := "parent, lazy"
		if eager {
			name = "parent, eager"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			parent, cancelParent := context.WithCancel(context.Background())
			c := newTestContext(parent, nil, eager)
			var ran atomic.Bool
			c.NotifyDone(func() { ran.Store(true) })
			cancelParent()
			if !eager {
				// Not followed yet: the parent's cancellation waits for
				// the watchdog's first look.
				if ran.Load() {
					t.Fatal("the function ran before the context followed its parent")
				}
				if c.Err() == nil {
					t.Fatal("Err does not report the parent's cancellation")
				}
				c.follow()
			}
			waitCalled(t, "the function, on the parent's cancellation", &ran)
			if c.StopNotify() {
				t.Fatal("StopNotify reports it stopped a function that ran")
			}
			c.end()
		})
	}
}

// TestExchangeContextLateCancel cancels exchanges' contexts late, from
// other goroutines, while their requests go back to the pool and are
// reused: with -race, any access to a pooled request through a context
// after its exchange ended is reported.
func TestExchangeContextLateCancel(t *testing.T) {
	t.Parallel()
	for range 200 {
		parent, cancelParent := context.WithCancel(context.Background())
		rq := requestPool.Get().(*request)
		rq.id = "late"
		c := newTestContext(parent, rq, true)
		c.NotifyDone(func() {})
		c.follow()
		done := make(chan struct{})
		go func() {
			defer close(done)
			cancelParent()
			if got := requestOf(c); got != nil && got != rq {
				t.Error("requestOf returned another request")
			}
			c.Err()
			c.StopNotify()
		}()
		c.end()
		*rq = request{ids: rq.ids}
		requestPool.Put(rq)
		<-done
	}
}

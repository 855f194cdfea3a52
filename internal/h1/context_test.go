package h1

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

type ctxKey string

var errTestCause = errors.New("test cause")

// isDone reports whether ch is closed, without waiting.
func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestRequestContextCancel checks that a requestContext behaves as
// context.WithCancelCause's, whether its real context is made before
// it is canceled (something waits on it) or after.
func TestRequestContextCancel(t *testing.T) {
	t.Parallel()
	parent := context.WithValue(context.Background(), ctxKey("k"), "v")
	for _, tt := range []struct {
		name      string
		waitFirst bool  // Done is called before cancel
		cause     error // given to cancel
		want      error // what context.Cause says then
	}{
		{"lazy", false, errTestCause, errTestCause},
		{"lazy, no cause", false, nil, context.Canceled},
		{"made", true, errTestCause, errTestCause},
		{"made, no cause", true, nil, context.Canceled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newRequestContext(parent)
			if c.Err() != nil || context.Cause(c) != nil {
				t.Fatalf("fresh context: Err %v, Cause %v", c.Err(), context.Cause(c))
			}
			if c.Value(ctxKey("k")) != "v" {
				t.Fatalf("Value = %v, want the parent's", c.Value(ctxKey("k")))
			}
			if _, ok := c.Deadline(); ok {
				t.Fatal("Deadline set, the parent has none")
			}
			if tt.waitFirst && isDone(c.Done()) {
				t.Fatal("Done closed before cancel")
			}
			c.cancel(tt.cause)
			c.cancel(errors.New("second cause, ignored"))
			if c.Err() != context.Canceled {
				t.Errorf("Err = %v, want context.Canceled", c.Err())
			}
			if got := context.Cause(c); got != tt.want {
				t.Errorf("Cause = %v, want %v", got, tt.want)
			}
			if !isDone(c.Done()) {
				t.Error("Done not closed after cancel")
			}
			if c.Value(ctxKey("k")) != "v" {
				t.Errorf("Value after cancel = %v, want the parent's", c.Value(ctxKey("k")))
			}
		})
	}
}

// TestRequestContextDerived checks the contexts derived from a
// requestContext and AfterFunc.
func TestRequestContextDerived(t *testing.T) {
	t.Parallel()
	c := newRequestContext(context.Background())
	child, cancelChild := context.WithCancel(context.WithValue(c, ctxKey("x"), 1))
	defer cancelChild()
	ran := make(chan struct{})
	context.AfterFunc(c, func() { close(ran) })
	stop := context.AfterFunc(c, func() { t.Error("stopped AfterFunc ran") })
	if !stop() {
		t.Fatal("stop of an AfterFunc before cancel reports false")
	}
	c.cancel(errTestCause)
	<-child.Done()
	<-ran
	if got := context.Cause(child); got != errTestCause {
		t.Errorf("Cause of a derived context = %v, want %v", got, errTestCause)
	}
}

// TestRequestContextParentDone checks that a parent's end reaches the
// context, made or not.
func TestRequestContextParentDone(t *testing.T) {
	t.Parallel()
	parent, cancel := context.WithCancelCause(context.Background())
	lazy, made := newRequestContext(parent), newRequestContext(parent)
	made.Done()
	cancel(errTestCause)
	for _, c := range []*requestContext{lazy, made} {
		if c.Err() != context.Canceled || context.Cause(c) != errTestCause {
			t.Errorf("after the parent's cancel: Err %v, Cause %v", c.Err(), context.Cause(c))
		}
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("Done not closed after the parent's cancel")
		}
	}
}

// TestRequestContextConcurrent waits on, reads and cancels a context
// from several goroutines at once (run it with -race).
func TestRequestContextConcurrent(t *testing.T) {
	t.Parallel()
	for range 50 {
		c := newRequestContext(context.Background())
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch i {
				case 0:
					<-c.Done()
				case 1:
					c.cancel(errTestCause)
				case 2:
					for c.Err() == nil {
						c.Value(ctxKey("k"))
					}
				case 3:
					c.cancel(errClientGone)
				}
			}()
		}
		wg.Wait()
		if got := context.Cause(c); got != errTestCause && got != errClientGone {
			t.Fatalf("Cause = %v, want one of the causes given", got)
		}
	}
}

// TestRequestContextAllocs pins the point of the type: a request whose
// context nothing waits on costs one allocation.
func TestRequestContextAllocs(t *testing.T) {
	parent := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		c := newRequestContext(parent)
		c.cancel(nil)
	}); n > 1 {
		t.Errorf("a request context costs %v allocations, want 1", n)
	}
}

// TestRequestContextReset: a context nothing waited on can serve again,
// fresh; one that was made cannot.
func TestRequestContextReset(t *testing.T) {
	type key struct{}
	first := context.WithValue(context.Background(), key{}, "first")
	second := context.WithValue(context.Background(), key{}, "second")
	c := newRequestContext(first)
	if c.Value(key{}) != "first" || c.Err() != nil {
		t.Fatal("a new context is not its parent's")
	}
	c.cancel(errTestCause)
	if !c.reusable() {
		t.Fatal("a context nothing waited on is not reusable")
	}
	c.reset(second)
	if err := c.Err(); err != nil {
		t.Fatalf("Err after reset = %v, want nil", err)
	}
	if got := c.Value(key{}); got != "second" {
		t.Fatalf("Value after reset = %v, want the new parent's", got)
	}
	if got := context.Cause(c); got != nil {
		t.Fatalf("Cause after reset = %v, want nil", got)
	}
	done := c.Done()
	if c.reusable() {
		t.Fatal("a context whose Done was asked for is reusable")
	}
	c.cancel(nil)
	if !isDone(done) || c.Err() != context.Canceled {
		t.Fatal("a made context is not canceled")
	}
}

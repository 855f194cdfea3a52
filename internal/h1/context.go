package h1

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// requestContext is a request's context: it behaves as the one
// context.WithCancelCause(parent) returns, and makes that one only when
// something waits on it. Most answers never do (a redirect reads no
// context), and the context and its cancel function were two allocations
// of every request; a requestContext is one.
//
// Until it is made, the real context is stood for: Err reports the
// cancellation (ours, or the parent's), Value asks the parent (the real
// context holds no value of its own but the context package's key for
// context.Cause, and Cause reads Err first: a canceled requestContext
// makes the real one, canceled with its cause). Done, and so AfterFunc
// and every context derived from this one, which the context package
// hangs on the real one, make it.
type requestContext struct {
	parent   context.Context
	real     atomic.Pointer[realContext] // nil until made
	mu       sync.Mutex                  // guards the making of real, canceled and cause
	canceled bool                        // canceled before real was made
	cause    error
}

// realContext is a context.WithCancelCause context and its cancel
// function.
type realContext struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
}

func newRequestContext(parent context.Context) *requestContext {
	return &requestContext{parent: parent}
}

// reusable reports whether c may serve another request: nothing ever
// waited on it (it was never made), so nothing holds a channel, a
// derived context or a callback of it. The caller vouches that c's
// request is over and that nothing kept c itself (see Server.Answer).
func (c *requestContext) reusable() bool { return c.real.Load() == nil }

// reset makes a reusable c a fresh context of parent, as
// newRequestContext does, without an allocation.
func (c *requestContext) reset(parent context.Context) {
	c.mu.Lock()
	c.parent, c.canceled, c.cause = parent, false, nil
	c.mu.Unlock()
}

// make returns the real context, making it if needed.
func (c *requestContext) make() context.Context {
	if rc := c.real.Load(); rc != nil {
		return rc.ctx
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if rc := c.real.Load(); rc != nil {
		return rc.ctx
	}
	ctx, cancel := context.WithCancelCause(c.parent)
	if c.canceled {
		cancel(c.cause)
	}
	c.real.Store(&realContext{ctx, cancel})
	return ctx
}

// cancel cancels the context with cause (nil: context.Canceled), as the
// cancel function of context.WithCancelCause does; only the first call
// counts.
func (c *requestContext) cancel(cause error) {
	c.mu.Lock()
	rc := c.real.Load()
	if rc == nil && !c.canceled {
		c.canceled, c.cause = true, cause
	}
	c.mu.Unlock()
	if rc != nil {
		rc.cancel(cause)
	}
}

// Deadline is the parent's: a cancel context adds none.
func (c *requestContext) Deadline() (time.Time, bool) { return c.parent.Deadline() }

// Done returns the real context's channel.
func (c *requestContext) Done() <-chan struct{} { return c.make().Done() }

// Err returns context.Canceled once canceled, the parent's error once
// the parent is done, and nil before.
func (c *requestContext) Err() error {
	if rc := c.real.Load(); rc != nil {
		return rc.ctx.Err()
	}
	c.mu.Lock()
	canceled := c.canceled
	c.mu.Unlock()
	if canceled {
		return context.Canceled
	}
	return c.parent.Err()
}

// Value returns the parent's value for key, or once canceled the real
// context's, which holds the cause for context.Cause.
func (c *requestContext) Value(key any) any {
	if rc := c.real.Load(); rc != nil {
		return rc.ctx.Value(key)
	}
	c.mu.Lock()
	canceled := c.canceled
	c.mu.Unlock()
	if canceled {
		return c.make().Value(key)
	}
	return c.parent.Value(key)
}

// String names the context, as the context package's do.
func (c *requestContext) String() string { return "h1.requestContext" }

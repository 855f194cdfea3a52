package edge

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/forcehttps/forcehttps/internal/upstream"
)

// exchangeContext is the context of a proxied request to the app. It
// behaves as context.WithCancel(context.WithValue(parent, requestKey{},
// rq)) would, within the exchange's allocation rather than in five or
// more of its own, and without waiting on parent until it must: a wait
// on parent makes parent's own cancellation machinery (package h1's
// request context makes its real context then), and most exchanges end
// before anything needs it.
//
//   - Err reports the cancellation: the exchange's (a cut, the end of
//     the handler), or parent's, read from parent while not followed.
//   - Value answers requestKey{} with the edge's state (nil once the
//     exchange is over), and asks parent for every other key.
//   - Done, and so every context derived from this one and
//     context.AfterFunc, makes the context.WithCancel(parent) that this
//     one stands for, and hangs on it: it follows parent by itself.
//   - NotifyDone, package upstream's cheaper AfterFunc, registers one
//     function, run when the exchange cancels the context, or parent
//     does once followed (follow): from the watchdog's first look, or at
//     once for the requests of net/http (eager).
//
// Once canceled, Value too makes the context.WithCancel, canceled, so
// that context.Cause finds its cause as it would.
type exchangeContext struct {
	parent context.Context
	rq     atomic.Pointer[request]
	eager  bool // follow parent as soon as a function is registered

	mu         sync.Mutex
	err        error              // why the context was canceled; nil before
	real       context.Context    // the context.WithCancel(parent), once made
	realCancel context.CancelFunc // its cancel function
	notify     func()             // NotifyDone's function, until it runs or is stopped
	following  bool               // parent's cancellation cancels this context
	unfollow   func() bool        // stops following parent
}

var _ upstream.DoneNotifier = (*exchangeContext)(nil)

// init sets up the context of ex, for rq.
func (c *exchangeContext) init(ex *exchange, rq *request, eager bool) {
	c.parent, c.eager = ex.parent, eager
	c.rq.Store(rq)
}

// Deadline is parent's: a cancel context adds none.
func (c *exchangeContext) Deadline() (time.Time, bool) { return c.parent.Deadline() }

// Done returns the channel of the context.WithCancel(parent) this
// context stands for, making it.
func (c *exchangeContext) Done() <-chan struct{} { return c.make().Done() }

// make returns the context.WithCancel(parent), making it if needed.
func (c *exchangeContext) make() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.real == nil {
		c.real, c.realCancel = context.WithCancel(c.parent)
		if c.err != nil {
			c.realCancel()
		}
	}
	return c.real
}

// Err returns why the context was canceled, or nil.
func (c *exchangeContext) Err() error {
	c.mu.Lock()
	err, real := c.err, c.real
	c.mu.Unlock()
	switch {
	case err != nil:
		return err
	case real != nil:
		return real.Err()
	}
	return c.parent.Err()
}

// Value returns the edge's state for requestKey{}, and otherwise
// parent's value for key, or once canceled the real context's, which
// holds the cause for context.Cause.
func (c *exchangeContext) Value(key any) any {
	if _, ok := key.(requestKey); ok {
		return c.rq.Load()
	}
	c.mu.Lock()
	real, canceled := c.real, c.err != nil
	c.mu.Unlock()
	if real == nil && canceled {
		real = c.make()
	}
	if real != nil {
		return real.Value(key)
	}
	return c.parent.Value(key)
}

// String names the context, as the context package's do.
func (c *exchangeContext) String() string { return "edge.exchangeContext" }

// cancel cancels the context with err (the first call only), and runs
// NotifyDone's function if one is registered.
func (c *exchangeContext) cancel(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	f, cancel := c.notify, c.realCancel
	c.notify = nil
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if f != nil {
		f()
	}
}

// end cancels the context when the exchange is over, and stops
// following parent. It reports whether nothing but the exchange can
// reach the context now: it was not canceled before, never made its
// context.WithCancel (nothing derived a context from it or waited on
// Done), never followed parent, and held no function of NotifyDone.
func (c *exchangeContext) end() (alone bool) {
	c.rq.Store(nil)
	c.mu.Lock()
	alone = c.err == nil && c.real == nil && !c.following && c.notify == nil
	c.mu.Unlock()
	c.cancel(context.Canceled)
	c.mu.Lock()
	stop := c.unfollow
	c.unfollow = nil
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
	return alone
}

// follow makes parent's cancellation cancel the context, at once if
// parent is done already.
func (c *exchangeContext) follow() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.following || c.err != nil {
		return
	}
	c.following = true
	// context.AfterFunc runs parentDone in a goroutine of its own, also
	// when parent is done already: never under mu.
	c.unfollow = context.AfterFunc(c.parent, c.parentDone)
}

func (c *exchangeContext) parentDone() { c.cancel(c.parent.Err()) }

// NotifyDone registers f, to be called once when the context is
// canceled, in the goroutine that cancels it, or at once in a goroutine
// of its own if it is canceled already. It reports false, registering
// nothing, when another function is registered.
func (c *exchangeContext) NotifyDone(f func()) bool {
	c.mu.Lock()
	if c.notify != nil {
		c.mu.Unlock()
		return false
	}
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return true
	}
	c.notify = f
	follow := c.eager && !c.following
	c.mu.Unlock()
	if follow {
		c.follow()
	}
	return true
}

// StopNotify unregisters NotifyDone's function, and reports whether that
// stopped it from being called.
func (c *exchangeContext) StopNotify() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	stopped := c.notify != nil
	c.notify = nil
	return stopped
}

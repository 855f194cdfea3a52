package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
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

// pooledIDs records, for the requests whose ID starts with "pool-",
// whether their exchange went back to the pool.
var pooledIDs sync.Map

func init() {
	released = func(id string, pooled bool) {
		if strings.HasPrefix(id, "pool-") {
			pooledIDs.Store(id, pooled)
		}
	}
}

// TestExchangePool sends short exchanges, long ones and clients that go
// away, all at once over the fast path: the short exchanges go back to
// the pool, the others do not, and every client gets the answer to its
// own request. With -race, an exchange used after it went back to the
// pool (by its watchdog, its context or the upstream transport) and
// reused by another request is reported.
func TestExchangePool(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, timeouts string }{
		{"quiet watchdog", "client_idle: 20s, upstream_read_idle: 20s, stream_idle: 20s"},
		// A look every 10 ms: looks run while exchanges end.
		{"busy watchdog", "client_idle: 40ms, upstream_read_idle: 20s, stream_idle: 20s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testExchangePool(t, tt.timeouts, strings.Fields(tt.name)[0])
		})
	}
}

func testExchangePool(t *testing.T, timeouts, prefix string) {
	app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/short" {
			// Longer than parentWatch: the watchdog looks, and the
			// exchange follows the inbound context.
			select {
			case <-r.Context().Done():
				return
			case <-time.After(4 * parentWatch):
			}
		}
		fmt.Fprintf(w, "%s %s", r.URL.Path, r.Header.Get("X-Tag"))
	}))
	h := startEdge(t, streamApp(app, timeouts))
	c := h.client(false)
	const workers, each = 4, 24
	var wg sync.WaitGroup
	errs := make(chan string, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				kind := [...]string{"short", "short", "long", "gone"}[(w+i)%4]
				tag := fmt.Sprintf("%s-%s-%d-%d", kind, prefix, w, i)
				ctx, cancel := context.WithCancel(context.Background())
				if kind == "gone" {
					// The client leaves late: after the watchdog's first
					// look, while the app still holds the answer.
					time.AfterFunc(2*parentWatch, cancel)
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://shop.example.com/"+kind, nil)
				req.Header.Set("X-Request-Id", "pool-"+tag+"-0123456789")
				req.Header.Set("X-Tag", tag)
				resp, err := c.Do(req)
				if err != nil {
					if kind != "gone" {
						errs <- fmt.Sprintf("%s: %v", tag, err)
					}
					cancel()
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				cancel()
				if want := "/" + kind + " " + tag; kind != "gone" && (err != nil || string(body) != want) {
					errs <- fmt.Sprintf("%s: got %q (%v), want %q", tag, body, err, want)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	shortPooled := 0
	waitFor(t, "every exchange released", func() bool {
		n := 0
		pooledIDs.Range(func(k, _ any) bool {
			if strings.Contains(k.(string), "-"+prefix+"-") {
				n++
			}
			return true
		})
		return n >= workers*each
	})
	pooledIDs.Range(func(k, v any) bool {
		id, pooled := k.(string), v.(bool)
		switch {
		case !strings.Contains(id, "-"+prefix+"-"):
		case strings.HasPrefix(id, "pool-short-"):
			if pooled {
				shortPooled++
			}
		case pooled:
			t.Errorf("%s: a long exchange went back to the pool", id)
		}
		return true
	})
	// A short exchange slowed past parentWatch by a loaded machine is
	// not pooled: at least one of them must be.
	if shortPooled == 0 {
		t.Error("no short exchange went back to the pool")
	}
}

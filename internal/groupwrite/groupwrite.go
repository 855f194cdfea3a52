// Package groupwrite is an io.Writer that gathers the writes made while
// one is in progress into the next write of the writer beneath: a log
// written by many goroutines costs one write(2) per batch instead of one
// per line, and a line waits for no timer.
//
// A Write appends its bytes to a buffer and returns; a goroutine of the
// Writer writes the buffer, and whatever was appended while it wrote,
// until nothing is left, then sleeps until the next Write. So an idle
// log writes each line at once, and a busy one writes what a write's
// time gathered, in one call. Bytes are written in the order their
// Writes took the lock, each Write's bytes in one piece: lines never
// mix. Should the writer beneath be slow (a full disk, a stopped reader
// of a pipe), appending stops once the bytes waiting reach a limit:
// Writes then wait, as they would have waited writing themselves, and
// memory stays bounded.
//
// What a Write returned for may still be waiting to be written:
// [Writer.Flush] waits until it is, [Writer.Close] too, then stops the
// goroutine.
package groupwrite

import (
	"errors"
	"io"
	"runtime"
	"sync"
)

// DefaultLimit is the bytes that may wait before Writes wait too.
const DefaultLimit = 1 << 20

// keepCap is the largest buffer kept once a burst is written.
const keepCap = 256 << 10

// ErrClosed is what a Write after Close returns.
var ErrClosed = errors.New("groupwrite: write after close")

// Writer gathers concurrent writes to an io.Writer. Its methods may be
// called from any number of goroutines. Make one with [New].
type Writer struct {
	// OnError, when set (before the first Write), is called with each
	// error of the writer beneath, by the Writer's goroutine, outside
	// its lock: the bytes of that write are lost, and a caller that
	// never flushes would not hear of it otherwise.
	OnError func(error)

	w     io.Writer
	limit int

	mu      sync.Mutex
	cond    sync.Cond // broadcast when a batch is taken or the writing ends
	pending []byte    // appended, not yet taken by the goroutine
	spare   []byte    // the buffer of the last batch, for reuse
	writing bool      // the goroutine has bytes to write or is writing
	started bool      // the goroutine runs (it starts at the first Write)
	closed  bool
	err     error         // the last error of the writer beneath, for Flush
	wake    chan struct{} // tells the goroutine there are bytes; closed by Close
	done    chan struct{} // closed when the goroutine ends
}

// New returns a Writer that writes to w.
func New(w io.Writer) *Writer {
	g := &Writer{w: w, limit: DefaultLimit, wake: make(chan struct{}, 1), done: make(chan struct{})}
	g.cond.L = &g.mu
	return g
}

// Write appends p to what the Writer's goroutine writes next, and returns
// len(p) and nil; p may be reused at once. An error of the writer beneath
// is not returned here but by the next Flush or Close, and to OnError.
// After Close, Write returns ErrClosed.
func (g *Writer) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for !g.closed && len(g.pending) > 0 && len(g.pending)+len(p) > g.limit {
		g.cond.Wait() // the writer beneath is behind: wait for it
	}
	if g.closed {
		return 0, ErrClosed
	}
	g.pending = append(g.pending, p...)
	if !g.writing {
		g.writing = true
		if !g.started {
			g.started = true
			go g.run()
		}
		select {
		case g.wake <- struct{}{}:
		default: // a wake is already waiting
		}
	}
	return len(p), nil
}

// run writes batches until Close.
func (g *Writer) run() {
	defer close(g.done)
	for range g.wake {
		// Woken by a Write, this goroutine would run as soon as that
		// Write's goroutine blocks, ahead of the goroutines already
		// ready (the scheduler runs a goroutine just made ready next):
		// one line per write. Yielding once lets those run first and
		// add their lines; with nothing else to run, it returns at once.
		runtime.Gosched()
		g.mu.Lock()
		for len(g.pending) > 0 {
			batch := g.pending
			g.pending = g.spare[:0]
			g.spare = nil
			g.cond.Broadcast() // room for the Writes waiting
			g.mu.Unlock()
			_, err := g.w.Write(batch)
			if err != nil && g.OnError != nil {
				g.OnError(err)
			}
			g.mu.Lock()
			if err != nil {
				g.err = err
			}
			if cap(batch) <= keepCap {
				g.spare = batch[:0]
			}
		}
		g.writing = false
		g.cond.Broadcast() // for Flush
		g.mu.Unlock()
	}
}

// Flush waits until every byte of the Writes that returned before it is
// written to the writer beneath, and returns the last error the writer
// beneath returned since the last Flush, if any.
func (g *Writer) Flush() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.writing {
		g.cond.Wait()
	}
	err := g.err
	g.err = nil
	return err
}

// Close flushes, then stops the goroutine. It does not close the writer
// beneath. Later calls return nil.
func (g *Writer) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	for g.writing {
		g.cond.Wait()
	}
	g.closed = true
	err := g.err
	g.err = nil
	close(g.wake)
	started := g.started
	g.cond.Broadcast() // Writes waiting for room now fail
	g.mu.Unlock()
	if started {
		<-g.done
	}
	return err
}

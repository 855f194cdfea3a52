package groupwrite

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a writer beneath that keeps what it was given and counts
// its calls; each call takes delay.
type recorder struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	calls int
	delay time.Duration
	err   error         // returned by every call when set
	gate  chan struct{} // when set, each call waits until it is closed
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.gate != nil {
		<-r.gate
	}
	time.Sleep(r.delay)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.err != nil {
		return 0, r.err
	}
	return r.buf.Write(p)
}

// TestLinesWholeAndInOrder writes numbered lines from many goroutines
// through a slow writer beneath: every line arrives whole, each
// goroutine's in its order, and the lines were gathered into fewer
// writes than lines.
func TestLinesWholeAndInOrder(t *testing.T) {
	t.Parallel()
	rec := &recorder{delay: 100 * time.Microsecond}
	g := New(rec)
	const writers, lines = 16, 1000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(g, "w%d %d %s\n", w, i, strings.Repeat("x", i%97))
			}
		})
	}
	wg.Wait()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	sc := bufio.NewScanner(&rec.buf)
	n := 0
	for sc.Scan() {
		var w, i int
		var pad string
		k, _ := fmt.Sscanf(sc.Text(), "w%d %d %s", &w, &i, &pad)
		if k < 2 || w < 0 || w >= writers || i != next[w] || (i%97 > 0 && pad != strings.Repeat("x", i%97)) {
			t.Fatalf("line %d: %q, want w%d's line %d, whole", n, sc.Text(), w, next[max(0, min(w, writers-1))])
		}
		next[w]++
		n++
	}
	if n != writers*lines {
		t.Fatalf("%d lines arrived, want %d", n, writers*lines)
	}
	if rec.calls >= n {
		t.Errorf("%d writes for %d lines: nothing was gathered", rec.calls, n)
	}
}

// TestLimitHoldsWrites blocks the writer beneath: Writes return until
// the bytes waiting reach the limit, then wait, and go on once it moves.
func TestLimitHoldsWrites(t *testing.T) {
	t.Parallel()
	rec := &recorder{gate: make(chan struct{})}
	g := New(rec)
	g.limit = 10
	g.Write([]byte("first\n")) // taken by the goroutine, which waits at the gate
	waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.pending) == 0 })
	if _, err := g.Write([]byte("12345\n")); err != nil { // 6 of 10 waiting
		t.Fatal(err)
	}
	returned := make(chan struct{})
	go func() {
		g.Write([]byte("abcde\n")) // 12 > 10: must wait
		close(returned)
	}()
	select {
	case <-returned:
		t.Fatal("a Write past the limit returned while the writer beneath was stuck")
	case <-time.After(50 * time.Millisecond):
	}
	close(rec.gate) // the writer beneath moves on
	<-returned
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.buf.String(), "first\n12345\nabcde\n"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
}

func TestWriteBiggerThanLimit(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	g := New(rec)
	g.limit = 4
	big := bytes.Repeat([]byte("z"), 100)
	if n, err := g.Write(big); n != 100 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if n, err := g.Write(big); n != 100 || err != nil {
		t.Fatalf("second Write = %d, %v", n, err)
	}
	g.Close()
	if rec.buf.Len() != 200 {
		t.Errorf("wrote %d bytes, want 200", rec.buf.Len())
	}
}

func TestErrorsReachFlush(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk full")
	rec := &recorder{err: boom}
	g := New(rec)
	heard := make(chan error, 1)
	g.OnError = func(err error) { heard <- err }
	if _, err := g.Write([]byte("x\n")); err != nil {
		t.Fatalf("Write = %v, want nil: errors come with Flush", err)
	}
	if err := g.Flush(); err != boom {
		t.Fatalf("Flush = %v, want %v", err, boom)
	}
	if err := <-heard; err != boom {
		t.Fatalf("OnError heard %v, want %v", err, boom)
	}
	if err := g.Flush(); err != nil {
		t.Fatalf("second Flush = %v, want nil: the error was reported", err)
	}
	rec.mu.Lock()
	rec.err = nil
	rec.mu.Unlock()
	g.Write([]byte("y\n"))
	if err := g.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if rec.buf.String() != "y\n" {
		t.Errorf("wrote %q, want the line after the error", rec.buf.String())
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	t.Run("unused", func(t *testing.T) {
		if err := New(&recorder{}).Close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("writes then close", func(t *testing.T) {
		rec := &recorder{delay: time.Millisecond}
		g := New(rec)
		for range 20 {
			g.Write([]byte("line\n"))
		}
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(rec.buf.String(), "line\n"); got != 20 {
			t.Fatalf("Close returned with %d of 20 lines written", got)
		}
		select {
		case <-g.done:
		default:
			t.Fatal("the goroutine still runs after Close")
		}
		if _, err := g.Write([]byte("late\n")); err != ErrClosed {
			t.Fatalf("Write after Close = %v, want ErrClosed", err)
		}
		if err := g.Close(); err != nil {
			t.Fatalf("second Close = %v", err)
		}
	})
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("condition not reached in 10 s")
		}
	}
}

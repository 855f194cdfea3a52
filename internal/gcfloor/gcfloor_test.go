package gcfloor

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		name               string
		live, roots, floor uint64
		base, want         int
	}{
		{"no live heap measured yet", 0, 0, 16 * mib, 100, 100},
		{"a small heap: the runtime's minimum scaled to the floor", 1 * mib, 0, 16 * mib, 100, 400},
		{"a larger heap: its own growth to the floor", 4 * mib, 0, 16 * mib, 100, 300},
		{"stacks and globals count", 4 * mib, 2 * mib, 16 * mib, 100, 200},
		{"a fraction rounds down", 3 * mib, 0, 10 * mib, 100, 233},
		{"half the floor: GOGC's own goal", 8 * mib, 0, 16 * mib, 100, 100},
		{"above half the floor", 12 * mib, 0, 16 * mib, 100, 100},
		{"above the floor", 40 * mib, 0, 16 * mib, 100, 100},
		{"a higher base stays", 4 * mib, 0, 16 * mib, 400, 400},
		{"a floor below the runtime's minimum", 1 * mib, 0, 2 * mib, 100, 100},
		{"a huge floor is bounded", 1 * mib, 0, 1 << 40, 100, maxPercent},
		{"no floor", 1 * mib, 0, 0, 100, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Percent(c.live, c.roots, c.floor, c.base); got != c.want {
				t.Errorf("Percent(%d, %d, %d, %d) = %d, want %d", c.live, c.roots, c.floor, c.base, got, c.want)
			}
		})
	}
}

// gcPercent returns the GC percent in effect.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// waitPercent collects until the GC percent satisfies ok, and fails
// after 10 s: the keeper adjusts in a cleanup, after a collection.
func waitPercent(t *testing.T, what string, ok func(int) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok(gcPercent()) {
		if time.Now().After(deadline) {
			t.Fatalf("GC percent %d: want %s", gcPercent(), what)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// sink keeps a live heap for TestKeep.
var sink [][]byte

// TestKeep checks the keeper on the process's own heap: a small live
// heap raises the percent, a live heap above the floor brings it back
// to the base, and stop restores the base for good.
func TestKeep(t *testing.T) {
	t.Setenv("GOGC", "")
	before := gcPercent()
	defer debug.SetGCPercent(before)
	debug.SetGCPercent(100)

	const floor = 64 << 20
	stop := Keep(floor)
	waitPercent(t, "raised above 100 for a small heap", func(p int) bool { return p > 100 })

	// A live heap above the floor: GOGC's own goal.
	for range 80 {
		sink = append(sink, make([]byte, 1<<20))
	}
	waitPercent(t, "100 with 80 MiB live", func(p int) bool { return p == 100 })
	sink = nil
	waitPercent(t, "raised again once the heap is small", func(p int) bool { return p > 100 })

	stop()
	if p := gcPercent(); p != 100 {
		t.Fatalf("after stop: GC percent %d, want 100", p)
	}
	for range 3 {
		runtime.GC()
	}
	time.Sleep(50 * time.Millisecond) // a cleanup already queued has run
	if p := gcPercent(); p != 100 {
		t.Errorf("collections after stop: GC percent %d, want 100 left alone", p)
	}
	stop() // twice: nothing more
}

// TestKeepLeavesGOGCAlone checks that an operator's GOGC wins.
func TestKeepLeavesGOGCAlone(t *testing.T) {
	t.Setenv("GOGC", "50")
	before := gcPercent()
	stop := Keep(64 << 20)
	runtime.GC()
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	if p := gcPercent(); p != before {
		t.Errorf("with GOGC set: GC percent %d, want %d", p, before)
	}
	stop()
}

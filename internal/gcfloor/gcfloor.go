// Package gcfloor keeps Go's garbage collector from running more often
// than a heap of a given size calls for.
//
// With GOGC=100 the collector runs each time the heap doubles from what
// the last collection left live, and never below 4 MiB. An edge whose
// live heap is a megabyte or two (a small routing table, a few hundred
// connections) therefore collects after every 2-3 MiB of garbage: at
// tens of thousands of requests per second, several collections per
// second, each with its fixed costs (stopping the world twice, scanning
// every goroutine's stack) and a mark phase that slows the requests it
// overlaps. A floor of 16 MiB makes the heap grow to 16 MiB before a
// collection, about six times fewer of them, for at most that much
// more memory; above half the floor the floor does nothing and GOGC
// applies as usual.
//
// After each collection, [Keep] reads the live heap from runtime/metrics
// and sets the GC percent (debug.SetGCPercent) so that the next goal is
// the floor, as Go counts the goal (see [Percent]), never below the
// percent in effect when Keep started. The goal a percent gives is fixed at the
// end of a collection, so a live heap that grows fast is collected at
// the floor at most once before the percent follows it down again. A
// memory limit (GOMEMLIMIT, debug.SetMemoryLimit) still applies. When
// GOGC is set in the environment, the operator chose: Keep does nothing.
package gcfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// maxPercent bounds the percent Keep sets: with a live heap of a few
// hundred kilobytes the floor would call for tens of thousands.
const maxPercent = 10000

// The metrics of the last collection that make its heap goal: the goal
// is live + (live + stacks + globals) * percent / 100.
var metricNames = [...]string{"/gc/heap/live:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes"}

// heapMinimum is the Go runtime's smallest heap goal at GOGC=100, which
// scales with the percent: the goal is the larger of heapMinimum *
// percent / 100 and live + (live + roots) * percent / 100.
const heapMinimum = 4 << 20

// Percent returns the GC percent that makes a collection's heap goal
// floor bytes, for a live heap of live bytes and roots (the stacks and
// globals a collection scans) of roots bytes, and never less than base:
// the smaller of the percents at which either term of the goal reaches
// the floor.
func Percent(live, roots, floor uint64, base int) int {
	if live == 0 || floor <= live {
		return base
	}
	p := min((floor-live)*100/(live+roots), floor*100/heapMinimum, maxPercent)
	return max(base, int(p))
}

// keeper adjusts the GC percent after each collection.
type keeper struct {
	floor uint64
	base  int

	mu      sync.Mutex
	stopped bool
	set     int // the percent last set
	samples [len(metricNames)]metrics.Sample
}

// Keep keeps the heap goal at floor bytes or more from now on (see the
// package doc), and returns the function that stops it and restores the
// GC percent it found. It does nothing, and returns a function that does
// nothing, when floor is 0, when GOGC is set in the environment, or when
// the garbage collector is off.
func Keep(floor uint64) (stop func()) {
	if floor == 0 || os.Getenv("GOGC") != "" {
		return func() {}
	}
	base := debug.SetGCPercent(100)
	debug.SetGCPercent(base)
	if base < 0 {
		return func() {}
	}
	k := &keeper{floor: floor, base: base, set: base}
	for i, name := range metricNames {
		k.samples[i].Name = name
	}
	k.adjust()
	k.arm()
	return k.stop
}

// sentinel is an object nothing refers to: its cleanup runs after the
// collection that finds it unreachable, which is how the keeper hears
// of each collection. It holds a pointer so that it is not allocated in
// a block shared with other small objects, which could keep it alive.
type sentinel struct {
	_ *byte
	_ [16]byte
}

// arm asks to hear of the next collection.
func (k *keeper) arm() {
	runtime.AddCleanup(new(sentinel), (*keeper).collected, k)
}

// collected runs after a collection: it adjusts the percent and waits
// for the next one, unless stopped.
func (k *keeper) collected() {
	if k.adjust() {
		k.arm()
	}
}

// adjust sets the percent for the live heap of the last collection. It
// reports false once the keeper is stopped.
func (k *keeper) adjust() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return false
	}
	metrics.Read(k.samples[:])
	var v [len(metricNames)]uint64
	for i, s := range k.samples {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	if p := Percent(v[0], v[1]+v[2], k.floor, k.base); p != k.set {
		debug.SetGCPercent(p)
		k.set = p
	}
	return true
}

// stop ends the adjustments and restores the percent Keep found.
func (k *keeper) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	k.stopped = true
	debug.SetGCPercent(k.base)
}

package main

import (
	"runtime/debug"
	"testing"
)

// gcPercent returns the current GC percent.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestStartGC checks that the GC percent is raised while edges start and
// restored when the last has started, each restore counting once, and
// that GOGC, when set, is left alone.
func TestStartGC(t *testing.T) {
	t.Setenv("GOGC", "")
	before := gcPercent()
	a := startGC()
	b := startGC()
	if p := gcPercent(); p != startGCPercent {
		t.Fatalf("while starting: GC percent %d, want %d", p, startGCPercent)
	}
	a()
	a() // counts once
	if p := gcPercent(); p != startGCPercent {
		t.Errorf("one edge still starting: GC percent %d, want %d", p, startGCPercent)
	}
	b()
	if p := gcPercent(); p != before {
		t.Errorf("started: GC percent %d, want %d back", p, before)
	}
	t.Setenv("GOGC", "50")
	startGC()()
	if p := gcPercent(); p != before {
		t.Errorf("with GOGC set: GC percent %d, want %d untouched", p, before)
	}
}

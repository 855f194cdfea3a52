//go:build race

package accesslog

// raceEnabled reports whether the race detector, which drops some of a
// sync.Pool's buffers and so changes allocation counts, is on.
const raceEnabled = true

//go:build !race

package forwarded

// raceEnabled reports whether the race detector, which changes allocation
// counts, is on.
const raceEnabled = false

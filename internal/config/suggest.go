package config

import "strings"

// Closest returns the candidate nearest to name, ignoring ASCII case,
// when it is close enough to be a typo of it (at most two edits, and
// fewer edits than name has characters): the "did you mean" of the
// configuration's unknown keys, for other names a user types (apps,
// commands). It returns "" when none is close.
func Closest(name string, candidates []string) string {
	best, bestDist := "", 3
	lower := strings.ToLower(name)
	for _, c := range candidates {
		d := editDistance(lower, strings.ToLower(c))
		if d < bestDist && d < len(name) || d == bestDist && best != "" && c < best {
			best, bestDist = c, d
		}
	}
	return best
}

package forwarded

import (
	"slices"
	"strings"

	"github.com/forcehttps/forcehttps/internal/lex"
)

// Tokens splits header lines holding comma-separated lists (X-Forwarded-Proto,
// X-Forwarded-For ...) into their trimmed members, merging several lines in
// order, and appends them to dst.
//
// Members are trimmed of spaces and horizontal tabs and returned as given,
// without case folding or validation. Empty members (",,", a trailing comma,
// an empty line) are kept as "" so callers can detect malformed lists: each
// line contributes one more member than it has commas. Quoted strings are not
// recognised; these lists have none. The members are substrings of lines;
// the only allocation is growing dst, once, when it is too small.
func Tokens(dst []string, lines []string) []string {
	n := 0
	for _, l := range lines {
		n += strings.Count(l, ",") + 1
	}
	dst = slices.Grow(dst, n)
	for _, l := range lines {
		for {
			k := strings.IndexByte(l, ',')
			if k < 0 {
				dst = append(dst, lex.TrimOWS(l))
				break
			}
			dst = append(dst, lex.TrimOWS(l[:k]))
			l = l[k+1:]
		}
	}
	return dst
}

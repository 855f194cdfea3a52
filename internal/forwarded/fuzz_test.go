package forwarded

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// The fuzz targets take one string and split it on "\n" into field lines, so
// that merging of several lines is exercised too.

func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		if s := strings.Join(tt.lines, "\n"); len(s) <= 1024 {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, data string) {
		lines := strings.Split(data, "\n")
		elems, err := Parse(lines)
		if err != nil {
			checkParseError(t, lines, elems, err)
			return
		}
		if len(elems) > MaxElements {
			t.Fatalf("Parse returned %d elements, more than %d", len(elems), MaxElements)
		}
		for _, e := range elems {
			checkElement(t, e)
		}
		checkRoundTrip(t, elems)

		// Field lines are equivalent to one line joined with commas.
		joined, err := Parse([]string{strings.Join(lines, ",")})
		if err != nil || !slices.Equal(joined, elems) {
			t.Fatalf("Parse of joined lines = %v, %v; want %v", joined, err, elems)
		}
	})
}

func checkParseError(t *testing.T, lines []string, elems []Element, err error) {
	t.Helper()
	if elems != nil {
		t.Fatalf("Parse returned %d elements with error %v", len(elems), err)
	}
	n := 0
	for _, sentinel := range []error{ErrSyntax, ErrDuplicateParam, ErrTooMany} {
		if errors.Is(err, sentinel) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %v wraps %d sentinel errors, want exactly 1", err, n)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "forwarded: ") || len(msg) > 512 {
		t.Fatalf("malformed error message %q", msg)
	}
	var se *SyntaxError
	if errors.As(err, &se) {
		if total := len(strings.Join(lines, ",")); se.Offset < 0 || se.Offset > total {
			t.Fatalf("SyntaxError offset %d outside input of %d bytes", se.Offset, total)
		}
	}
}

// checkElement checks the invariants of an element returned by Parse,
// independently of the parser's own validation helpers.
func checkElement(t *testing.T, e Element) {
	t.Helper()
	if p := e.Proto; p != "" {
		if p != strings.ToLower(p) {
			t.Fatalf("Proto %q not lower-case", p)
		}
		if p[0] < 'a' || p[0] > 'z' || strings.Trim(p, "abcdefghijklmnopqrstuvwxyz0123456789+-.") != "" {
			t.Fatalf("Proto %q is not a URI scheme", p)
		}
	}
	if e.Host != "" && strings.ContainsAny(e.Host, " \t\"\\/@;,\x00\r\n\x7f") {
		t.Fatalf("Host %q contains a forbidden character", e.Host)
	}
	for _, n := range []Node{e.For, e.By} {
		if n.IsZero() {
			continue
		}
		kinds := 0
		if n.Addr.IsValid() {
			kinds++
			if n.Addr.Zone() != "" {
				t.Fatalf("node %+v has a zone", n)
			}
		}
		if n.Unknown {
			kinds++
		}
		if n.Obfuscated != "" {
			kinds++
			if n.Obfuscated[0] != '_' || len(n.Obfuscated) < 2 {
				t.Fatalf("node %+v: bad obfuscated name", n)
			}
		}
		if kinds != 1 {
			t.Fatalf("node %+v is %d kinds of node, want exactly 1", n, kinds)
		}
		if n.Port != 0 && n.ObfuscatedPort != "" {
			t.Fatalf("node %+v has both a port and an obfuscated port", n)
		}
		if n.Raw == "" || strings.ContainsAny(n.Raw, ";,\" \t\\") {
			t.Fatalf("node %+v: bad Raw", n)
		}
	}
}

// checkRoundTrip formats elems, parses the result and expects elems back,
// except for zero elements (only extension parameters), which format as
// nothing.
func checkRoundTrip(t *testing.T, elems []Element) {
	t.Helper()
	var want []Element
	var parts []string
	for _, e := range elems {
		if e != (Element{}) {
			want = append(want, e)
			parts = append(parts, e.String())
		}
	}
	s := strings.Join(parts, ", ")
	got, err := Parse([]string{s})
	if err != nil {
		t.Fatalf("Parse(%q) of formatted elements: %v", s, err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("round trip through %q:\n got %#v\nwant %#v", s, got, want)
	}
}

func FuzzTokens(f *testing.F) {
	for _, s := range []string{
		"", "https", "192.0.2.1, 198.51.100.7", " a ,\tb\t", ",,", "a,\nb, c", "\"a,b\"", "a\x00,\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		lines := strings.Split(data, "\n")
		prefix := []string{"p"}
		toks := Tokens(slices.Clip(prefix), lines)
		if len(toks) == 0 || toks[0] != "p" || prefix[0] != "p" {
			t.Fatalf("Tokens did not append to dst: %q", toks)
		}
		toks = toks[1:]

		want := 0
		for _, l := range lines {
			want += strings.Count(l, ",") + 1
		}
		if len(toks) != want {
			t.Fatalf("Tokens(%q) returned %d members, want %d", lines, len(toks), want)
		}
		for _, tok := range toks {
			if strings.Contains(tok, ",") {
				t.Fatalf("member %q contains a comma", tok)
			}
			if tok != strings.Trim(tok, " \t") {
				t.Fatalf("member %q not trimmed", tok)
			}
			if !strings.Contains(data, tok) {
				t.Fatalf("member %q not in input", tok)
			}
		}

		// Joining and splitting again gives the same members.
		again := Tokens(nil, []string{strings.Join(toks, ",")})
		if !slices.Equal(again, toks) {
			t.Fatalf("re-split of %q = %q, want %q", strings.Join(toks, ","), again, toks)
		}
	})
}

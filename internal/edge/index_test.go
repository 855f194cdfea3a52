package edge

import (
	"maps"
	"strconv"
	"testing"
)

// TestIndexWith checks an index's versions against plain maps: sets,
// overwrites and deletions (of present and absent keys), the count, and
// the previous version left unchanged.
func TestIndexWith(t *testing.T) {
	t.Parallel()
	set := func(k string, v int) indexEdit[int] { return indexEdit[int]{key: k, v: v} }
	del := func(k string) indexEdit[int] { return indexEdit[int]{key: k, delete: true} }
	var many []indexEdit[int]
	for i := range 5000 {
		many = append(many, set("h"+strconv.Itoa(i), i))
	}
	steps := []struct {
		name  string
		edits []indexEdit[int]
	}{
		{"none", nil},
		{"a full build", many},
		{"overwrite", []indexEdit[int]{set("h1", -1), set("h1", -2)}},
		{"delete present and absent", []indexEdit[int]{del("h2"), del("absent"), del("h2")}},
		{"set, delete, set again", []indexEdit[int]{set("new", 1), del("new"), set("new", 2)}},
		{"delete all of a few", []indexEdit[int]{del("h3"), del("h4"), del("h5")}},
	}
	x := newIndex[int]()
	want := map[string]int{}
	for _, st := range steps {
		prev, prevWant := x, maps.Clone(want)
		x = x.with(st.edits)
		for _, e := range st.edits {
			if e.delete {
				delete(want, e.key)
			} else {
				want[e.key] = e.v
			}
		}
		check := func(what string, x index[int], want map[string]int) {
			t.Helper()
			if x.len() != len(want) {
				t.Errorf("%s: %s: len %d, want %d", st.name, what, x.len(), len(want))
			}
			got := map[string]int{}
			x.all(func(k string, v int) bool { got[k] = v; return true })
			if !maps.Equal(got, want) {
				t.Errorf("%s: %s: %d entries differ from the %d wanted", st.name, what, len(got), len(want))
			}
			for k, v := range want {
				if g, ok := x.get(k); !ok || g != v {
					t.Errorf("%s: %s: get(%q) = %d, %v; want %d", st.name, what, k, g, ok, v)
				}
			}
		}
		check("new version", x, want)
		check("previous version", prev, prevWant)
	}
}

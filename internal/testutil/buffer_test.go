package testutil

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBuffer: concurrent writers and a reader (run with -race) lose no
// write and split none.
func TestBuffer(t *testing.T) {
	t.Parallel()
	const writers, lines = 8, 200
	var b Buffer
	if got := b.String(); got != "" {
		t.Fatalf("zero Buffer String() = %q, want empty", got)
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range lines {
				line := fmt.Sprintf("writer %d line %d\n", w, i)
				if n, err := b.Write([]byte(line)); n != len(line) || err != nil {
					t.Errorf("Write(%q) = %d, %v", line, n, err)
				}
			}
		})
	}
	wg.Go(func() {
		for range lines {
			_ = b.String()
		}
	})
	wg.Wait()
	got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	var want []string
	for w := range writers {
		for i := range lines {
			want = append(want, fmt.Sprintf("writer %d line %d", w, i))
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Buffer after concurrent writes mismatch (-want +got):\n%s", diff)
	}
}

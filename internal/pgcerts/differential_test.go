package pgcerts

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/certmagic"
	"github.com/google/go-cmp/cmp"
)

// TestAgainstFileStorage stores the same random keys in certmagic's file
// storage and here, and compares List (both modes), Exists, Stat and
// Delete on every directory, file and a few missing paths. Key components
// mix the bytes that sort around '/' ('-', '.', '0') and a multi-byte
// character, so that neighbours of a directory sit on both sides of it.
func TestAgainstFileStorage(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	s := newStorage(t, newPool(t), Options{})
	for round := range 3 {
		files := &certmagic.FileStorage{Path: t.TempDir()}
		if round > 0 {
			if _, err := s.pool.Exec(ctx, "DELETE FROM certmagic_data"); err != nil {
				t.Fatal(err)
			}
		}
		rng := rand.New(rand.NewPCG(uint64(round), 42))
		parts := []string{"a", "b", "a.b", "a-b", "a0", "ab", "é", "a.é", "z"}
		isFile, isDir := map[string]bool{}, map[string]bool{}
		for range 60 {
			n := 1 + rng.IntN(4)
			comps := make([]string, n)
			for i := range comps {
				comps[i] = parts[rng.IntN(len(parts))]
			}
			key := strings.Join(comps, "/")
			ok := !isDir[key]
			for i := 1; i < n && ok; i++ {
				ok = !isFile[strings.Join(comps[:i], "/")]
			}
			if !ok {
				continue // a file and a directory cannot share a path on disk
			}
			isFile[key] = true
			for i := 1; i < n; i++ {
				isDir[strings.Join(comps[:i], "/")] = true
			}
			for _, st := range []certmagic.Storage{files, s} {
				if err := st.Store(ctx, key, []byte(key)); err != nil {
					t.Fatal(err)
				}
			}
		}
		paths := []string{"", "missing", "a/missing", "a.", "a/b/c/d/e"}
		for p := range isFile {
			paths = append(paths, p)
		}
		for p := range isDir {
			paths = append(paths, p)
		}
		// A path below a file is an error other than "not exist" for the
		// file system (ENOTDIR), and Exists of it is even true there:
		// not a behaviour to imitate.
		paths = slices.DeleteFunc(paths, func(p string) bool {
			for i := range len(p) {
				if p[i] == '/' && isFile[p[:i]] {
					return true
				}
			}
			return false
		})
		slices.Sort(paths)
		compare := func(when string) {
			t.Helper()
			for _, p := range paths {
				for _, rec := range []bool{false, true} {
					want, werr := files.List(ctx, p, rec)
					got, gerr := s.List(ctx, p, rec)
					slices.Sort(want)
					if errors.Is(werr, fs.ErrNotExist) != errors.Is(gerr, fs.ErrNotExist) || (werr == nil) != (gerr == nil) {
						t.Errorf("round %d %s: List(%q, %v): error %v, file storage %v", round, when, p, rec, gerr, werr)
						continue
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("round %d %s: List(%q, %v) mismatch (-file storage +here):\n%s", round, when, p, rec, diff)
					}
				}
				if p == "" {
					continue
				}
				if w, g := files.Exists(ctx, p), s.Exists(ctx, p); w != g {
					t.Errorf("round %d %s: Exists(%q) = %v, file storage %v", round, when, p, g, w)
				}
				wi, werr := files.Stat(ctx, p)
				gi, gerr := s.Stat(ctx, p)
				if (werr == nil) != (gerr == nil) || wi.IsTerminal != gi.IsTerminal || (werr == nil && wi.IsTerminal && wi.Size != gi.Size) {
					t.Errorf("round %d %s: Stat(%q) = %+v, %v; file storage %+v, %v", round, when, p, gi, gerr, wi, werr)
				}
			}
		}
		compare("after stores")
		var dirs []string
		for d := range isDir {
			dirs = append(dirs, d)
		}
		slices.Sort(dirs)
		if len(dirs) > 0 {
			d := dirs[rng.IntN(len(dirs))]
			for _, st := range []certmagic.Storage{files, s} {
				if err := st.Delete(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			// The file system keeps the parents, now empty; certmagic's
			// contract has no empty directories.
			pruneEmptyDirs(t, files.Path)
			compare("after Delete(" + d + ")")
		}
	}
}

// pruneEmptyDirs removes the empty directories under root, deepest first.
func pruneEmptyDirs(t *testing.T, root string) {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != root {
			dirs = append(dirs, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range slices.Backward(dirs) {
		os.Remove(d) // fails, as wanted, when not empty
	}
}

package pgcerts

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/caddyserver/certmagic"
	"github.com/google/go-cmp/cmp"
)

func TestImportDir(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	dir := t.TempDir()
	files := &certmagic.FileStorage{Path: dir}
	for _, k := range tree {
		if err := files.Store(ctx, k, []byte("file:"+k)); err != nil {
			t.Fatal(err)
		}
	}
	// A lock held in the file storage is not copied.
	if err := files.Lock(ctx, "issue_cert_a.com"); err != nil {
		t.Fatal(err)
	}
	defer files.Unlock(context.Background(), "issue_cert_a.com")
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "certificates", "link")); err != nil {
		t.Fatal(err)
	}

	s := newStorage(t, newPool(t), Options{})
	const renewed = "certificates/ca/b.com/b.com.crt"
	res, err := s.ImportDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := ImportResult{Imported: len(tree), Skipped: []string{"certificates/link"}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("first ImportDir mismatch (-want +got):\n%s", diff)
	}
	fromFiles, err := files.List(ctx, "", true)
	if err != nil {
		t.Fatal(err)
	}
	fromFiles = slices.DeleteFunc(fromFiles, func(k string) bool {
		return k == "locks" || filepath.Dir(k) == "locks" || k == "certificates/link"
	})
	slices.Sort(fromFiles)
	fromDB, err := s.List(ctx, "", true)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fromFiles, fromDB); diff != "" {
		t.Errorf("keys in the database and in the directory differ (-files +database):\n%s", diff)
	}
	for _, k := range tree {
		if v, err := s.Load(ctx, k); err != nil || string(v) != "file:"+k {
			t.Errorf("Load(%q) = %q, %v", k, v, err)
		}
	}

	// A replica renews a certificate; importing again keeps the renewal.
	if err := s.Store(ctx, renewed, []byte("renewed")); err != nil {
		t.Fatal(err)
	}
	res, err = s.ImportDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	want = ImportResult{Unchanged: len(tree) - 1, Kept: []string{renewed}, Skipped: []string{"certificates/link"}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("second ImportDir mismatch (-want +got):\n%s", diff)
	}
	if v, _ := s.Load(ctx, renewed); string(v) != "renewed" {
		t.Errorf("after a second import %s = %q, want the renewal kept", renewed, v)
	}

	if _, err := s.ImportDir(ctx, filepath.Join(dir, "missing")); err == nil {
		t.Error("ImportDir of a missing directory succeeded")
	}
	if _, err := s.ImportDir(ctx, filepath.Join(dir, "last_clean.json")); err == nil {
		t.Error("ImportDir of a file succeeded")
	}
}

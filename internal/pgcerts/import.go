package pgcerts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ImportResult counts what [Storage.ImportDir] did with each file.
type ImportResult struct {
	Imported  int      // keys that were missing and now hold the file
	Unchanged int      // keys that already held the same bytes
	Kept      []string // keys that hold other bytes in the database, left as they are
	Skipped   []string // paths that are not regular files (symbolic links, …), left out
}

// ImportDir copies the certmagic file storage in dir (the directory of
// certs.ACME.Storage in single-node mode: account, certificates, keys, OCSP
// staples) into the database, so that a cluster starts with the
// certificates a single node already has instead of ordering them again.
// Lock files (locks/) are not copied.
//
// It is idempotent and safe on a database that replicas already use: a
// key missing from the database is added, with the file's modification
// time; a key already there is never overwritten, because the database's
// copy may be a renewal newer than the file; one holding other bytes is
// listed in Kept. Files are read one at a time; ctx cancels between them.
func (s *Storage) ImportDir(ctx context.Context, dir string) (ImportResult, error) {
	var res ImportResult
	fi, err := os.Stat(dir)
	if err != nil {
		return res, fmt.Errorf("pgcerts: import: %w", err)
	}
	if !fi.IsDir() {
		return res, fmt.Errorf("pgcerts: import: %s is not a directory", dir)
	}
	root := os.DirFS(dir)
	err = fs.WalkDir(root, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if path == "locks" {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			res.Skipped = append(res.Skipped, path)
			return nil
		}
		value, err := fs.ReadFile(root, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		// fs paths use '/' whatever the OS: they are certmagic's keys.
		outcome, err := s.importKey(ctx, path, value, info.ModTime())
		if err != nil {
			return err
		}
		switch outcome {
		case imported:
			res.Imported++
		case unchanged:
			res.Unchanged++
		case kept:
			res.Kept = append(res.Kept, path)
		}
		return nil
	})
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			pathErr.Path = filepath.Join(dir, filepath.FromSlash(pathErr.Path))
		}
		return res, fmt.Errorf("pgcerts: import: %w", err)
	}
	return res, nil
}

type importOutcome int

const (
	imported importOutcome = iota
	unchanged
	kept
)

// importKey adds key if it is missing and says what it found otherwise.
func (s *Storage) importKey(ctx context.Context, key string, value []byte, modified time.Time) (importOutcome, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO certmagic_data (key, value, modified) VALUES ($1, $2, $3)
ON CONFLICT (key) DO NOTHING`, key, value, modified)
	if err != nil {
		return 0, fmt.Errorf("store %q: %w", key, err)
	}
	if tag.RowsAffected() == 1 {
		return imported, nil
	}
	current, err := s.Load(ctx, key)
	if err != nil {
		return 0, err
	}
	if bytes.Equal(current, value) {
		return unchanged, nil
	}
	return kept, nil
}

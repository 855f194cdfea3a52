package certs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/forcehttps/forcehttps/internal/certfile"
)

// FileError reports a certificate pair that could not be used. Err wraps
// one of the sentinel errors of this package or a file system error.
type FileError struct {
	CertFile, KeyFile string
	Err               error
}

func (e *FileError) Error() string {
	if e.KeyFile == "" || e.KeyFile == e.CertFile {
		return fmt.Sprintf("certificate file %q: %v", e.CertFile, e.Err)
	}
	return fmt.Sprintf("certificate file %q with key file %q: %v", e.CertFile, e.KeyFile, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// loadPair reads and validates one certificate pair.
func loadPair(p Pair, now time.Time) (*entry, error) {
	wrap := func(err error) error { return &FileError{CertFile: p.CertFile, KeyFile: p.KeyFile, Err: err} }
	if p.CertFile == "" {
		return nil, wrap(errors.New("cert_file is empty"))
	}
	if p.KeyFile == "" {
		return nil, wrap(errors.New("key_file is empty"))
	}
	certPEM, err := readFile("certificate", p.CertFile)
	if err != nil {
		return nil, wrap(err)
	}
	keyPEM, err := readFile("key", p.KeyFile)
	if err != nil {
		return nil, wrap(err)
	}
	e, err := parsePair(certPEM, keyPEM, now)
	if err != nil {
		return nil, wrap(err)
	}
	e.source = SourceFile
	e.file = p.CertFile
	return e, nil
}

// readFile reads a file, reporting only the operation's error: the caller
// names the file once.
func readFile(what, name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("reading %s file %q: %w", what, name, err)
	}
	return b, nil
}

// parsePair parses and checks a pair ([certfile.Parse]) and indexes it.
func parsePair(certPEM, keyPEM []byte, now time.Time) (*entry, error) {
	c, err := certfile.Parse(certPEM, keyPEM, now)
	if err != nil {
		return nil, err
	}
	return newEntry(c), nil
}

package admin

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/forcehttps/forcehttps/internal/tokenfile"
)

// DefaultTokenName is the name of Options.Token in the audit log.
const DefaultTokenName = "default"

// namedSum is a token as the admin keeps it: its name and its hash.
type namedSum struct {
	name string
	sum  [32]byte
}

// tokens are the tokens the API and the dashboard accept: Options.Token,
// named "default", and those of Options.TokensFile, read again when the
// file changes, at most every Options.TokensCheck.
type tokens struct {
	fixed []namedSum
	file  string
	every time.Duration
	now   func() time.Time
	warn  func(msg string, args ...any)

	mu       sync.Mutex
	fromFile []namedSum
	data     []byte
	checked  time.Time
}

// load reads the tokens file: its error stops New, later ones keep the
// previous tokens.
func (t *tokens) load() error {
	data, err := os.ReadFile(t.file)
	if err != nil {
		return fmt.Errorf("admin: tokens file: %w", err)
	}
	if t.data != nil && bytes.Equal(data, t.data) {
		return nil
	}
	toks, err := tokenfile.Parse(data)
	if err != nil {
		return fmt.Errorf("admin: tokens file %q: %w", t.file, err)
	}
	out := make([]namedSum, 0, len(toks))
	for _, tok := range toks {
		out = append(out, namedSum{tok.Name, hashToken(tok.Secret)})
	}
	t.fromFile, t.data = out, data
	return nil
}

// current returns the tokens, reading the file again if due.
func (t *tokens) current() []namedSum {
	if t.file == "" {
		return t.fixed
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if now := t.now(); now.Sub(t.checked) >= t.every {
		t.checked = now
		if err := t.load(); err != nil {
			t.warn("admin: the tokens file could not be read again; the previous tokens stay valid", "error", err.Error())
		}
	}
	return append(t.fixed[:len(t.fixed):len(t.fixed)], t.fromFile...)
}

// match returns the name of token tok, comparing it with every token in
// constant time over hashes.
func (t *tokens) match(tok string) (string, bool) {
	got := hashToken(tok)
	name, found := "", 0
	for _, ns := range t.current() {
		if subtle.ConstantTimeCompare(got[:], ns.sum[:]) == 1 {
			name, found = ns.name, 1
		}
	}
	return name, found == 1
}

// has reports whether a token named name is still valid.
func (t *tokens) has(name string) bool {
	for _, ns := range t.current() {
		if ns.name == name {
			return true
		}
	}
	return false
}

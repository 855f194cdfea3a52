// Package tokenfile parses the admin listener's tokens file: several
// bearer tokens, each with a name that the audit log of changes shows.
//
// The format is one token a line, its name, a colon, and the token:
//
//	# Lines starting with # and blank lines are skipped.
//	ci: 3f6c0c3a4f0d8f1e9a6b2c7d5e4f3a2b
//	alice: 9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b
//
// A name is 1 to 64 characters of letters, digits, '-', '_' and '.'; a
// token is 16 to 4096 printable ASCII characters without space. Names
// and tokens are unique in a file. Errors name the line, never the token.
package tokenfile

import (
	"errors"
	"fmt"
	"strings"
)

// Token is a named bearer token.
type Token struct {
	// Name says whose token it is, in the audit log.
	Name string
	// Secret is the bearer token itself.
	Secret string
}

// Limits of a tokens file.
const (
	MaxNameLen   = 64
	MinSecretLen = 16
	MaxSecretLen = 4096
	MaxTokens    = 10000
)

// ErrEmpty is returned by [Parse] for a file without a token.
var ErrEmpty = errors.New("no token found: write one \"name: token\" line at least")

// LineError is a problem at one line of a tokens file.
type LineError struct {
	Line int
	Msg  string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Parse parses a tokens file. The error of a bad line is a *LineError;
// it never quotes a token.
func Parse(data []byte) ([]Token, error) {
	var out []Token
	names := map[string]int{}
	secrets := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSuffix(line, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		name, secret, ok := strings.Cut(trimmed, ":")
		if !ok {
			return nil, &LineError{n, `not "name: token"`}
		}
		name, secret = strings.TrimSpace(name), strings.TrimSpace(secret)
		if err := checkName(name); err != nil {
			return nil, &LineError{n, err.Error()}
		}
		if err := checkSecret(secret); err != nil {
			return nil, &LineError{n, fmt.Sprintf("token of %q: %v", name, err)}
		}
		if prev, dup := names[name]; dup {
			return nil, &LineError{n, fmt.Sprintf("name %q is also on line %d", name, prev)}
		}
		if prev, dup := secrets[secret]; dup {
			return nil, &LineError{n, fmt.Sprintf("the token of %q is also on line %d: give each its own", name, prev)}
		}
		if len(out) >= MaxTokens {
			return nil, &LineError{n, fmt.Sprintf("more than %d tokens", MaxTokens)}
		}
		names[name], secrets[secret] = n, n
		out = append(out, Token{Name: name, Secret: secret})
	}
	if len(out) == 0 {
		return nil, ErrEmpty
	}
	return out, nil
}

func checkName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("name longer than %d characters", MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("name %q: only letters, digits, '-', '_' and '.'", strings.ToValidUTF8(name, "?"))
		}
	}
	return nil
}

func checkSecret(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) < MinSecretLen:
		return fmt.Errorf("shorter than %d characters", MinSecretLen)
	case len(s) > MaxSecretLen:
		return fmt.Errorf("longer than %d characters", MaxSecretLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return errors.New("only printable ASCII characters without space")
		}
	}
	return nil
}

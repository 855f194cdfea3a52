package tokenfile

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const a, b = "aaaaaaaaaaaaaaaa1", "bbbbbbbbbbbbbbbb2"
	tests := []struct {
		name, in string
		want     []Token
		line     int // 0: no LineError
		empty    bool
	}{
		{"two", "# comment\nci: " + a + "\n\n  alice :" + b + "\r\n", []Token{{"ci", a}, {"alice", b}}, 0, false},
		{"empty", "# nothing\n\n", nil, 0, true},
		{"no colon", "ci " + a, nil, 1, false},
		{"bad name", "c i: " + a, nil, 1, false},
		{"empty name", ": " + a, nil, 1, false},
		{"short token", "ci: short", nil, 1, false},
		{"space in token", "ci: aaaaaaaa bbbbbbbbbb", nil, 1, false},
		{"dup name", "ci: " + a + "\nci: " + b, nil, 2, false},
		{"dup token", "ci: " + a + "\nx: " + a, nil, 2, false},
		{"long name", strings.Repeat("n", 65) + ": " + a, nil, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			var le *LineError
			switch {
			case tt.empty:
				if !errors.Is(err, ErrEmpty) {
					t.Fatalf("err = %v, want ErrEmpty", err)
				}
			case tt.line != 0:
				if !errors.As(err, &le) || le.Line != tt.line {
					t.Fatalf("err = %v, want line %d", err, tt.line)
				}
				if strings.Contains(err.Error(), a) || strings.Contains(err.Error(), b) {
					t.Errorf("error %q quotes a token", err)
				}
			default:
				if err != nil || len(got) != len(tt.want) {
					t.Fatalf("Parse = %v, %v", got, err)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Errorf("token %d = %+v, want %+v", i, got[i], tt.want[i])
					}
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("ci: aaaaaaaaaaaaaaaa1\n# c\nx: bbbbbbbbbbbbbbbbbb\n"))
	f.Add([]byte(": \n\xff: \x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		toks, err := Parse(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, tok := range toks {
			if checkName(tok.Name) != nil || checkSecret(tok.Secret) != nil || seen[tok.Name] {
				t.Fatalf("accepted a bad token line: %q", tok.Name)
			}
			seen[tok.Name] = true
		}
	})
}

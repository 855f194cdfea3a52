package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forcehttps/forcehttps"
)

// FuzzParse checks that Parse never panics, that it returns either a
// Config or a *ValidationError, that every error says where it is (a path
// or a line), and that an accepted Config validates again.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal), false)
	f.Add(defaultYAML, false)
	for _, name := range []string{"edge.yaml", "edge.json"} {
		if data, err := os.ReadFile(filepath.Join("..", "..", "examples", name)); err == nil {
			f.Add(data, strings.HasSuffix(name, ".json"))
		}
	}
	if data, err := os.ReadFile(filepath.Join("testdata", "invalid.yaml")); err == nil {
		f.Add(data, false)
	}
	f.Add([]byte(`{"apps": [{"name": "a", "domains": ["a.example"], "upstream": "http://127.0.0.1:1"}], "tls": {"self_signed": ["a.example"]}}`), true)
	f.Add([]byte("a: &a [*a]\n"), false)
	f.Add([]byte("apps: [{hsts: {max_age: 0x10}}, {timeouts: 1}]"), false)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		format := YAML
		if isJSON {
			format = JSON
		}
		c, err := Parse(data, format)
		if err == nil {
			if c == nil {
				t.Fatal("Parse returned neither a Config nor an error")
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Parse accepted a Config that Validate refuses: %v", err)
			}
			for i := range c.Apps {
				if _, err := forcehttps.New(c.Policy(&c.Apps[i], c.PublicHTTPSPort())); err != nil {
					t.Fatalf("accepted app %d has an invalid policy: %v", i, err)
				}
			}
			return
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Errors) == 0 {
			t.Fatalf("Parse error %v is not a *ValidationError with errors", err)
		}
		for _, fe := range ve.Errors {
			// Only a document that is empty, or too wrong to count, has
			// no place to point at.
			if fe.Path == "" && fe.Line == 0 && !errors.Is(fe, ErrSyntax) && !errors.Is(fe, ErrTooManyErrors) {
				t.Errorf("error %q has neither a path nor a line", fe)
			}
			if fe.Message == "" {
				t.Errorf("error at %q has no message", fe.Path)
			}
		}
	})
}

package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestExamplesHaveEveryKey checks that every key the decoder accepts is
// shown in examples/edge.yaml, so that the example stays the reference.
func TestExamplesHaveEveryKey(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "edge.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, key := range yamlKeys(reflect.TypeFor[Config](), "") {
		name := key[strings.LastIndexByte(key, '.')+1:]
		// A key is shown as "name:" at the start of a line (after
		// indentation, "- ", or "# " for a key shown commented out) or
		// inside a flow mapping ("{name:" or ", name:").
		re := regexp.MustCompile(`(?m)(^\s*(#\s*)?(- )?|[{,]\s*)` + regexp.QuoteMeta(name) + `:`)
		if !re.MatchString(text) {
			t.Errorf("examples/edge.yaml does not show the key %s", key)
		}
	}
}

// yamlKeys lists the keys of the struct type t, with their paths.
func yamlKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		path := prefix + tag
		out = append(out, path)
		ft := f.Type
		for ft.Kind() == reflect.Slice || ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != durationType {
			out = append(out, yamlKeys(ft, path+".")...)
		}
	}
	return out
}

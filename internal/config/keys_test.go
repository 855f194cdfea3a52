package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// decoderKeys returns every key path the decoder accepts in a value of
// type t, found the way the decoder finds them (structFields); list items
// are written "[]". A map (security_headers.headers) takes any key, so its
// own path is the leaf.
func decoderKeys(t reflect.Type, prefix string) []string {
	var out []string
	if prefix != "" {
		out = append(out, prefix)
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Slice {
		if t = t.Elem(); t.Kind() != reflect.Struct {
			return out // a list of scalars
		}
		prefix += "[]"
	}
	if t.Kind() != reflect.Struct || t == durationType {
		return out
	}
	for name, i := range structFields(t) {
		out = append(out, decoderKeys(t.Field(i).Type, join(prefix, name))...)
	}
	return out
}

// documentKeys returns the key paths present in a YAML (or JSON) node
// tree, list items written "[]".
func documentKeys(n *yaml.Node, prefix string, out map[string]bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			documentKeys(c, prefix, out)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			documentKeys(c, prefix+"[]", out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := join(prefix, n.Content[i].Value)
			out[p] = true
			documentKeys(n.Content[i+1], p, out)
		}
	}
}

// TestExamplesShowEveryKey checks the promise of examples/edge.yaml and
// examples/edge.json: every key the decoder accepts appears in them.
func TestExamplesShowEveryKey(t *testing.T) {
	t.Parallel()
	keys := decoderKeys(reflect.TypeFor[Config](), "")
	slices.Sort(keys)
	if len(keys) < 60 || !slices.Contains(keys, "admin.allowed_hosts") || !slices.Contains(keys, "apps[].respond[].content_type") {
		t.Fatalf("decoderKeys found %d keys, which misses some: %q", len(keys), keys)
	}
	// The cluster section is shown in a replica's example of its own: in
	// the single-node examples it would make them need a database.
	isCluster := func(k string) bool { return k == "cluster" || strings.HasPrefix(k, "cluster.") }
	for _, ex := range []struct {
		name string
		want func(key string) bool
	}{
		{"edge.yaml", func(k string) bool { return !isCluster(k) }},
		{"edge.json", func(k string) bool { return !isCluster(k) }},
		{"edge-cluster.yaml", isCluster},
	} {
		data, err := os.ReadFile(filepath.Join("..", "..", "examples", ex.name))
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("examples/%s: %v", ex.name, err)
		}
		present := map[string]bool{}
		documentKeys(&doc, "", present)
		for _, k := range keys {
			if ex.want(k) && !present[k] {
				t.Errorf("examples/%s lacks the key %s", ex.name, k)
			}
		}
	}
}

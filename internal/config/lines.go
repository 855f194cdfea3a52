package config

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// lineOf returns the line of the value at path in the document root, as
// the decoder read it, or of its nearest ancestor in the document; 0 for
// none. A path is a field path as errors show it: keys joined by ".",
// list indexes as "[3]" and map keys quoted as `["X-Frame-Options"]`.
//
// The lines of a large document are looked up only for the errors found
// in it, rather than recorded for each of its values while decoding. The
// value is found as the decoder found it: the first of repeated keys (the
// others are errors), aliases followed to their anchor. Its line is the
// line of the value, or, for a struct key whose alias leads nowhere, of
// the key.
func lineOf(root *yaml.Node, path string) int {
	n, line := deref(root), 0
	for path != "" && n != nil {
		var next *yaml.Node
		switch {
		case strings.HasPrefix(path, `["`): // a map key
			q, err := strconv.QuotedPrefix(path[1:])
			if err != nil || !strings.HasPrefix(path[1+len(q):], "]") {
				return line
			}
			key, _ := strconv.Unquote(q)
			path = path[1+len(q)+1:]
			if _, next = firstPair(n, key); next == nil {
				return line
			}
		case path[0] == '[': // a list index
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return line
			}
			i, err := strconv.Atoi(path[1:end])
			if err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
				return line
			}
			path = path[end+1:]
			next = n.Content[i]
		default: // a struct key
			path = strings.TrimPrefix(path, ".")
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			var k *yaml.Node
			if k, next = firstPair(n, path[:end]); next == nil {
				return line
			}
			path = path[end:]
			line = k.Line
		}
		if n = deref(next); n != nil {
			line = n.Line
		}
	}
	return line
}

// firstPair returns the first scalar key of mapping n equal to key, and
// its value; nil, nil if there is none or n is not a mapping.
func firstPair(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if c := n.Content[i]; c.Kind == yaml.ScalarNode && c.Value == key {
			return c, n.Content[i+1]
		}
	}
	return nil, nil
}

// deref follows aliases to the node they name; nil for an alias to
// nothing.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// Limits of the decoder, so that hostile input (aliases that expand
// exponentially, deep nesting) cannot exhaust memory or the stack.
const (
	maxInput = 4 << 20   // bytes
	maxNodes = 1_000_000 // nodes visited, aliases counted each time
	maxDepth = 32
)

// decoder fills a value from a YAML node tree, strictly: unknown keys,
// duplicate keys and values of the wrong type are errors, each reported
// with its field path and line, and decoding goes on so that every error
// is found in one pass.
type decoder struct {
	errs  []*FieldError
	lines map[string]int // field path -> line, for later validation errors
	nodes int
}

var durationType = reflect.TypeFor[time.Duration]()

// decodeDocument parses data (YAML, or JSON when format is JSON) into c,
// which holds the defaults already.
func decodeDocument(data []byte, format Format, c *Config) (map[string]int, []*FieldError) {
	d := &decoder{lines: map[string]int{}}
	if len(data) > maxInput {
		return nil, []*FieldError{{Message: fmt.Sprintf("the file is larger than %d bytes", maxInput), Err: ErrSyntax}}
	}
	if format == JSON {
		if err := checkJSON(data); err != nil {
			return nil, []*FieldError{err}
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, []*FieldError{{Message: "the file is empty", Err: ErrSyntax}}
		}
		return nil, []*FieldError{syntaxError(err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, []*FieldError{{Line: extra.Line, Message: "the file holds more than one YAML document", Err: ErrSyntax}}
	} else if !errors.Is(err, io.EOF) {
		return nil, []*FieldError{syntaxError(err)}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, []*FieldError{{Message: "the file is empty", Err: ErrSyntax}}
		}
		root = root.Content[0]
	}
	d.value(root, reflect.ValueOf(c).Elem(), "", 0)
	if d.nodes > maxNodes {
		// What was decoded is a fragment: validating it would only add
		// errors about what the limit left out.
		return nil, d.errs
	}
	return d.lines, d.errs
}

// checkJSON reports whether data is one JSON value, locating the error.
func checkJSON(data []byte) *FieldError {
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	err := dec.Decode(&v)
	if err == nil {
		if _, err2 := dec.Token(); !errors.Is(err2, io.EOF) {
			return &FieldError{Line: lineAt(data, dec.InputOffset()), Message: "invalid JSON: more than one value", Err: ErrSyntax}
		}
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &FieldError{Line: lineAt(data, se.Offset), Message: "invalid JSON: " + se.Error(), Err: ErrSyntax}
	}
	if errors.Is(err, io.EOF) {
		return &FieldError{Message: "the file is empty", Err: ErrSyntax}
	}
	return &FieldError{Message: "invalid JSON: " + err.Error(), Err: ErrSyntax}
}

// lineAt returns the 1-based line of byte offset off.
func lineAt(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return bytes.Count(data[:off], []byte("\n")) + 1
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a YAML parser error into a FieldError with its line.
func syntaxError(err error) *FieldError {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &FieldError{Line: n, Message: "invalid YAML: " + m[2], Err: ErrSyntax}
	}
	return &FieldError{Message: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: "), Err: ErrSyntax}
}

// fail records an error about the value at path.
func (d *decoder) fail(n *yaml.Node, path string, err error, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{Path: path, Line: n.Line, Message: fmt.Sprintf(format, args...), Err: err})
}

// value decodes n into v.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string, depth int) {
	d.nodes++
	if d.nodes > maxNodes || depth > maxDepth {
		if d.nodes == maxNodes+1 || depth == maxDepth+1 {
			d.fail(n, path, ErrSyntax, "the document is too large or too deeply nested")
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.fail(n, path, ErrSyntax, "unknown alias")
			return
		}
		d.value(n.Alias, v, path, depth+1)
		return
	}
	if path != "" {
		d.lines[path] = n.Line
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // keep the default
	}
	if v.Type() == durationType {
		d.duration(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
			if df, ok := v.Interface().(defaulter); ok {
				df.setDefaults()
			}
		}
		d.value(n, v.Elem(), path, depth+1)
	case reflect.Struct:
		d.structure(n, v, path, depth)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, ErrType, "expected a list, got %s", describe(n))
			return
		}
		if d.nodes+len(n.Content) > maxNodes {
			// Refuse before allocating the slice, not item by item.
			d.nodes = maxNodes + 1
			d.fail(n, path, ErrSyntax, "the document is too large or too deeply nested")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			e := s.Index(i)
			if df, ok := e.Addr().Interface().(defaulter); ok {
				df.setDefaults()
			}
			d.value(item, e, fmt.Sprintf("%s[%d]", path, i), depth+1)
		}
		v.Set(s)
	case reflect.Map:
		d.mapping(n, v, path, depth)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, ErrType, "expected a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.fail(n, path, ErrType, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			d.fail(n, path, ErrType, "expected an integer, got %s", describe(n))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		var f float64
		tag := n.ShortTag()
		if n.Kind != yaml.ScalarNode || (tag != "!!float" && tag != "!!int") || n.Decode(&f) != nil {
			d.fail(n, path, ErrType, "expected a number, got %s", describe(n))
			return
		}
		v.SetFloat(f)
	default:
		d.fail(n, path, ErrType, "cannot decode into %s", v.Type())
	}
}

// structure decodes a mapping into a struct, by the fields' yaml tags.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, ErrType, "expected a mapping, got %s", describe(n))
		return
	}
	fields := structFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, ErrType, "a key must be a string, got %s", describe(k))
			continue
		}
		p := join(path, k.Value)
		if line, dup := seen[k.Value]; dup {
			d.fail(k, p, ErrDuplicateKey, "key repeated (first at line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		idx, ok := fields[k.Value]
		if !ok {
			d.unknownKey(k, p, fields)
			continue
		}
		d.lines[p] = k.Line
		d.value(val, v.Field(idx), p, depth+1)
	}
}

// removedKeys are keys of earlier versions whose meaning changed, with
// what to write instead: a configuration that still has one fails with
// that message rather than being read differently.
var removedKeys = map[string]string{
	"timeouts.read": "removed: it bounded a whole request, body included, and cut slow uploads; " +
		"use timeouts.client_idle (the longest a client may send nothing) and, for a hard cap, apps[].timeouts.max_duration",
	"timeouts.write": "removed: it bounded a whole response and cut long downloads and event streams; " +
		"use timeouts.client_idle (the longest a client may take nothing), timeouts.stream_idle for WebSockets and " +
		"server-sent events, and, for a hard cap, apps[].timeouts.max_duration",
}

// unknownKey reports a key no field has, suggesting a close one.
func (d *decoder) unknownKey(k *yaml.Node, path string, fields map[string]int) {
	if msg, ok := removedKeys[path]; ok {
		d.fail(k, path, ErrUnknownKey, "%s", msg)
		return
	}
	best, bestDist := "", 3
	for name := range fields {
		if dist := editDistance(strings.ToLower(k.Value), name); dist < bestDist || (dist == bestDist && name < best) {
			best, bestDist = name, dist
		}
	}
	if best != "" {
		d.fail(k, path, ErrUnknownKey, "unknown key (did you mean %q?)", best)
		return
	}
	d.fail(k, path, ErrUnknownKey, "unknown key (known keys: %s)", strings.Join(sortedKeys(fields), ", "))
}

// mapping decodes a mapping into a map[string]string.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, ErrType, "expected a mapping, got %s", describe(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, ErrType, "a key must be a string, got %s", describe(k))
			continue
		}
		p := fmt.Sprintf("%s[%q]", path, k.Value)
		if line, dup := seen[k.Value]; dup {
			d.fail(k, p, ErrDuplicateKey, "key repeated (first at line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		e := reflect.New(v.Type().Elem()).Elem()
		d.value(val, e, p, depth+1)
		m.SetMapIndex(reflect.ValueOf(k.Value), e)
	}
	v.Set(m)
}

// duration decodes "10s"-style durations; a bare 0 is accepted too.
func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, ErrType, "expected a duration like \"10s\", got %s", describe(n))
		return
	}
	if n.ShortTag() == "!!int" && n.Value == "0" {
		v.SetInt(0)
		return
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil {
		hint := ""
		if n.ShortTag() == "!!int" {
			hint = " (add a unit: s, m or h)"
		}
		d.fail(n, path, ErrDuration, "%q is not a duration like \"10s\" or \"1m30s\"%s", n.Value, hint)
		return
	}
	if dur < 0 {
		d.fail(n, path, ErrDuration, "%q is negative", n.Value)
		return
	}
	v.SetInt(int64(dur))
}

// describe names what a node holds, for type errors.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return strconv.Quote(truncate(n.Value, 64))
}

// truncate shortens s to at most n bytes, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldCache holds structFields' maps by type: a configuration of many
// apps decodes the same few types tens of thousands of times.
var fieldCache sync.Map // reflect.Type -> map[string]int

// structFields maps the yaml tag names of t's fields to their index. The
// map is shared: callers must not modify it.
func structFields(t reflect.Type) map[string]int {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]int)
	}
	m := fieldsOf(t)
	fieldCache.Store(t, m)
	return m
}

// fieldsOf is structFields without the cache.
func fieldsOf(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// editDistance is the Levenshtein distance of a and b, for suggestions;
// long inputs are not compared.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

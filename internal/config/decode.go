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
	nodes int
	segs  []segment // the path of the value being decoded
	// lines, when set (tests), records the line of every path decoded,
	// as [lineOf] finds it.
	lines map[string]int
}

// segment is one step of the path of the value being decoded: a struct
// key, a map key (entry) or a list index.
type segment struct {
	key   string
	index int  // when key is "" and entry is false
	entry bool // key is a map key: ["key"]
}

// path returns the path of the value being decoded, as errors show it
// ("apps[3].hsts.max_age", `headers["X-A"]`); "" for the document. The
// decoder keeps it as a stack of segments and makes the string only for
// an error, since a large file has hundreds of thousands of values and,
// most often, no error.
func (d *decoder) path() string {
	var b strings.Builder
	for _, s := range d.segs {
		switch {
		case s.entry:
			b.WriteString("[" + strconv.Quote(s.key) + "]")
		case s.key != "":
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
		default:
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		}
	}
	return b.String()
}

func (d *decoder) push(s segment) { d.segs = append(d.segs, s) }
func (d *decoder) pop()           { d.segs = d.segs[:len(d.segs)-1] }

var durationType = reflect.TypeFor[time.Duration]()

// decodeDocument parses data (YAML, or JSON when format is JSON) into c,
// which holds the defaults already. It returns the root of the document,
// where [lineOf] finds the lines of later errors, or nil when the
// document did not parse.
func decodeDocument(data []byte, format Format, c *Config) (*yaml.Node, []*FieldError) {
	return (&decoder{}).document(data, format, c)
}

func (d *decoder) document(data []byte, format Format, c *Config) (*yaml.Node, []*FieldError) {
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
	d.value(root, reflect.ValueOf(c).Elem(), 0)
	if d.nodes > maxNodes {
		// What was decoded is a fragment: validating it would only add
		// errors about what the limit left out.
		return nil, d.errs
	}
	return root, d.errs
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

// fail records an error about the value at d.path().
func (d *decoder) fail(n *yaml.Node, err error, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{Path: d.path(), Line: n.Line, Message: fmt.Sprintf(format, args...), Err: err})
}

// value decodes n into v.
func (d *decoder) value(n *yaml.Node, v reflect.Value, depth int) {
	d.nodes++
	if d.nodes > maxNodes || depth > maxDepth {
		if d.nodes == maxNodes+1 || depth == maxDepth+1 {
			d.fail(n, ErrSyntax, "the document is too large or too deeply nested")
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.fail(n, ErrSyntax, "unknown alias")
			return
		}
		d.value(n.Alias, v, depth+1)
		return
	}
	if d.lines != nil && len(d.segs) > 0 {
		d.lines[d.path()] = n.Line
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // keep the default
	}
	if v.Type() == durationType {
		d.duration(n, v)
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
		d.value(n, v.Elem(), depth+1)
	case reflect.Struct:
		d.structure(n, v, depth)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, ErrType, "expected a list, got %s", describe(n))
			return
		}
		if d.nodes+len(n.Content) > maxNodes {
			// Refuse before allocating the slice, not item by item.
			d.nodes = maxNodes + 1
			d.fail(n, ErrSyntax, "the document is too large or too deeply nested")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			e := s.Index(i)
			if df, ok := e.Addr().Interface().(defaulter); ok {
				df.setDefaults()
			}
			d.push(segment{index: i})
			d.value(item, e, depth+1)
			d.pop()
		}
		v.Set(s)
	case reflect.Map:
		d.mapping(n, v, depth)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, ErrType, "expected a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.fail(n, ErrType, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			d.fail(n, ErrType, "expected an integer, got %s", describe(n))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		var f float64
		tag := n.ShortTag()
		if n.Kind != yaml.ScalarNode || (tag != "!!float" && tag != "!!int") || n.Decode(&f) != nil {
			d.fail(n, ErrType, "expected a number, got %s", describe(n))
			return
		}
		v.SetFloat(f)
	default:
		d.fail(n, ErrType, "cannot decode into %s", v.Type())
	}
}

// structure decodes a mapping into a struct, by the fields' yaml tags.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, depth int) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, ErrType, "expected a mapping, got %s", describe(n))
		return
	}
	fields := structFields(v.Type())
	var keys repeatedKeys
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k, ErrType, "a key must be a string, got %s", describe(k))
			continue
		}
		d.push(segment{key: k.Value})
		d.field(k, val, v, fields, keys.first(n, i), depth)
		d.pop()
	}
}

// field decodes val, the value of key k, into its field of struct v;
// d.path() is the key's. first is the line of an earlier key k repeats,
// 0 for none.
func (d *decoder) field(k, val *yaml.Node, v reflect.Value, fields map[string]int, first, depth int) {
	if first > 0 {
		d.fail(k, ErrDuplicateKey, "key repeated (first at line %d)", first)
		return
	}
	idx, ok := fields[k.Value]
	if !ok {
		d.unknownKey(k, fields)
		return
	}
	if d.lines != nil {
		d.lines[d.path()] = k.Line
	}
	d.value(val, v.Field(idx), depth+1)
}

// repeatedKeys finds the keys of a mapping that an earlier key repeats.
// The zero value is ready for a mapping; a short one, as most are, is
// searched rather than mapped.
type repeatedKeys struct {
	lines map[string]int // key -> line of its first occurrence, for long mappings
}

// first returns the line of the earlier key of mapping n that the scalar
// key n.Content[i] repeats, or 0 if it repeats none (lines start at 1).
// Call it for the scalar keys of n in order.
func (r *repeatedKeys) first(n *yaml.Node, i int) int {
	k := n.Content[i]
	if len(n.Content) <= 2*shortList {
		for j := 0; j < i; j += 2 {
			if e := n.Content[j]; e.Kind == yaml.ScalarNode && e.Value == k.Value {
				return e.Line
			}
		}
		return 0
	}
	if r.lines == nil {
		r.lines = make(map[string]int, len(n.Content)/2)
	}
	if line, dup := r.lines[k.Value]; dup {
		return line
	}
	r.lines[k.Value] = k.Line
	return 0
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
func (d *decoder) unknownKey(k *yaml.Node, fields map[string]int) {
	if msg, ok := removedKeys[d.path()]; ok {
		d.fail(k, ErrUnknownKey, "%s", msg)
		return
	}
	best, bestDist := "", 3
	for name := range fields {
		if dist := editDistance(strings.ToLower(k.Value), name); dist < bestDist || (dist == bestDist && name < best) {
			best, bestDist = name, dist
		}
	}
	if best != "" {
		d.fail(k, ErrUnknownKey, "unknown key (did you mean %q?)", best)
		return
	}
	d.fail(k, ErrUnknownKey, "unknown key (known keys: %s)", strings.Join(sortedKeys(fields), ", "))
}

// mapping decodes a mapping into a map[string]string.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, depth int) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, ErrType, "expected a mapping, got %s", describe(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	var keys repeatedKeys
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k, ErrType, "a key must be a string, got %s", describe(k))
			continue
		}
		d.push(segment{key: k.Value, entry: true})
		if first := keys.first(n, i); first > 0 {
			d.fail(k, ErrDuplicateKey, "key repeated (first at line %d)", first)
		} else {
			e := reflect.New(v.Type().Elem()).Elem()
			d.value(val, e, depth+1)
			m.SetMapIndex(reflect.ValueOf(k.Value), e)
		}
		d.pop()
	}
	v.Set(m)
}

// duration decodes "10s"-style durations; a bare 0 is accepted too.
func (d *decoder) duration(n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, ErrType, "expected a duration like \"10s\", got %s", describe(n))
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
		d.fail(n, ErrDuration, "%q is not a duration like \"10s\" or \"1m30s\"%s", n.Value, hint)
		return
	}
	if dur < 0 {
		d.fail(n, ErrDuration, "%q is negative", n.Value)
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

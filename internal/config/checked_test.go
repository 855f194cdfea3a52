package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestChecked(t *testing.T) {
	t.Parallel()
	parsed := func(t *testing.T) *Config {
		c, err := Parse([]byte(minimal), YAML)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name string
		cfg  func(t *testing.T) *Config
		want bool
	}{
		{"parsed", parsed, true},
		{"the default", func(*testing.T) *Config { return Default() }, true},
		{"a copy of a parsed one", func(t *testing.T) *Config { c := *parsed(t); return &c }, true},
		{"built in code", func(t *testing.T) *Config { c := parsed(t); return &Config{Listen: c.Listen, TLS: c.TLS, Apps: c.Apps} }, false},
		{"a copy built field by field", func(t *testing.T) *Config {
			c := parsed(t)
			return &Config{Listen: c.Listen, TrustedProxies: c.TrustedProxies, TLS: c.TLS, Apps: c.Apps, Timeouts: c.Timeouts,
				Limits: c.Limits, AccessLog: c.AccessLog, Admin: c.Admin, Cluster: c.Cluster}
		}, false},
		{"an app changed in place", func(t *testing.T) *Config { c := parsed(t); c.Apps[0].Upstream = "ftp://x"; return c }, false},
		{"a domain changed in place", func(t *testing.T) *Config { c := parsed(t); c.Apps[0].Domains[0] = "-"; return c }, false},
		{"an app added", func(t *testing.T) *Config { c := parsed(t); c.Apps = append(c.Apps, App{}); return c }, false},
		{"a copy changed", func(t *testing.T) *Config { c := *parsed(t); c.Listen.HTTP = "x"; return &c }, false},
		{"changed and changed back", func(t *testing.T) *Config {
			c := parsed(t)
			c.Limits.MaxHeaderBytes++
			c.Limits.MaxHeaderBytes--
			return c
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cfg(t).Checked(); got != tt.want {
				t.Errorf("Checked() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFingerprintSeesEveryField changes every value of a configuration
// that sets every section, one at a time, and checks that each change is
// seen: a field added to Config, of whatever kind, is covered or fails
// here.
func TestFingerprintSeesEveryField(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "edge.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data, YAML)
	if err != nil {
		t.Fatal(err)
	}
	// Every pointer and every list set, so that the walk below reaches
	// every field.
	c.Cluster = &Cluster{}
	c.Cluster.setDefaults()
	c.markChecked()
	seen := 0
	var walk func(path string, v reflect.Value)
	changed := func(path string) {
		t.Helper()
		seen++
		if c.Checked() {
			t.Errorf("%s: a change is not seen", path)
		}
	}
	restored := func(path string) {
		t.Helper()
		if !c.Checked() {
			t.Errorf("%s: changed back, still not checked", path)
		}
	}
	walk = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			old := v.String()
			v.SetString(old + "x")
			changed(path)
			v.SetString(old)
		case reflect.Bool:
			v.SetBool(!v.Bool())
			changed(path)
			v.SetBool(!v.Bool())
		case reflect.Int, reflect.Int64:
			v.SetInt(v.Int() + 1)
			changed(path)
			v.SetInt(v.Int() - 1)
		case reflect.Float64:
			old := v.Float()
			v.SetFloat(old + 0.5)
			changed(path)
			v.SetFloat(old)
		case reflect.Pointer:
			old := v.Elem()
			v.SetZero()
			changed(path + " (nil)")
			v.Set(old.Addr())
			restored(path)
			walk(path, v.Elem())
			return
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					walk(path+"."+v.Type().Field(i).Name, v.Field(i))
				}
			}
			return
		case reflect.Slice:
			old := reflect.ValueOf(v.Interface()) // a copy, not the field
			v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
			changed(path + " (grown)")
			v.Set(old)
			restored(path)
			if v.Len() == 0 {
				// An empty list and none differ too.
				v.SetZero()
				if old.IsNil() {
					v.Set(reflect.MakeSlice(v.Type(), 0, 0))
				}
				changed(path + " (nil or empty)")
				v.Set(old)
			}
			for i := range v.Len() {
				walk(path+"["+strconv.Itoa(i)+"]", v.Index(i))
			}
			return
		case reflect.Map:
			wasNil := v.IsNil()
			if wasNil {
				v.Set(reflect.MakeMap(v.Type()))
				changed(path + " (empty)")
			}
			k := reflect.ValueOf("X-Fingerprint-Test")
			v.SetMapIndex(k, reflect.ValueOf("x"))
			changed(path + " (grown)")
			v.SetMapIndex(k, reflect.Value{})
			if wasNil {
				v.SetZero()
			}
		default:
			t.Fatalf("%s: a field of kind %s: teach the fingerprint and this test about it", path, v.Kind())
		}
		restored(path)
	}
	walk("Config", reflect.ValueOf(c).Elem())
	if seen < 100 {
		t.Errorf("only %d changes tried: the walk did not reach the whole configuration", seen)
	}
}

// largeConfig returns a configuration of apps apps of 10 domains each,
// with HSTS and a static answer, like the benchmark harness's.
func largeConfig(apps int) []byte {
	var sb strings.Builder
	sb.WriteString("listen: {http: \":80\", https: \":443\"}\ntls: {self_signed: [\"*.example.com\"]}\napps:\n")
	for a := range apps {
		sb.WriteString("  - name: app" + strconv.Itoa(a) + "\n    domains: [")
		for d := range 10 {
			if d > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("d" + strconv.Itoa(a*10+d) + ".example.com")
		}
		sb.WriteString("]\n    upstream: \"http://127.0.0.1:1\"\n    hsts: {max_age: 31536000}\n    respond:\n      - {path: /health, body: \"ok\\n\"}\n")
	}
	return []byte(sb.String())
}

// BenchmarkChecked100k measures Checked on 100 000 domains (10 000
// apps), the price of not validating a parsed configuration again.
func BenchmarkChecked100k(b *testing.B) {
	c, err := Parse(largeConfig(10000), YAML)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !c.Checked() {
			b.Fatal("not checked")
		}
	}
}

// BenchmarkValidate100k measures Validate on 100 000 domains (10 000
// apps), for comparison with BenchmarkChecked100k.
func BenchmarkValidate100k(b *testing.B) {
	c, err := Parse(largeConfig(10000), YAML)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := c.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLargeDocumentLines checks the errors of a document large enough for
// parse to collect its node tree before validating: each has the line it
// would have with the tree kept, found by parsing the document again.
func TestLargeDocumentLines(t *testing.T) {
	t.Parallel()
	doc := string(largeConfig(4000))
	for _, app := range []string{"app0", "app2000", "app3999"} {
		doc = strings.Replace(doc, "  - name: "+app+"\n", "  - name: "+app+"\n    http2: true\n", 1)
	}
	data := []byte(doc)
	if len(data) < largeDocument {
		t.Fatalf("the document is %d bytes, not large", len(data))
	}
	_, err := Parse(data, YAML)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) != 3 {
		t.Fatalf("Parse = %v, want 3 errors", err)
	}
	c := &Config{}
	c.setDefaults()
	root, errs := decodeDocument(data, YAML, c)
	c.normalize()
	v := &validator{root: root, errs: errs, decoded: len(errs)}
	c.validate(v)
	want := v.sorted()
	lines := strings.Split(doc, "\n")
	for i, e := range ve.Errors {
		if e.Path != want[i].Path || e.Line != want[i].Line {
			t.Errorf("error %d: %s at line %d, want %s at line %d", i, e.Path, e.Line, want[i].Path, want[i].Line)
		}
		if e.Line < 1 || !strings.Contains(lines[e.Line-1], "http2: true") {
			t.Errorf("%s: line %d is not the http2 key's", e.Path, e.Line)
		}
	}
}

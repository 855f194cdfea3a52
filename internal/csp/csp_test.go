package csp

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var parseTests = []struct {
	name    string
	in      string
	want    Policy
	wantErr bool
}{
	{
		name: "forcehttps default",
		in:   "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
		want: Policy{Directives: []Directive{
			{"default-src", []string{"'self'"}},
			{"base-uri", []string{"'self'"}},
			{"form-action", []string{"'self'"}},
			{"frame-ancestors", []string{"'none'"}},
			{"object-src", []string{"'none'"}},
		}},
	},
	{
		name: "names are case-insensitive, whitespace collapses",
		in:   " Script-SRC\t'self'   https://cdn.example.com ;;  UPGRADE-insecure-requests ;",
		want: Policy{Directives: []Directive{
			{"script-src", []string{"'self'", "https://cdn.example.com"}},
			{"upgrade-insecure-requests", nil},
		}},
	},
	{
		name: "first occurrence wins, duplicates listed once",
		in:   "script-src 'self'; SCRIPT-SRC *; script-src 'unsafe-inline'",
		want: Policy{
			Directives: []Directive{{"script-src", []string{"'self'"}}},
			Duplicates: []string{"script-src"},
		},
	},
	{
		name: "unknown directive kept and listed",
		in:   "scirpt-src 'self'",
		want: Policy{
			Directives: []Directive{{"scirpt-src", []string{"'self'"}}},
			Unknown:    []string{"scirpt-src"},
		},
	},
	{
		name: "invalid sources kept and listed",
		in:   "script-src 'self 'unsafe-foo' 'nonce-' 'sha256-abc=' self",
		want: Policy{
			Directives: []Directive{{"script-src", []string{"'self", "'unsafe-foo'", "'nonce-'", "'sha256-abc='", "self"}}},
			Invalid: []Source{
				{"script-src", "'self"}, {"script-src", "'unsafe-foo'"}, {"script-src", "'nonce-'"},
			},
		},
	},
	{
		name: "non-source directives are not checked as sources",
		in:   "sandbox allow-scripts; report-to csp-endpoint; trusted-types a#b",
		want: Policy{Directives: []Directive{
			{"sandbox", []string{"allow-scripts"}},
			{"report-to", []string{"csp-endpoint"}},
			{"trusted-types", []string{"a#b"}},
		}},
	},
	{name: "empty", in: "", wantErr: true},
	{name: "only separators", in: " ; ;\t", wantErr: true},
	{name: "bad name", in: "script_src 'self'", wantErr: true},
	{name: "non-ASCII name", in: "scrïpt-src 'self'", wantErr: true},
	{name: "control byte in value", in: "script-src 'self'\x00", wantErr: true},
	{name: "non-ASCII value", in: "img-src exämple.com", wantErr: true},
	{name: "comma inside a policy", in: "script-src a,b", wantErr: true},
	{name: "too long", in: "img-src " + strings.Repeat("a", MaxLen), wantErr: true},
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.in)
			if tt.wantErr {
				if err == nil || !errors.Is(err, ErrSyntax) {
					t.Fatalf("Parse(%q) error = %v, want one wrapping ErrSyntax", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      []string
		want    []string // policies, serialized
		wantErr bool
	}{
		{"one line", []string{"default-src 'self'"}, []string{"default-src 'self'"}, false},
		{"comma list", []string{"default-src 'self', img-src *"}, []string{"default-src 'self'", "img-src *"}, false},
		{"two lines", []string{"default-src 'self'", " , script-src 'none' ,"}, []string{"default-src 'self'", "script-src 'none'"}, false},
		{"nothing", []string{" , "}, nil, true},
		{"one bad policy spoils all", []string{"default-src 'self', sc@ript-src *"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ps, err := ParseHeader(tt.in)
			if tt.wantErr != (err != nil) {
				t.Fatalf("ParseHeader(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseHeader(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestEffective(t *testing.T) {
	t.Parallel()
	p, err := Parse("default-src 'self'; child-src blob:; script-src 'nonce-abc'; frame-ancestors 'none'")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		want     string // name of the governing directive, "" for none
		wantVals []string
	}{
		{"script-src", "script-src", []string{"'nonce-abc'"}},
		{"script-src-elem", "script-src", []string{"'nonce-abc'"}},
		{"worker-src", "child-src", []string{"blob:"}},
		{"frame-src", "child-src", []string{"blob:"}},
		{"img-src", "default-src", []string{"'self'"}},
		{"object-src", "default-src", []string{"'self'"}},
		{"frame-ancestors", "frame-ancestors", []string{"'none'"}},
		{"base-uri", "", nil}, // no fallback for document directives
	}
	for _, tt := range tests {
		d, ok := p.Effective(tt.name)
		if ok != (tt.want != "") || d.Name != tt.want || !cmp.Equal(d.Values, tt.wantVals, cmpopts.EquateEmpty()) {
			t.Errorf("Effective(%q) = %v, %v; want %q %q", tt.name, d, ok, tt.want, tt.wantVals)
		}
	}
	empty, _ := Parse("img-src 'self'")
	if d, ok := empty.Effective("script-src"); ok {
		t.Errorf("Effective(script-src) without script-src or default-src = %v, true; want false", d)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Kind
	}{
		{"'self'", KindKeyword},
		{"'SELF'", KindKeyword},
		{"'unsafe-inline'", KindKeyword},
		{"'wasm-unsafe-eval'", KindKeyword},
		{"'nonce-R4nd0m+/=='", KindNonce},
		{"'nonce-'", KindInvalid},
		{"'nonce-a b'", KindInvalid},
		{"'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='", KindHash},
		{"'sha1-abc'", KindInvalid},
		{"'sha384-a==='", KindInvalid},
		{"'self", KindInvalid},
		{"'", KindInvalid},
		{"''", KindInvalid},
		{"*", KindWildcard},
		{"https:", KindScheme},
		{"data:", KindScheme},
		{"1http:", KindInvalid},
		{"example.com", KindHost},
		{"*.example.com", KindHost},
		{"https://*.example.com:443/js/app.js", KindHost},
		{"http://example.com:*", KindHost},
		{"example.com.", KindHost},
		{"self", KindHost},
		{"https://", KindInvalid},
		{"exa_mple.com", KindInvalid},
		{"example..com", KindInvalid},
		{"example.com:", KindScheme}, // a scheme may contain dots
		{"example.com:/", KindInvalid},
		{"example.com:8x", KindInvalid},
		{"*example.com", KindInvalid},
		{"", KindInvalid},
	}
	for _, tt := range tests {
		if got := Classify(tt.in); got != tt.want {
			t.Errorf("Classify(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		keyword  string
		unquoted bool
		scheme   string
	}{
		{"'Unsafe-Inline'", "'unsafe-inline'", false, ""},
		{"unsafe-inline", "", true, ""},
		{"SELF", "", true, ""},
		{"HTTP:", "", false, "http"},
		{"http://cdn.example.com", "", false, "http"},
		{"cdn.example.com:80", "", false, ""},
		{"'nonce-abc'", "", false, ""},
	}
	for _, tt := range tests {
		if got := Keyword(tt.in); got != tt.keyword {
			t.Errorf("Keyword(%q) = %q, want %q", tt.in, got, tt.keyword)
		}
		if got := UnquotedKeyword(tt.in); got != tt.unquoted {
			t.Errorf("UnquotedKeyword(%q) = %v, want %v", tt.in, got, tt.unquoted)
		}
		if got := Scheme(tt.in); got != tt.scheme {
			t.Errorf("Scheme(%q) = %q, want %q", tt.in, got, tt.scheme)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		if len(tt.in) < 1024 {
			f.Add(tt.in)
		}
	}
	f.Add("default-src 'none', script-src 'self'")
	f.Fuzz(func(t *testing.T, in string) {
		p, err := Parse(in)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrSyntax", in, err)
			}
			if len(err.Error()) > 512 {
				t.Fatalf("Parse(%q) error message is %d bytes long", in, len(err.Error()))
			}
			return
		}
		seen := map[string]bool{}
		for _, d := range p.Directives {
			if d.Name != strings.ToLower(d.Name) || !validName(d.Name) || seen[d.Name] {
				t.Fatalf("Parse(%q): bad or repeated directive name %q", in, d.Name)
			}
			seen[d.Name] = true
			for _, v := range d.Values {
				if v == "" || strings.ContainsAny(v, " \t\r\n\f;,") {
					t.Fatalf("Parse(%q): bad value %q in %q", in, v, d.Name)
				}
			}
		}
		for _, s := range p.Invalid {
			if Classify(s.Expression) != KindInvalid {
				t.Fatalf("Parse(%q): %q listed as invalid but classified %v", in, s.Expression, Classify(s.Expression))
			}
		}
		// The canonical form parses back to the same directives.
		again, err := Parse(p.String())
		if err != nil {
			t.Fatalf("Parse(String()) of %q: %v", in, err)
		}
		if diff := cmp.Diff(p.Directives, again.Directives, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("Parse(String()) of %q mismatch (-first +second):\n%s", in, diff)
		}
		// A header with this one policy parses to the same policy, unless
		// the policy came with commas, which split it.
		if !strings.Contains(in, ",") {
			ps, err := ParseHeader([]string{in})
			if err != nil || len(ps) != 1 || !cmp.Equal(ps[0], p, cmpopts.EquateEmpty()) {
				t.Fatalf("ParseHeader([%q]) = %v, %v; want [%v]", in, ps, err, p)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	const v = "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
	for b.Loop() {
		if _, err := Parse(v); err != nil {
			b.Fatal(err)
		}
	}
}

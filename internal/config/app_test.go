package config

import (
	"strings"
	"testing"
)

func TestDecodeApp(t *testing.T) {
	tests := []struct {
		name, in, err string
	}{
		{"ok", `{"name":"a","domains":["a.example"],"upstream":"http://127.0.0.1:1"}`, ""},
		{"unknown key", `{"name":"a","domainz":["a.example"]}`, "domainz"},
		{"wrong type", `{"name":"a","domains":"a.example"}`, "domains"},
		{"not an object", `[1]`, ""},
		{"bad json", `{`, "json object"},
		{"injection", `{"name":"a"}],"admin":{"listen":":1"},"x":[{`, "json object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := DecodeApp([]byte(tt.in))
			if tt.name == "ok" {
				if err != nil || !a.ForceHTTPS || a.HSTS.MaxAge != 31536000 || a.Domains[0] != "a.example" {
					t.Fatalf("DecodeApp = %+v, %v", a, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("DecodeApp(%s) = nil error", tt.in)
			}
			if strings.Contains(err.Error(), "apps[0]") || !strings.Contains(strings.ToLower(err.Error()), tt.err) {
				t.Fatalf("error %q: want %q without apps[0]", err, tt.err)
			}
		})
	}
}

func TestRelativePath(t *testing.T) {
	for _, tt := range [][3]string{
		{"apps[3].domains[1]", "apps[3]", "domains[1]"},
		{"apps[3]", "apps[3]", ""},
		{"apps[30].name", "apps[3]", "apps[30].name"},
		{"tls", "apps[3]", "tls"},
	} {
		if got := RelativePath(tt[0], tt[1]); got != tt[2] {
			t.Errorf("RelativePath(%q, %q) = %q, want %q", tt[0], tt[1], got, tt[2])
		}
	}
}

// An edge with an admin listener or in a cluster may start without apps:
// the admin API adds them.
func TestNoAppsWithAdminOrCluster(t *testing.T) {
	for _, in := range []string{
		"tls: {self_signed: [localhost]}\nadmin: {listen: \"127.0.0.1:0\"}\n",
		"tls: {self_signed: [localhost]}\ncluster: {postgres: \"postgres://db/x\"}\n",
	} {
		if _, err := Parse([]byte(in), YAML); err != nil {
			t.Errorf("Parse(%q) = %v, want no error", in, err)
		}
	}
}

// FuzzDecodeApp: any input decodes or is refused with field errors whose
// paths are relative to the app, never a panic.
func FuzzDecodeApp(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","domains":["a.example"],"upstream":"http://127.0.0.1:1"}`,
		`{"name":"a","hsts":{"max_age":"x"},"respond":[{"path":"/h"}]}`,
		`]}, {"name":"b"`, `{`, `null`, `[]`, `"x"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		a, err := DecodeApp([]byte(in))
		if err == nil {
			if a == nil {
				t.Fatal("nil app without an error")
			}
			return
		}
		if strings.Contains(err.Error(), "apps[0]") {
			t.Fatalf("DecodeApp(%q): %v: a path not relative to the app", in, err)
		}
	})
}

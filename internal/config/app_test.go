package config

import (
	"fmt"
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

// TestValidateApp checks that one app is validated against others with
// the rules of the whole file, and that the same app in a whole
// configuration gets the same errors under its path.
func TestValidateApp(t *testing.T) {
	base := `listen: {http: ":80", https: ":443"}
tls: {self_signed: [localhost]}
apps:
  - {name: shop, domains: [shop.example, "*.shop.example"], upstream: "http://127.0.0.1:1"}
`
	tests := []struct {
		name, app string
		want      []string // "path: text in the message"; none: valid
	}{
		{"valid", `{"name":"blog","domains":["blog.example"],"upstream":"http://127.0.0.1:2"}`, nil},
		{"domain of another app", `{"name":"blog","domains":["blog.example","SHOP.example."],"upstream":"http://127.0.0.1:2"}`,
			[]string{`domains[1]: "SHOP.example." is also a domain of app "shop"`}},
		{"wildcard of another app", `{"name":"blog","domains":["*.shop.example"],"upstream":"http://127.0.0.1:2"}`,
			[]string{`domains[0]: "*.shop.example" is also a domain of app "shop"`}},
		{"under another app's wildcard", `{"name":"blog","domains":["a.shop.example"],"upstream":"http://127.0.0.1:2"}`, nil},
		{"listed twice", `{"name":"blog","domains":["b.example","B.example"],"upstream":"http://127.0.0.1:2"}`,
			[]string{`domains[1]: "B.example" is listed twice (domains[0])`}},
		{"listed twice in a long list", `{"name":"blog","domains":[` + longDomains(20) + `,"D3.example"],"upstream":"http://127.0.0.1:2"}`,
			[]string{`domains[20]: "D3.example" is listed twice (domains[3])`}},
		{"long list of another app's", `{"name":"blog","domains":[` + longDomains(20) + `,"shop.example"],"upstream":"http://127.0.0.1:2"}`,
			[]string{`domains[20]: "shop.example" is also a domain of app "shop"`}},
		{"bad wildcard", `{"name":"blog","domains":["a.*.example"],"upstream":"http://127.0.0.1:2"}`, []string{"domains[0]: "}},
		{"name taken", `{"name":"SHOP","domains":["b.example"],"upstream":"http://127.0.0.1:2"}`, []string{`name: "SHOP" is also the name of`}},
		{"bad upstream", `{"name":"blog","domains":["b.example"],"upstream":"127.0.0.1:2"}`, []string{"upstream: "}},
		{"bad policy", `{"name":"blog","domains":["b.example"],"upstream":"http://127.0.0.1:2","hsts":{"max_age":-1}}`, []string{"hsts.max_age: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(base), YAML)
			if err != nil {
				t.Fatal(err)
			}
			app, err := DecodeApp([]byte(tt.app))
			if err != nil {
				t.Fatal(err)
			}
			others := Others{
				Name: func(n string) (string, bool) {
					return `app "shop"`, strings.EqualFold(n, "shop")
				},
				Domain: func(key string) (string, string, bool) {
					return "shop", "", key == "shop.example" || key == "*.shop.example"
				},
			}
			alone := fieldMessages(c.ValidateApp(app, others), "")
			c.Apps = append(c.Apps, *app)
			whole := fieldMessages(c.Validate(), "apps[1].")
			if len(alone) != len(tt.want) {
				t.Fatalf("ValidateApp = %q, want %d errors like %q", alone, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(alone[i], w) && !strings.Contains(alone[i], w) {
					t.Errorf("ValidateApp error %d = %q, want %q", i, alone[i], w)
				}
			}
			// The whole file says the same, with the app's path and its
			// own reference to the other app.
			if len(whole) != len(alone) {
				t.Fatalf("Validate = %q, ValidateApp = %q: not the same errors", whole, alone)
			}
			for i := range whole {
				common := alone[i]
				if j := strings.LastIndex(common, " of "); j >= 0 {
					common = common[:j]
				}
				if !strings.HasPrefix(whole[i], common) {
					t.Errorf("Validate error %q, ValidateApp %q", whole[i], alone[i])
				}
			}
		})
	}
}

// fieldMessages returns "path: message" for each field error of err,
// with prefix removed from the paths; errors on other paths are kept
// whole.
func fieldMessages(err error, prefix string) []string {
	var out []string
	if err == nil {
		return out
	}
	for _, fe := range err.(*ValidationError).Errors {
		out = append(out, strings.TrimPrefix(fe.Path, prefix)+": "+fe.Message)
	}
	return out
}

// longDomains returns n quoted domains d0.example ... for a JSON list
// longer than the lists searched without a map.
func longDomains(n int) string {
	var list []string
	for i := range n {
		list = append(list, fmt.Sprintf("%q", fmt.Sprintf("d%d.example", i)))
	}
	return strings.Join(list, ",")
}

package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

func TestAPIApps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.start(t, newClock())
	const shop = `{"name":"shop","domains":["shop.api.test"],"upstream":"http://127.0.0.1:9"}`

	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string // in the body
	}{
		{"create", "POST", "/api/apps", shop, 201, `"origin":"api"`},
		{"create again", "POST", "/api/apps", shop, 409, "exists already"},
		{"file app read-only", "PUT", "/api/apps/good", shop, 409, "configuration file"},
		{"file app delete", "DELETE", "/api/apps/good", "", 409, "configuration file"},
		{"domain of a file app", "POST", "/api/apps", `{"name":"dup","domains":["x.api.test","good.test"],"upstream":"http://127.0.0.1:9"}`, 422,
			`domains[1]: \"good.test\" is also a domain of app \"good\" (from the configuration file)`},
		{"domain of an API app", "POST", "/api/apps", `{"name":"a-dup","domains":["shop.api.test"],"upstream":"http://127.0.0.1:9"}`, 422,
			`domains[0]: \"shop.api.test\" is also a domain of app \"shop\" (created through the API)`},
		{"bad upstream", "POST", "/api/apps", `{"name":"up","domains":["up.api.test"],"upstream":"ftp://x"}`, 422, `"path":"upstream"`},
		{"unknown key", "POST", "/api/apps", `{"name":"k","domainz":["k.api.test"]}`, 422, `"path":"domainz"`},
		{"no name", "POST", "/api/apps", `{"domains":["n.api.test"]}`, 422, `"path":"name"`},
		{"bad JSON", "POST", "/api/apps", `{`, 400, "invalid JSON"},
		{"add domain", "POST", "/api/apps/shop/domains", `{"domain":"www.api.test"}`, 200, `"www.api.test"`},
		{"add taken domain", "POST", "/api/apps/shop/domains", `{"domain":"bad.test"}`, 422, `"path":"domains[2]"`},
		{"add domain to file app", "POST", "/api/apps/good/domains", `{"domain":"g.api.test"}`, 409, "configuration file"},
		{"remove domain", "DELETE", "/api/apps/shop/domains/www.api.test", "", 200, `"domains": [` + "\n" + `    "shop.api.test"` + "\n  ]"},
		{"remove unknown domain", "DELETE", "/api/apps/shop/domains/nope.api.test", "", 404, "no such domain"},
		{"replace", "PUT", "/api/apps/shop", `{"domains":["shop.api.test"],"upstream":"http://127.0.0.1:9","force_https":false}`, 200, `"force_https": false`},
		{"rename refused", "PUT", "/api/apps/shop", `{"name":"other","domains":["shop.api.test"],"upstream":"http://127.0.0.1:9"}`, 422, "cannot be renamed"},
		{"replace unknown", "PUT", "/api/apps/nope", shop, 404, "no app named"},
		{"list by domain", "GET", "/api/apps?domain=SHOP.api.test.", "", 200, `"name": "shop"`},
		{"delete", "DELETE", "/api/apps/shop", "", 200, `"deleted": "shop"`},
		{"delete again", "DELETE", "/api/apps/shop", "", 404, "no app named"},
		{"bad limit", "GET", "/api/apps?limit=0", "", 400, "limit"},
	}
	for _, tt := range tests {
		status, body := in.api(tt.method, tt.path, tt.body)
		raw := fmt.Sprint(body)
		js := string(mustJSON(body))
		if status != tt.status || (!strings.Contains(js, tt.want) && !strings.Contains(indentJSON(body), tt.want)) {
			t.Errorf("%s: %s %s = %d %s, want %d with %s", tt.name, tt.method, tt.path, status, raw, tt.status, tt.want)
		}
	}
}

func TestAPIAppsPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.start(t, newClock())
	for i := range 3 {
		body := fmt.Sprintf(`{"name":"p%d","domains":["p%d.api.test"],"upstream":"http://127.0.0.1:9","force_https":false}`, i, i)
		if status, out := in.api("POST", "/api/apps", body); status != 201 {
			t.Fatalf("create p%d = %d %v", i, status, out)
		}
	}
	// bad, good, legacy, p0, p1, p2 by name.
	var names []string
	after := ""
	for range 10 {
		status, out := in.api("GET", "/api/apps?limit=4&after="+after, "")
		if status != 200 {
			t.Fatalf("list = %d %v", status, out)
		}
		for _, v := range out["apps"].([]any) {
			names = append(names, v.(map[string]any)["name"].(string))
		}
		next, ok := out["next"].(string)
		if !ok {
			break
		}
		after = next
	}
	if got := strings.Join(names, ","); got != "bad,good,legacy,p0,p1,p2" {
		t.Errorf("pages = %s", got)
	}
}

func indentJSON(v any) string {
	data, _ := jsonIndent(v)
	return string(data)
}

func jsonIndent(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }

// An app created through the API is served at once, HTTP redirected to
// HTTPS, and again after a restart on the state file.
func TestAPIAppServedAndKept(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := newClock()
	first := e.start(t, c)
	body := `{"name":"shop","domains":["shop.api.test"],"upstream":"` + backendOf(t, first) + `","hsts":{"max_age":300}}`
	if status, out := first.api("POST", "/api/apps", body); status != 201 {
		t.Fatalf("create = %d %v", status, out)
	}
	check := func(in *inst) {
		t.Helper()
		if resp := in.fetch(e, "http://shop.api.test/x"); resp.StatusCode != 301 || !strings.HasPrefix(resp.Header.Get("Location"), "https://shop.api.test:") {
			t.Errorf("http://shop.api.test/x = %d %q, want 301 to https", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp := in.fetch(e, "https://shop.api.test/x")
		if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") != "max-age=300" {
			t.Errorf("https://shop.api.test/x = %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
		}
	}
	check(first)
	first.stop()
	second := e.start(t, c)
	check(second)
	if v := second.app("shop"); v.Origin != OriginAPI {
		t.Errorf("origin after restart = %q", v.Origin)
	}
	if status, out := second.api("DELETE", "/api/apps/shop", ""); status != 200 || out["warning"] == nil {
		t.Fatalf("delete = %d %v, want a warning about HSTS sent", status, out)
	}
	if resp := second.fetch(e, "http://shop.api.test/x"); resp.StatusCode != 404 && resp.StatusCode != 421 {
		t.Errorf("after delete: %d, want 404 or 421", resp.StatusCode)
	}
}

// backendOf returns the upstream of the file's app "good".
func backendOf(t *testing.T, in *inst) string {
	t.Helper()
	return in.srv.Config().Apps[0].Upstream
}

// An edge whose file has no app serves the apps the API creates, and
// answers unknown hosts as before.
func TestAPIAppsWithoutFileApps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	testutil.WriteFile(t, e.cfgFile, []byte(`listen: {http: "127.0.0.1:0", https: "127.0.0.1:0"}
tls:
  certificates: [{cert_file: good.pem, key_file: good.key}]
admin: {listen: "127.0.0.1:0"}
access_log: {output: "off"}
timeouts: {shutdown: 5s}
`))
	in := e.start(t, newClock())
	if resp := in.fetch(e, "http://shop.api.test/"); resp.StatusCode != 404 && resp.StatusCode != 421 {
		t.Fatalf("before the create: %d, want 404 or 421", resp.StatusCode)
	}
	body := `{"name":"shop","domains":["shop.api.test"],"upstream":"http://127.0.0.1:9","force_https":true}`
	if status, out := in.api("POST", "/api/apps", body); status != 201 {
		t.Fatalf("create = %d %v", status, out)
	}
	if resp := in.fetch(e, "http://shop.api.test/"); resp.StatusCode != 301 {
		t.Errorf("after the create: %d, want 301", resp.StatusCode)
	}
	if status, out := in.api("DELETE", "/api/apps/shop", ""); status != 200 {
		t.Fatalf("delete of the last app = %d %v", status, out)
	}
}

// Changes of one app through the API are applied to that app alone: the
// edge counts them as applied changes, never as reloads, and serves
// them at once.
func TestAPIChangesApplyOneApp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.start(t, newClock())
	steps := []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/api/apps", `{"name":"shop","domains":["shop.api.test"],"upstream":"http://127.0.0.1:9","force_https":false}`, 201},
		{"POST", "/api/apps/shop/domains", `{"domain":"www.api.test"}`, 200},
		{"POST", "/api/apps/shop/domains", `{"domain":"good.test"}`, 422}, // refused: not applied
		{"POST", "/api/apps/shop/enable", `{"force":true}`, 200},
		{"DELETE", "/api/apps/shop/domains/www.api.test", "", 200},
		{"POST", "/api/apps/good/disable", `{}`, 200},
	}
	for _, s := range steps {
		if status, out := in.api(s.method, s.path, s.body); status != s.status {
			t.Fatalf("%s %s = %d %v, want %d", s.method, s.path, status, out, s.status)
		}
	}
	if resp := in.fetch(e, "http://shop.api.test/x"); resp.StatusCode != 301 {
		t.Errorf("http://shop.api.test/x = %d, want 301 after the enable", resp.StatusCode)
	}
	if resp := in.fetch(e, "http://www.api.test/x"); resp.StatusCode != 404 {
		t.Errorf("http://www.api.test/x = %d, want 404 after the domain's removal", resp.StatusCode)
	}
	resp, err := http.Get("http://" + in.addrs.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	m := string(data)
	for _, want := range []string{
		`forcehttps_edge_config_reloads_total{result="success"} 0`,
		"forcehttps_edge_apply_seconds_count 5",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// A state from another replica where a domain moved between two apps is
// applied, whatever the order of the apps, and so are many changes at
// once.
func TestApplyRemoteMoves(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.start(t, newClock())
	for _, body := range []string{
		`{"name":"zz","domains":["x.api.test","z.api.test"],"upstream":"http://127.0.0.1:9","force_https":false}`,
		`{"name":"aa","domains":["a.api.test"],"upstream":"http://127.0.0.1:9","force_https":false}`,
	} {
		if status, out := in.api("POST", "/api/apps", body); status != 201 {
			t.Fatalf("create = %d %v", status, out)
		}
	}
	tests := []struct {
		name  string
		apps  map[string]string // new definitions; "" deletes
		serve map[string]string // host -> the app expected ("" none)
	}{
		{"move to an app before", map[string]string{
			"zz": `{"domains":["z.api.test"],"upstream":"http://127.0.0.1:9","force_https":false}`,
			"aa": `{"domains":["a.api.test","x.api.test"],"upstream":"http://127.0.0.1:9","force_https":false}`,
		}, map[string]string{"x.api.test": "aa", "z.api.test": "zz"}},
		{"swap", map[string]string{
			"zz": `{"domains":["a.api.test"],"upstream":"http://127.0.0.1:9","force_https":false}`,
			"aa": `{"domains":["z.api.test","x.api.test"],"upstream":"http://127.0.0.1:9","force_https":false}`,
		}, map[string]string{"a.api.test": "zz", "z.api.test": "aa"}},
		{"delete one, create many", func() map[string]string {
			m := map[string]string{"zz": ""}
			for i := range 70 {
				m[fmt.Sprintf("n%02d", i)] = fmt.Sprintf(`{"domains":["n%d.api.test"],"upstream":"http://127.0.0.1:9","force_https":false}`, i)
			}
			return m
		}(), map[string]string{"a.api.test": "", "n69.api.test": "n69", "x.api.test": "aa"}},
	}
	for _, tt := range tests {
		st := in.adm.State()
		for name, def := range tt.apps {
			if def == "" {
				delete(st.Apps, name)
				continue
			}
			s := st.app(name)
			s.App = json.RawMessage(def)
		}
		if err := in.adm.Apply(context.Background(), Snapshot{State: st, Version: in.adm.Version() + 1}); err != nil {
			t.Fatalf("%s: Apply: %v", tt.name, err)
		}
		for host, app := range tt.serve {
			status, _ := in.api("GET", "/api/apps?domain="+host, "")
			v, ok := in.adm.App(app)
			if app == "" {
				if resp := in.fetch(e, "http://"+host+"/"); resp.StatusCode != 404 {
					t.Errorf("%s: %s = %d, want 404", tt.name, host, resp.StatusCode)
				}
				continue
			}
			if status != 200 || !ok || !slices.Contains(v.Domains, host) {
				t.Errorf("%s: %s is not a domain of %s: %v", tt.name, host, app, v.Domains)
			}
			if resp := in.fetch(e, "http://"+host+"/"); resp.StatusCode != 502 && resp.StatusCode != 200 {
				t.Errorf("%s: %s = %d, want it served (proxied)", tt.name, host, resp.StatusCode)
			}
		}
	}
}

package admin

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAPIAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.start(t, newClock())
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"missing", "", 401},
		{"wrong same length", "Bearer " + strings.Repeat("x", len(e.token)), 401},
		{"wrong shorter", "Bearer x", 401},
		{"wrong longer", "Bearer " + e.token + "x", 401},
		{"prefix of the token", "Bearer " + e.token[:len(e.token)-1], 401},
		{"basic scheme", "Basic " + e.token, 401},
		{"empty bearer", "Bearer ", 401},
		{"right", "Bearer " + e.token, 200},
		{"right, scheme in lower case", "bearer " + e.token, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{}
			if tt.header != "" {
				hdr.Set("Authorization", tt.header)
			}
			req, _ := http.NewRequest("GET", "http://"+in.addrs.Admin+"/api/apps", nil)
			req.Header = hdr
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("GET /api/apps with %q = %d, want %d", tt.header, resp.StatusCode, tt.want)
			}
			if tt.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q, want Bearer", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestValidToken(t *testing.T) {
	t.Parallel()
	a, err := New(Options{Token: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]bool{"s3cret": true, "s3cre": false, "s3cret ": false, "": false, "S3CRET": false} {
		if got := a.validToken(in); got != want {
			t.Errorf("validToken(%q) = %v, want %v", in, got, want)
		}
	}
	if _, err := New(Options{}); err != ErrNoToken {
		t.Errorf("New without a token = %v, want ErrNoToken", err)
	}
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.start(t, newClock())
	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"bad JSON", "POST", "/api/apps/good/enable", `{"force":`, 400},
		{"wrong type", "POST", "/api/apps/good/enable", `{"force":"yes"}`, 400},
		{"unknown field", "POST", "/api/apps/good/enable", `{"forse":true}`, 400},
		{"two values", "POST", "/api/apps/good/disable", `{} {}`, 400},
		{"bad drain", "POST", "/api/apps/good/disable", `{"drain":"soon"}`, 400},
		{"negative drain", "POST", "/api/apps/good/disable", `{"drain":"-1h"}`, 400},
		{"unknown app", "GET", "/api/apps/nope", ``, 404},
		{"unknown app enable", "POST", "/api/apps/nope/enable", `{}`, 404},
		{"unknown action", "POST", "/api/apps/good/explode", `{}`, 404},
		{"unknown endpoint", "GET", "/api/other", ``, 404},
		{"wrong method list", "DELETE", "/api/apps", ``, 405},
		{"wrong method enable", "GET", "/api/apps/good/enable", ``, 405},
		{"wrong method app", "POST", "/api/apps/good", ``, 405},
		{"body too large", "PATCH", "/api/apps/good", `{"hsts":{"max_age":` + strings.Repeat("1", maxBodyBytes) + `}}`, 413},
		{"invalid policy: preload", "PATCH", "/api/apps/legacy", `{"hsts":{"preload":true}}`, 400},
		{"invalid policy: status", "PATCH", "/api/apps/good", `{"redirect":{"status":200}}`, 400},
		{"invalid policy: max-age 0", "PATCH", "/api/apps/good", `{"hsts":{"max_age":0}}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := in.api(tt.method, tt.path, tt.body)
			if status != tt.want {
				t.Errorf("%s %s %.40q = %d %v, want %d", tt.method, tt.path, tt.body, status, body, tt.want)
			}
			msg, _ := body["error"].(string)
			if msg == "" || len(body) != 1 {
				t.Errorf("%s %s: body %v, want only an error", tt.method, tt.path, body)
			}
			if strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, e.dir) {
				t.Errorf("%s %s: error %q leaks an internal detail", tt.method, tt.path, msg)
			}
		})
	}
	// Nothing was changed by the refused requests.
	if _, err := os.Stat(e.stateFile); !os.IsNotExist(err) {
		t.Errorf("state file after refused changes: %v, want none", err)
	}
}

func TestEnablePreflight(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.start(t, newClock())

	status, body := in.api("POST", "/api/apps/bad/enable", `{}`)
	if status != http.StatusConflict {
		t.Fatalf("enable bad = %d %v, want 409", status, body)
	}
	data, _ := json.Marshal(body["preflight"])
	var report Preflight
	if err := json.Unmarshal(data, &report); err != nil {
		t.Fatal(err)
	}
	if report.OK || len(report.Domains) != 2 {
		t.Fatalf("report = %+v, want a failure on 2 domains", report)
	}
	if d := report.Domains[0]; d.Domain != "bad.test" || d.OK || !strings.Contains(d.Detail, "certificate") {
		t.Errorf("bad.test check = %+v, want a certificate failure", d)
	}
	if d := report.Domains[1]; d.Domain != "*.wild.test" || !d.Skipped {
		t.Errorf("*.wild.test check = %+v, want skipped", d)
	}
	if in.app("bad").ForceHTTPS {
		t.Error("bad has Force HTTPS after a refused enable")
	}
	if resp := in.fetch(e, "http://bad.test/"); resp.StatusCode != 200 {
		t.Errorf("http://bad.test/ after a refused enable = %d, want 200", resp.StatusCode)
	}

	// Before: plain HTTP is served.
	if resp := in.fetch(e, "http://good.test/x"); resp.StatusCode != 200 {
		t.Errorf("http://good.test/x before enable = %d, want 200", resp.StatusCode)
	}
	status, body = in.api("POST", "/api/apps/good/enable", `{}`)
	if status != 200 || body["force_https"] != true {
		t.Fatalf("enable good = %d %v, want 200 with force_https", status, body)
	}
	pre, _ := body["preflight"].(map[string]any)
	if pre["ok"] != true {
		t.Errorf("enable good: preflight %v, want ok", pre)
	}
	resp := in.fetch(e, "http://good.test/x")
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "https://good.test:"+portOf(in.addrs.HTTPS)+"/x" {
		t.Errorf("http://good.test/x after enable = %d %q, want 301 to https", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := in.fetch(e, "https://good.test/").Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Errorf("HSTS after enable = %q, want max-age=31536000", got)
	}

	// force skips the preflight.
	status, body = in.api("POST", "/api/apps/bad/enable", `{"force":true}`)
	if status != 200 || body["force_https"] != true || body["preflight"] != nil {
		t.Errorf("enable bad with force = %d %v, want 200, no preflight", status, body)
	}
}

func portOf(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }

func TestRampStages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := newClock()
	in := e.start(t, c)
	if status, body := in.api("POST", "/api/apps/good/enable", `{"ramp":true}`); status != 200 {
		t.Fatalf("enable = %d %v", status, body)
	}
	tests := []struct {
		after  time.Duration
		header string
		state  string
		stage  int
	}{
		{0, "max-age=300", HSTSRamping, 1},
		{23 * time.Hour, "max-age=300", HSTSRamping, 1},
		{2 * 24 * time.Hour, "max-age=604800", HSTSRamping, 2},
		{10 * 24 * time.Hour, "max-age=2592000", HSTSRamping, 3},
		{40 * 24 * time.Hour, "max-age=31536000", HSTSOn, 4},
	}
	start := c.Now()
	for _, tt := range tests {
		t.Run(tt.after.String(), func(t *testing.T) {
			c.mu.Lock()
			c.t = start.Add(tt.after)
			c.mu.Unlock()
			if got := in.fetch(e, "https://good.test/").Header.Get("Strict-Transport-Security"); got != tt.header {
				t.Errorf("HSTS %s after enable = %q, want %q", tt.after, got, tt.header)
			}
			h := in.app("good").HSTS
			if h.State != tt.state || h.Stage != tt.stage || fmt.Sprint("max-age=", h.EffectiveMaxAge) != tt.header {
				t.Errorf("API HSTS %s after enable = %+v, want %s stage %d, %s", tt.after, h, tt.state, tt.stage, tt.header)
			}
		})
	}
}

func TestSafeDisable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := newClock()
	in := e.start(t, c)
	if status, body := in.api("POST", "/api/apps/good/enable", `{}`); status != 200 {
		t.Fatalf("enable = %d %v", status, body)
	}
	disabledAt := c.Now()
	status, body := in.api("POST", "/api/apps/good/disable", ``)
	if status != 200 {
		t.Fatalf("disable = %d %v", status, body)
	}
	msg, _ := body["message"].(string)
	if !strings.Contains(msg, "max-age=0") || !strings.Contains(msg, "HTTPS still works") {
		t.Errorf("disable message = %q, want it to explain max-age=0", msg)
	}
	v := in.app("good")
	wantUntil := disabledAt.Add(365 * 24 * time.Hour)
	if v.ForceHTTPS || v.HSTS.State != HSTSRevoking || v.DrainUntil == nil || !v.DrainUntil.Equal(wantUntil) {
		t.Errorf("after disable: %+v, drain until %v; want off, revoking until %v", v.HSTS, v.DrainUntil, wantUntil)
	}
	if resp := in.fetch(e, "http://good.test/"); resp.StatusCode != 200 {
		t.Errorf("http://good.test/ after disable = %d, want 200 (no redirect)", resp.StatusCode)
	}
	resp := in.fetch(e, "https://good.test/")
	if got := resp.Header.Get("Strict-Transport-Security"); resp.StatusCode != 200 || got != "max-age=0" {
		t.Errorf("https://good.test/ during the drain = %d, HSTS %q; want 200, max-age=0", resp.StatusCode, got)
	}
	if in.adm.Tick(t.Context()) {
		t.Error("Tick rebuilt before the drain ended")
	}
	c.Add(365*24*time.Hour + time.Second)
	if !in.adm.Tick(t.Context()) {
		t.Error("Tick did not rebuild after the drain ended")
	}
	resp = in.fetch(e, "https://good.test/")
	if got := resp.Header.Values("Strict-Transport-Security"); resp.StatusCode != 200 || len(got) != 0 {
		t.Errorf("https://good.test/ after the drain = %d, HSTS %q; want 200, none", resp.StatusCode, got)
	}
	if v := in.app("good"); v.HSTS.State != HSTSOff || v.DrainUntil != nil {
		t.Errorf("after the drain: %+v %v, want off", v.HSTS, v.DrainUntil)
	}

	// A drain given in the request; legacy has Force HTTPS from the file.
	status, body = in.api("POST", "/api/apps/legacy/disable", `{"drain":"2h"}`)
	if status != 200 || body["hsts"].(map[string]any)["state"] != HSTSRevoking {
		t.Fatalf("disable legacy = %d %v", status, body)
	}
	if v := in.app("legacy"); !v.DrainUntil.Equal(c.Now().Add(2 * time.Hour)) {
		t.Errorf("legacy drain until %v, want now+2h", v.DrainUntil)
	}
	// An app that never sent HSTS has nothing to drain.
	status, body = in.api("POST", "/api/apps/bad/disable", `{}`)
	if status != 200 || body["hsts"].(map[string]any)["state"] != HSTSOff || body["drain_until"] != nil {
		t.Errorf("disable bad (never sent HSTS) = %d %v, want off without drain", status, body)
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := newClock()
	first := e.start(t, c)
	if status, body := first.api("POST", "/api/apps/good/enable", `{"ramp":true}`); status != 200 {
		t.Fatalf("enable = %d %v", status, body)
	}
	if status, body := first.api("PATCH", "/api/apps/good", `{"redirect":{"temporary":true}}`); status != 200 {
		t.Fatalf("patch = %d %v", status, body)
	}
	want := first.app("good")
	first.stop()

	c.Add(3 * 24 * time.Hour)
	second := e.start(t, c)
	got := second.app("good")
	if !got.ForceHTTPS || got.EnabledAt == nil || !got.EnabledAt.Equal(*want.EnabledAt) || !got.Redirect.Temporary {
		t.Errorf("after restart: %+v, want %+v", got, want)
	}
	if got.HSTS.Stage != 2 {
		t.Errorf("after restart 3 days later: HSTS stage %d, want 2", got.HSTS.Stage)
	}
	if resp := second.fetch(e, "http://good.test/"); resp.StatusCode != 302 {
		t.Errorf("http://good.test/ after restart = %d, want 302", resp.StatusCode)
	}
	if h := second.fetch(e, "https://good.test/").Header.Get("Strict-Transport-Security"); h != "max-age=604800" {
		t.Errorf("HSTS after restart = %q, want max-age=604800", h)
	}
}

func TestConcurrentToggles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.start(t, newClock())
	const workers, rounds = 6, 5
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				if (w+r)%2 == 0 {
					in.api("POST", "/api/apps/good/enable", `{"force":true}`)
				} else {
					in.api("POST", "/api/apps/good/disable", `{"drain":"1h"}`)
				}
			}
		}()
	}
	wg.Wait()
	st, err := LoadState(e.stateFile)
	if err != nil {
		t.Fatal(err)
	}
	api := in.app("good")
	if diff := cmp.Diff(api.ForceHTTPS, *st.Apps["good"].ForceHTTPS); diff != "" {
		t.Errorf("force_https: API vs state file mismatch (-api +file):\n%s", diff)
	}
	if diff := cmp.Diff(in.adm.State(), st); diff != "" {
		t.Errorf("state in memory vs file mismatch (-memory +file):\n%s", diff)
	}
	want := 200
	if api.ForceHTTPS {
		want = 301
	}
	if resp := in.fetch(e, "http://good.test/"); resp.StatusCode != want {
		t.Errorf("http://good.test/ = %d, want %d (force_https %v)", resp.StatusCode, want, api.ForceHTTPS)
	}
}

func TestHostAndOrigin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.start(t, newClock())
	auth := "Bearer " + e.token
	tests := []struct {
		name, method, path, host, origin string
		want                             int
	}{
		{"listener address", "GET", "/api/apps", "", "", 200},
		{"localhost", "GET", "/api/apps", "localhost:1", "", 200},
		{"ipv6 loopback", "GET", "/api/apps", "[::1]:9090", "", 200},
		{"allowed host", "GET", "/api/apps", "admin.internal:9090", "", 200},
		{"rebinding", "GET", "/api/apps", "evil.example:9090", "", 421},
		{"rebinding without port", "GET", "/", "evil.example", "", 421},
		{"rebinding suffix", "GET", "/api/apps", "localhost.evil.example", "", 421},
		{"cross origin post", "POST", "/api/apps/good/disable", "", "http://evil.example", 403},
		{"null origin post", "POST", "/api/apps/good/disable", "", "null", 403},
		{"same origin post", "POST", "/api/apps/good/disable", "", "http://" + in.addrs.Admin, 200},
		{"cross origin get is read only", "GET", "/api/apps", "", "http://evil.example", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{"Authorization": {auth}}
			if tt.host != "" {
				hdr.Set("Host", tt.host)
			}
			if tt.origin != "" {
				hdr.Set("Origin", tt.origin)
			}
			if status, body := in.apiWith(tt.method, tt.path, "", hdr); status != tt.want {
				t.Errorf("%s %s Host %q Origin %q = %d %v, want %d", tt.method, tt.path, tt.host, tt.origin, status, body, tt.want)
			}
		})
	}
}

func FuzzHostAllowed(f *testing.F) {
	for _, s := range []string{"localhost:9090", "127.0.0.1", "[::1]:1", "evil.example", "admin.internal:1", "[::1", "LOCALHOST.:80", ""} {
		f.Add(s, "http://"+s)
	}
	a, err := New(Options{Token: "t", AllowedHosts: []string{"admin.internal"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, host, origin string) {
		if a.hostAllowed(host) {
			h := strings.ToLower(host)
			ok := false
			for _, want := range []string{"localhost", "127.0.0.1", "::1", "admin.internal"} {
				if strings.Contains(h, want) {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("hostAllowed(%q) = true for a host that is none of the allowed ones", host)
			}
		}
		r, err := http.NewRequest("POST", "http://x/", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Host = host
		r.Header.Set("Origin", origin)
		// The scheme is case-insensitive (RFC 3986 §3.1): "httP://" is
		// "http://".
		if sameOrigin(r) && !(len(origin) > 7 && strings.EqualFold(origin[:7], "http://") && strings.EqualFold(origin[7:], host)) {
			t.Fatalf("sameOrigin(Host %q, Origin %q) = true", host, origin)
		}
	})
}

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host   string
		tls    bool
		origin []string
		want   bool
	}{
		{"localhost:9090", false, nil, true},
		{"localhost:9090", false, []string{"http://localhost:9090"}, true},
		{"localhost:9090", false, []string{"HTTP://LocalHost:9090"}, true},
		{"localhost:9090", true, []string{"https://localhost:9090"}, true},
		{"localhost:9090", true, []string{"http://localhost:9090"}, false},
		{"localhost:9090", false, []string{"https://localhost:9090"}, false},
		{"localhost:9090", false, []string{"http://localhost:9090#"}, false},
		{"localhost:9090", false, []string{"http://localhost:9090?"}, false},
		{"localhost:9090", false, []string{"http://localhost:9090/"}, false},
		{"localhost:9090", false, []string{"http://@localhost:9090"}, false},
		{"localhost:9090", false, []string{"http://localhost"}, false},
		{"localhost:9090", false, []string{"null"}, false},
		{"localhost:9090", false, []string{"http://localhost:9090", "http://localhost:9090"}, false},
		{"", false, []string{"http://"}, false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "http://x/", nil)
		r.Host = tt.host
		if !tt.tls {
			r.TLS = nil
		}
		if tt.tls && r.TLS == nil {
			r.TLS = &tls.ConnectionState{}
		}
		r.Header["Origin"] = tt.origin
		if got := sameOrigin(r); got != tt.want {
			t.Errorf("sameOrigin(Host %q, tls %v, Origin %q) = %v, want %v", tt.host, tt.tls, tt.origin, got, tt.want)
		}
	}
}

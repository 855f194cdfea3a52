package admin

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/config"
)

// reloadWith rewrites the configuration file with edit applied and
// reloads the edge with it.
func (in *inst) reloadWith(e *env, edit func(string) string) {
	in.t.Helper()
	data, err := os.ReadFile(e.cfgFile)
	if err != nil {
		in.t.Fatal(err)
	}
	next := edit(string(data))
	if next == string(data) {
		in.t.Fatal("reloadWith: the edit changed nothing")
	}
	if err := os.WriteFile(e.cfgFile, []byte(next), 0o600); err != nil {
		in.t.Fatal(err)
	}
	cfg, err := config.Load(e.cfgFile)
	if err != nil {
		in.t.Fatal(err)
	}
	if err := in.srv.Reload(in.t.Context(), cfg); err != nil {
		in.t.Fatal(err)
	}
}

// forceBad edits the environment's configuration file so that it turns
// Force HTTPS on for bad. A file that forces HTTPS must name a certificate
// for each domain (config refuses it otherwise): self-signed ones, which
// the preflight still refuses, as browsers would.
func forceBad(s string) string {
	s = strings.Replace(s, "    force_https: false\n  - name: legacy", "    force_https: true\n  - name: legacy", 1)
	return strings.Replace(s, "key_file: good.key}]\n", "key_file: good.key}]\n  self_signed: [bad.test, \"*.wild.test\"]\n", 1)
}

func TestSourcesAndReload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.start(t, newClock())
	for key, src := range in.app("bad").Sources {
		if src != (FieldSource{From: SourceFile}) {
			t.Errorf("bad %s before any change: %+v, want from the file", key, src)
		}
	}
	if len(in.app("bad").Sources) != len(overrideFields) {
		t.Errorf("sources = %v, want one per key the API can change", in.app("bad").Sources)
	}

	// The path: disabled through the API, then force_https: true
	// in the file and a reload. The API's value stays, visibly, and the
	// log says so.
	if status, body := in.api("POST", "/api/apps/bad/disable", `{}`); status != 200 {
		t.Fatalf("disable bad = %d %v", status, body)
	}
	if status, body := in.api("PATCH", "/api/apps/good", `{"hsts":{"max_age":600}}`); status != 200 {
		t.Fatalf("patch good = %d %v", status, body)
	}
	in.reloadWith(e, func(s string) string {
		return forceBad(s)
	})
	v := in.app("bad")
	if v.ForceHTTPS {
		t.Error("bad: Force HTTPS on after the reload, want the API's off")
	}
	if got, want := v.Sources["force_https"], (FieldSource{From: SourceAPI, File: true}); got != want {
		t.Errorf("bad force_https source = %+v, want %+v", got, want)
	}
	if got, want := in.app("good").Sources["hsts.max_age"], (FieldSource{From: SourceAPI, File: float64(31536000)}); got != want {
		t.Errorf("good hsts.max_age source = %+v, want %+v", got, want)
	}
	logs := in.logs.String()
	if !strings.Contains(logs, "the configuration file changed a value that a change made through the admin API overrides") ||
		!strings.Contains(logs, "app=bad key=force_https file_before=false file=true effective=false") {
		t.Errorf("log after the reload:\n%s\nwant a warning that the file's force_https is overridden", logs)
	}
	if strings.Contains(logs, "app=good key=hsts.max_age file_before") {
		t.Errorf("log after the reload:\n%s\nwant no warning for good, whose max_age the file did not change", logs)
	}

	// At the next start, every override that differs from the file is
	// logged once.
	in.stop()
	again := e.start(t, newClock())
	logs = again.logs.String()
	for _, want := range []string{"app=bad key=force_https file=true effective=false", "app=good key=hsts.max_age file=31536000 effective=600"} {
		if !strings.Contains(logs, "a change made through the admin API overrides the configuration file") || !strings.Contains(logs, want) {
			t.Errorf("log at start:\n%s\nwant the override %q", logs, want)
		}
	}
}

func TestReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := newClock()
	in := e.start(t, c)

	// Nothing to reset: nothing changes, no preflight.
	status, body := in.api("POST", "/api/apps/legacy/reset", ``)
	if status != 200 || body["force_https"] != true || body["preflight"] != nil {
		t.Errorf("reset legacy without changes = %d %v, want on, no preflight", status, body)
	}
	// good: on through the API, HSTS sent, then reset: the file says off,
	// so max-age=0 is sent for the longest max-age sent.
	if status, body := in.api("POST", "/api/apps/good/enable", `{}`); status != 200 {
		t.Fatalf("enable good = %d %v", status, body)
	}
	in.fetch(e, "https://good.test/")
	status, body = in.api("POST", "/api/apps/good/reset", ``)
	if status != 200 || body["force_https"] != false {
		t.Fatalf("reset good = %d %v, want 200, off", status, body)
	}
	v := in.app("good")
	if v.HSTS.State != HSTSRevoking || v.DrainUntil == nil || !v.DrainUntil.Equal(c.Now().Add(365*24*time.Hour)) {
		t.Errorf("good after reset: %+v until %v, want revoking for a year", v.HSTS, v.DrainUntil)
	}
	for key, src := range v.Sources {
		if src.From != SourceFile {
			t.Errorf("good %s after reset: %+v, want from the file", key, src)
		}
	}
	if got := in.fetch(e, "https://good.test/").Header.Get("Strict-Transport-Security"); got != "max-age=0" {
		t.Errorf("good HSTS after reset = %q, want max-age=0", got)
	}
	if resp := in.fetch(e, "http://good.test/"); resp.StatusCode != 200 {
		t.Errorf("http://good.test/ after reset = %d, want 200", resp.StatusCode)
	}
	c.Add(365*24*time.Hour + time.Second)
	if !in.adm.Tick(t.Context()) {
		t.Error("Tick did not rebuild at the end of the reset's drain")
	}
	if got := in.fetch(e, "https://good.test/").Header.Values("Strict-Transport-Security"); len(got) != 0 {
		t.Errorf("good HSTS after the drain = %q, want none", got)
	}

	// legacy: the file says on; disabled through the API; reset turns it
	// back on after the preflight, and the drain stops.
	if status, body := in.api("POST", "/api/apps/legacy/disable", `{"drain":"2h"}`); status != 200 {
		t.Fatalf("disable legacy = %d %v", status, body)
	}
	status, body = in.api("POST", "/api/apps/legacy/reset", `{}`)
	if status != 200 || body["force_https"] != true || body["preflight"] == nil || body["drain_until"] != nil {
		t.Errorf("reset legacy = %d %v, want on after a preflight, no drain", status, body)
	}
	if got := in.fetch(e, "https://legacy.good.test/").Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Errorf("legacy HSTS after reset = %q, want the file's max-age", got)
	}

	// A ramp goes on through a reset that leaves Force HTTPS on.
	if status, body := in.api("POST", "/api/apps/legacy/enable", `{"ramp":true}`); status != 200 {
		t.Fatalf("enable legacy --ramp = %d %v", status, body)
	}
	if status, body := in.api("PATCH", "/api/apps/legacy", `{"redirect":{"temporary":true}}`); status != 200 {
		t.Fatalf("patch legacy = %d %v", status, body)
	}
	c.Add(2 * 24 * time.Hour)
	if status, body := in.api("POST", "/api/apps/legacy/reset", `{}`); status != 200 || body["preflight"] != nil {
		t.Fatalf("reset legacy while ramping = %d %v, want 200 without a preflight", status, body)
	}
	v = in.app("legacy")
	if v.HSTS.State != HSTSRamping || v.HSTS.Stage != 2 || v.Redirect.Temporary || v.Sources["redirect.temporary"].From != SourceFile {
		t.Errorf("legacy after a reset while ramping: %+v %+v, want still ramping (stage 2), the file's redirect", v.HSTS, v.Redirect)
	}
	if got := in.fetch(e, "https://legacy.good.test/").Header.Get("Strict-Transport-Security"); got != "max-age=604800" {
		t.Errorf("legacy HSTS after a reset while ramping = %q, want the ramp's max-age=604800", got)
	}
}

func TestResetPreflight(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.start(t, newClock())
	// The file turns bad on; its certificate is missing.
	in.reloadWith(e, func(s string) string {
		return forceBad(s)
	})
	if status, body := in.api("POST", "/api/apps/bad/disable", `{}`); status != 200 {
		t.Fatalf("disable bad = %d %v", status, body)
	}
	status, body := in.api("POST", "/api/apps/bad/reset", `{}`)
	if status != http.StatusConflict || body["preflight"] == nil || !strings.Contains(body["error"].(string), "--force") {
		t.Fatalf("reset bad = %d %v, want 409 with the report, naming --force", status, body)
	}
	if v := in.app("bad"); v.ForceHTTPS || v.Sources["force_https"].From != SourceAPI {
		t.Errorf("bad after a refused reset: %+v, want unchanged", v)
	}
	status, body = in.api("POST", "/api/apps/bad/reset", `{"force":true}`)
	if status != 200 || body["force_https"] != true {
		t.Errorf("reset bad with force = %d %v, want on", status, body)
	}
	if status, body := in.api("POST", "/api/apps/bad/reset", `{"drain":"soon"}`); status != 400 {
		t.Errorf("reset with a bad drain = %d %v, want 400", status, body)
	}
	// The enable's refusal names the flag too.
	if status, body := in.api("POST", "/api/apps/bad/disable", `{}`); status != 200 {
		t.Fatalf("disable bad = %d %v", status, body)
	}
	if status, body := in.api("POST", "/api/apps/bad/enable", `{}`); status != http.StatusConflict || !strings.Contains(body["error"].(string), "--force") {
		t.Errorf("enable bad = %d %v, want 409 naming --force", status, body)
	}
}

func TestDrainWarning(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := newClock()
	in := e.start(t, c)
	if status, body := in.api("POST", "/api/apps/legacy/disable", `{}`); status != 200 || body["warning"] != nil {
		t.Errorf("disable legacy with the default drain = %d %v, want no warning", status, body)
	}
	if status, body := in.api("POST", "/api/apps/good/enable", `{}`); status != 200 {
		t.Fatalf("enable good = %d %v", status, body)
	}
	status, body := in.api("POST", "/api/apps/good/disable", `{"drain":"1h"}`)
	w, _ := body["warning"].(string)
	if status != 200 || !strings.Contains(w, "The drain (1 h) is shorter than the largest HSTS max-age sent (31536000 s)") ||
		!strings.Contains(w, "keep forcing HTTPS for up to 364 days 23 h after the drain ends") {
		t.Errorf("disable good --drain 1h = %d, warning %q; want the max-age gap", status, w)
	}
	if !strings.Contains(in.logs.String(), "the drain is shorter than the largest HSTS max-age sent") {
		t.Errorf("log:\n%s\nwant the drain warning", in.logs.String())
	}
	// No drain at all: the whole max-age.
	if status, body := in.api("POST", "/api/apps/legacy/enable", `{}`); status != 200 {
		t.Fatalf("enable legacy = %d %v", status, body)
	}
	status, body = in.api("POST", "/api/apps/legacy/disable", `{"drain":"0s"}`)
	if w, _ := body["warning"].(string); status != 200 || !strings.HasPrefix(w, "No drain: max-age=0 is never sent, so browsers that saw max-age=31536000 keep forcing HTTPS for up to 365 days (until ") {
		t.Errorf("disable legacy --drain 0s = %d, warning %q; want the whole max-age", status, w)
	}
	c.Add(364 * 24 * time.Hour)
	if w := in.app("good").Warning; !strings.Contains(w, "up to 364 days 23 h") {
		t.Errorf("warning a day before the pins expire = %q, want it still", w)
	}
	c.Add(24 * time.Hour)
	if w := in.app("good").Warning; w != "" {
		t.Errorf("warning after the pins expired = %q, want none", w)
	}
}

func TestHumanDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0 s"},
		{30 * time.Second, "30 s"},
		{45 * time.Minute, "45 min"},
		{time.Hour, "1 h"},
		{90 * time.Minute, "1 h 30 min"},
		{24 * time.Hour, "1 day"},
		{365*24*time.Hour - time.Hour, "364 days 23 h"},
		{3*24*time.Hour + 10*time.Minute, "3 days"},
	}
	for _, tt := range tests {
		if got := humanDuration(tt.d); got != tt.want {
			t.Errorf("humanDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestUnknownAppNamed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.start(t, newClock())
	tests := []struct {
		method, path, want string
	}{
		{"GET", "/api/apps/godo", `no app named "godo"; did you mean "good"?`},
		{"PATCH", "/api/apps/legacyy", `no app named "legacyy"; did you mean "legacy"?`},
		{"POST", "/api/apps/zzzzz/enable", `no app named "zzzzz"; apps: good, bad, legacy`},
		{"POST", "/api/apps/zzzzz/reset", `no app named "zzzzz"; apps: good, bad, legacy`},
	}
	for _, tt := range tests {
		status, body := in.api(tt.method, tt.path, `{}`)
		if status != 404 || body["error"] != tt.want {
			t.Errorf("%s %s = %d %v, want 404 %q", tt.method, tt.path, status, body, tt.want)
		}
	}
}

func TestDashboardReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.start(t, newClock())
	base := "http://" + in.addrs.Admin
	c := browser(t)
	post(t, c, base+"/login", url.Values{"token": {e.token}}, nil)
	_, page := get(t, c, base+"/")
	if strings.Contains(page, `id="reset-legacy"`) {
		t.Error("the dashboard offers a reset of an app without changes")
	}
	if status, body := in.api("POST", "/api/apps/legacy/disable", `{"drain":"1h"}`); status != 200 {
		t.Fatalf("disable legacy = %d %v", status, body)
	}
	_, page = get(t, c, base+"/")
	for _, want := range []string{`id="reset-legacy"`, "force_https (the file says true)", `id="warning-legacy"`} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard after disabling legacy lacks %q:\n%s", want, page)
		}
	}
	csrf := csrfField.FindStringSubmatch(page)[1]
	if resp, body := post(t, c, base+"/apps/legacy/reset", url.Values{"csrf": {csrf}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST reset = %d %s, want 303", resp.StatusCode, body)
	}
	if v := in.app("legacy"); !v.ForceHTTPS || v.Sources["force_https"].From != SourceFile {
		t.Errorf("legacy after the dashboard's reset: %+v", v)
	}

	// A reset that turns Force HTTPS on for domains that fail the
	// preflight shows the report, with a button to reset anyway.
	in.reloadWith(e, func(s string) string {
		return forceBad(s)
	})
	if status, body := in.api("POST", "/api/apps/bad/disable", `{}`); status != 200 {
		t.Fatalf("disable bad = %d %v", status, body)
	}
	resp, page := post(t, c, base+"/apps/bad/reset", url.Values{"csrf": {csrf}}, nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, `action="/apps/bad/reset"`) || !strings.Contains(page, "Reset anyway") || !strings.Contains(page, `name="force" value="1"`) {
		t.Fatalf("POST reset bad = %d, want 409 and the check page with Reset anyway:\n%s", resp.StatusCode, page)
	}
	if in.app("bad").ForceHTTPS {
		t.Error("bad is on after a refused reset")
	}
	if resp, body := post(t, c, base+"/apps/bad/reset", url.Values{"csrf": {csrf}, "force": {"1"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST reset bad with force = %d %s, want 303", resp.StatusCode, body)
	}
	if v := in.app("bad"); !v.ForceHTTPS {
		t.Errorf("bad after reset anyway: %+v, want on", v)
	}
}

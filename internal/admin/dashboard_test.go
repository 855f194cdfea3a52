package admin

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browser is a client with cookies that does not follow redirects.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func post(t *testing.T, c *http.Client, u string, form url.Values, hdr http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func TestDashboardLoginAndCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.start(t, newClock())
	base := "http://" + in.addrs.Admin
	c := browser(t)

	resp, body := get(t, c, base+"/")
	if resp.StatusCode != 200 || !strings.Contains(body, `name="token"`) {
		t.Fatalf("GET / logged out = %d, want the login form:\n%s", resp.StatusCode, body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP = %q, want default-src 'none' without unsafe-inline", csp)
	}
	// With no-referrer, browsers send "Origin: null" on form posts, which
	// the Origin check refuses: the login would fail.
	if rp := resp.Header.Get("Referrer-Policy"); rp != "same-origin" {
		t.Errorf("Referrer-Policy = %q, want same-origin", rp)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "style=") {
		t.Error("the page has an inline script or style")
	}

	if resp, _ := post(t, c, base+"/login", url.Values{"token": {"wrong"}}, nil); resp.StatusCode != 401 || len(resp.Cookies()) != 0 {
		t.Errorf("login with a wrong token = %d, cookies %v; want 401, none", resp.StatusCode, resp.Cookies())
	}
	resp, _ = post(t, c, base+"/login", url.Values{"token": {e.token}}, nil)
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("login = %d, cookies %v; want 303 and a cookie", resp.StatusCode, resp.Cookies())
	}
	ck := resp.Cookies()[0]
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Secure || strings.Contains(ck.Value, e.token) {
		t.Errorf("session cookie = %+v; want HttpOnly, SameSite=Strict, Path=/, not Secure on plain HTTP, no token", ck)
	}

	resp, body = get(t, c, base+"/")
	m := csrfField.FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil || !strings.Contains(body, `id="check-good"`) {
		t.Fatalf("GET / logged in = %d, want the apps with a CSRF token:\n%s", resp.StatusCode, body)
	}
	csrf := m[1]

	tests := []struct {
		name string
		form url.Values
		hdr  http.Header
		want int
	}{
		{"no CSRF token", url.Values{}, nil, 403},
		{"wrong CSRF token", url.Values{"csrf": {strings.Repeat("0", len(csrf))}}, nil, 403},
		{"cross-site origin", url.Values{"csrf": {csrf}}, http.Header{"Origin": {"http://evil.example"}}, 403},
		{"right", url.Values{"csrf": {csrf}}, http.Header{"Origin": {base}}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, c, base+"/apps/good/check", tt.form, tt.hdr)
			if resp.StatusCode != tt.want {
				t.Errorf("POST /apps/good/check = %d, want %d:\n%s", resp.StatusCode, tt.want, body)
			}
			if tt.want == 200 && (!strings.Contains(body, "Confirm enable") || !strings.Contains(body, "OK (200)")) {
				t.Errorf("check page lacks the passing preflight and the confirm button:\n%s", body)
			}
		})
	}
	if in.app("good").ForceHTTPS {
		t.Fatal("the check alone enabled Force HTTPS")
	}

	// A failing preflight offers "Enable anyway".
	_, body = post(t, c, base+"/apps/bad/check", url.Values{"csrf": {csrf}}, nil)
	if !strings.Contains(body, "Enable anyway") || !strings.Contains(body, "failed:") || !strings.Contains(body, "skipped") {
		t.Errorf("check page of bad lacks the failure:\n%s", body)
	}

	// Without a session, the forms go back to the login.
	if resp, _ := post(t, browser(t), base+"/apps/good/enable", url.Values{"csrf": {csrf}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("enable without a session = %d, want 303 to the login", resp.StatusCode)
	}
	if in.app("good").ForceHTTPS {
		t.Fatal("an enable without a session was applied")
	}

	resp, _ = post(t, c, base+"/apps/good/enable", url.Values{"csrf": {csrf}, "ramp": {"1"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("enable = %d, want 303", resp.StatusCode)
	}
	if v := in.app("good"); !v.ForceHTTPS || v.HSTS.State != HSTSRamping {
		t.Errorf("after the dashboard's enable: %+v, want on, ramping", v)
	}
	_, body = get(t, c, base+"/")
	if !strings.Contains(body, `id="disable-good"`) || !strings.Contains(body, "stage 1 of 4") {
		t.Errorf("index after enable lacks the disable button or the stage:\n%s", body)
	}
	resp, _ = post(t, c, base+"/apps/good/disable", url.Values{"csrf": {csrf}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable = %d, want 303", resp.StatusCode)
	}
	_, body = get(t, c, base+"/")
	if !strings.Contains(body, "max-age=0 is sent over HTTPS until") {
		t.Errorf("index after disable does not explain the drain:\n%s", body)
	}

	resp, _ = post(t, c, base+"/logout", url.Values{"csrf": {csrf}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout = %d, want 303", resp.StatusCode)
	}
	if _, body := get(t, c, base+"/"); !strings.Contains(body, `name="token"`) {
		t.Error("still logged in after logout")
	}
	if resp, _ := get(t, c, base+"/static/admin.css"); resp.Header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("stylesheet Content-Type = %q", resp.Header.Get("Content-Type"))
	}
}

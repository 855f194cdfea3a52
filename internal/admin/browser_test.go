package admin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

// TestBrowserEnable logs in to the dashboard in headless Chromium, checks
// and confirms Force HTTPS for an app whose preflight passes, and sees
// plain HTTP redirect afterwards.
func TestBrowserEnable(t *testing.T) {
	browser := testutil.FindChromium(t)
	e := newEnv(t)
	in := e.start(t, newClock())
	if resp := in.fetch(e, "http://good.test/"); resp.StatusCode != 200 {
		t.Fatalf("http://good.test/ before = %d, want 200", resp.StatusCode)
	}
	c := browser.Start(t, "--window-size=1280,900")
	base := "http://" + in.addrs.Admin + "/"
	c.Call("Page.navigate", map[string]any{"url": base})
	c.WaitFor("the login form", "document.getElementById('token')")
	tok, _ := json.Marshal(e.token)
	c.Eval(fmt.Sprintf("document.getElementById('token').value = %s; setTimeout(() => document.getElementById('login').click(), 0); true", tok))
	c.WaitFor("the apps", "document.getElementById('check-good')")
	// The session cookie as Chromium stored it: HttpOnly, SameSite=Strict,
	// and not Secure on the plain-HTTP loopback listener (where it works).
	var jar struct {
		Cookies []struct {
			Name     string `json:"name"`
			HTTPOnly bool   `json:"httpOnly"`
			Secure   bool   `json:"secure"`
			SameSite string `json:"sameSite"`
		} `json:"cookies"`
	}
	if err := json.Unmarshal(c.Call("Network.getCookies", map[string]any{"urls": []string{base}}), &jar); err != nil {
		t.Fatal(err)
	}
	if len(jar.Cookies) != 1 || jar.Cookies[0].Name != sessionCookie || !jar.Cookies[0].HTTPOnly || jar.Cookies[0].Secure || jar.Cookies[0].SameSite != "Strict" {
		t.Errorf("cookies in the browser = %+v, want one HttpOnly SameSite=Strict session cookie", jar.Cookies)
	}
	c.Eval("setTimeout(() => document.getElementById('check-good').click(), 0); true")
	c.WaitFor("the preflight result", "document.getElementById('confirm')")
	if got := string(c.Eval("document.getElementById('confirm').textContent")); got != `"Confirm enable"` {
		t.Fatalf("confirm button = %s, want \"Confirm enable\"", got)
	}
	c.Eval("setTimeout(() => document.getElementById('confirm').click(), 0); true")
	c.WaitFor("the disable button", "document.getElementById('disable-good')")
	// The page says the API overrides the file, and offers a reset.
	if got := string(c.Eval("document.getElementById('sources-good').textContent")); !strings.Contains(got, "force_https (the file says false)") {
		t.Errorf("sources note = %s, want force_https overridden", got)
	}
	c.WaitFor("the reset button", "document.getElementById('reset-good')")

	var shot struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(c.Call("Page.captureScreenshot", map[string]any{"format": "png"}), &shot); err != nil {
		t.Fatal(err)
	}
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	path := filepath.Join(t.TempDir(), "dashboard.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(png))

	// curl -sI http://good.test/ now redirects.
	resp := in.fetch(e, "http://good.test/page")
	if want := "https://good.test:" + portOf(in.addrs.HTTPS) + "/page"; resp.StatusCode != 301 || resp.Header.Get("Location") != want {
		t.Errorf("http://good.test/page after the dashboard's enable = %d %q, want 301 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	// Reset: the file says off, so Force HTTPS goes off, with a drain.
	c.Eval("setTimeout(() => document.getElementById('reset-good').click(), 0); true")
	c.WaitFor("the enable button after the reset", "document.getElementById('check-good')")
	if v := in.app("good"); v.ForceHTTPS || v.HSTS.State != HSTSRevoking {
		t.Errorf("good after the dashboard's reset: %+v, want off and revoking", v)
	}
}

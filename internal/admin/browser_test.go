package admin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// findChromium returns the browser to drive: $CHROMIUM, or chromium on
// PATH. Without it the test fails when CI is set, else it is skipped.
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "chromium is not installed: run `bash scripts/browser.sh` (installs Debian's chromium)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// cdp is a Chrome DevTools Protocol session with one page.
type cdp struct {
	t    *testing.T
	ws   *websocket.Conn
	next int
}

// call sends a command and returns its result, skipping events.
func (c *cdp) call(method string, params any) json.RawMessage {
	c.t.Helper()
	c.next++
	id := c.next
	if err := websocket.JSON.Send(c.ws, map[string]any{"id": id, "method": method, "params": params}); err != nil {
		c.t.Fatalf("CDP %s: %v", method, err)
	}
	for {
		c.ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := websocket.JSON.Receive(c.ws, &msg); err != nil {
			c.t.Fatalf("CDP %s: %v", method, err)
		}
		if msg.ID != id {
			continue
		}
		if msg.Error != nil {
			c.t.Fatalf("CDP %s: %s", method, msg.Error.Message)
		}
		return msg.Result
	}
}

// eval evaluates a JavaScript expression in the page and returns its
// value as JSON.
func (c *cdp) eval(expr string) json.RawMessage {
	c.t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails any `json:"exceptionDetails"`
	}
	raw := c.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	if err := json.Unmarshal(raw, &res); err != nil || res.ExceptionDetails != nil {
		c.t.Fatalf("evaluate %q: %s", expr, raw)
	}
	return res.Result.Value
}

// waitFor polls a JavaScript condition for at most 20s.
func (c *cdp) waitFor(what, cond string) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for string(c.eval("document.readyState === 'complete' && !!("+cond+")")) != "true" {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s; page:\n%s", what, c.eval("document.documentElement.outerHTML"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startChromium starts headless chromium and connects to its page.
func startChromium(t *testing.T, bin string) *cdp {
	t.Helper()
	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--headless", "--remote-debugging-port=0", "--user-data-dir="+profile,
		"--remote-allow-origins=http://127.0.0.1",
		"--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--window-size=1280,900", "about:blank")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	var port string
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort"))
		if lines := strings.Split(string(data), "\n"); err == nil && len(lines) >= 2 && lines[1] != "" {
			port = lines[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromium did not write DevToolsActivePort within 30s; stderr:\n%s", &stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://127.0.0.1:" + port + "/json/list")
	if err != nil {
		t.Fatal(err)
	}
	var targets []struct {
		Type string `json:"type"`
		WS   string `json:"webSocketDebuggerUrl"`
	}
	err = json.NewDecoder(resp.Body).Decode(&targets)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	ws := ""
	for _, tg := range targets {
		if tg.Type == "page" {
			ws = tg.WS
			break
		}
	}
	if ws == "" {
		t.Fatalf("no page target among %+v", targets)
	}
	conn, err := websocket.Dial(ws, "", "http://127.0.0.1")
	if err != nil {
		t.Fatalf("DevTools WebSocket: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return &cdp{t: t, ws: conn}
}

// TestBrowserEnable logs in to the dashboard in headless Chromium, checks
// and confirms Force HTTPS for an app whose preflight passes, and sees
// plain HTTP redirect afterwards.
func TestBrowserEnable(t *testing.T) {
	bin := findChromium(t)
	e := newEnv(t)
	in := e.start(t, newClock())
	if resp := in.fetch(e, "http://good.test/"); resp.StatusCode != 200 {
		t.Fatalf("http://good.test/ before = %d, want 200", resp.StatusCode)
	}
	c := startChromium(t, bin)
	base := "http://" + in.addrs.Admin + "/"
	c.call("Page.navigate", map[string]any{"url": base})
	c.waitFor("the login form", "document.getElementById('token')")
	tok, _ := json.Marshal(e.token)
	c.eval(fmt.Sprintf("document.getElementById('token').value = %s; document.getElementById('login').click(); true", tok))
	c.waitFor("the apps", "document.getElementById('check-good')")
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
	if err := json.Unmarshal(c.call("Network.getCookies", map[string]any{"urls": []string{base}}), &jar); err != nil {
		t.Fatal(err)
	}
	if len(jar.Cookies) != 1 || jar.Cookies[0].Name != sessionCookie || !jar.Cookies[0].HTTPOnly || jar.Cookies[0].Secure || jar.Cookies[0].SameSite != "Strict" {
		t.Errorf("cookies in the browser = %+v, want one HttpOnly SameSite=Strict session cookie", jar.Cookies)
	}
	c.eval("document.getElementById('check-good').click(); true")
	c.waitFor("the preflight result", "document.getElementById('confirm')")
	if got := string(c.eval("document.getElementById('confirm').textContent")); got != `"Confirm enable"` {
		t.Fatalf("confirm button = %s, want \"Confirm enable\"", got)
	}
	c.eval("document.getElementById('confirm').click(); true")
	c.waitFor("the disable button", "document.getElementById('disable-good')")

	var shot struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(c.call("Page.captureScreenshot", map[string]any{"format": "png"}), &shot); err != nil {
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
}

package testutil

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// chromiumInstall is what a test missing the browser says to run.
const chromiumInstall = "chromium is not installed: run `bash scripts/browser.sh` (installs Debian's chromium)"

// Time limits of the browser helpers: a test that hangs on the browser
// fails with what it waited for instead of running into the test binary's
// timeout.
const (
	runLimit     = 90 * time.Second // a whole Chromium.Run
	sessionLimit = 2 * time.Minute  // a browser from Chromium.Start
	startLimit   = 30 * time.Second // until DevTools listens
	replyLimit   = 30 * time.Second // for each DevTools reply
	waitLimit    = 20 * time.Second // DevTools.WaitFor
)

// Chromium is a Chromium browser the tests drive headless.
type Chromium struct {
	// Path is the browser's executable.
	Path string
}

// FindChromium returns the browser named by the environment variable
// CHROMIUM, else chromium or chromium-browser on PATH. Missing, it calls
// [MissingTool]: the test fails when CI is set and is skipped otherwise.
func FindChromium(t testing.TB) *Chromium {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return &Chromium{Path: p}
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return &Chromium{Path: p}
		}
	}
	MissingTool(t, chromiumInstall)
	return nil
}

// flags are the flags of every launch: headless, and quiet: no sandbox
// (tests may run as root), no GPU, no QUIC, nothing fetched in the
// background (updates, sync, safe browsing lists), so the browser only
// ever talks to the loopback servers of the test.
func flags(profile string) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--disable-extensions", "--disable-dev-shm-usage", "--mute-audio",
		"--user-data-dir=" + profile,
	}
}

// Run runs the browser once with a fresh profile, the common headless
// flags and then args (such as "--dump-dom", URL or "--screenshot="+file,
// URL), and returns its standard output. The test fails if the browser
// fails or runs longer than 90 seconds.
func (c *Chromium) Run(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Path, append(flags(t.TempDir()), args...)...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %q: %v\nstderr:\n%s", args, err, &stderr)
	}
	return stdout.String()
}

// Start starts the browser with a fresh profile, the common headless flags
// and then args (such as "--window-size=1280,900"), on about:blank, and
// returns a DevTools session with that page. The browser is stopped when
// the test ends, or after two minutes.
func (c *Chromium) Start(t testing.TB, args ...string) *DevTools {
	t.Helper()
	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), sessionLimit)
	argv := append(flags(profile), "--remote-debugging-port=0", "--remote-allow-origins=http://127.0.0.1")
	argv = append(append(argv, args...), "about:blank")
	cmd := exec.CommandContext(ctx, c.Path, argv...)
	cmd.WaitDelay = 5 * time.Second
	var stderr Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})

	// With port 0 the browser picks a port and writes it, then the path of
	// its browser endpoint, to DevToolsActivePort in the profile.
	var port string
	deadline := time.Now().Add(startLimit)
	for {
		data, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort"))
		if lines := strings.Split(string(data), "\n"); err == nil && len(lines) >= 2 && lines[1] != "" {
			port = lines[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromium did not write DevToolsActivePort within %v; stderr:\n%s", startLimit, &stderr)
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
	return &DevTools{t: t, ws: conn}
}

// DevTools is a Chrome DevTools Protocol session with one page of a
// browser from [Chromium.Start]. Its methods fail the test that started
// it on any error, and must be called from that test's goroutine.
type DevTools struct {
	t    testing.TB
	ws   *websocket.Conn
	next int
}

// Call sends the command method with params (marshalled to JSON) and
// returns its result, skipping the events that arrive before it. The test
// fails on an error reply, or when no reply comes within 30 seconds.
func (d *DevTools) Call(method string, params any) json.RawMessage {
	d.t.Helper()
	d.next++
	id := d.next
	if err := websocket.JSON.Send(d.ws, map[string]any{"id": id, "method": method, "params": params}); err != nil {
		d.t.Fatalf("CDP %s: %v", method, err)
	}
	for {
		d.ws.SetReadDeadline(time.Now().Add(replyLimit))
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := websocket.JSON.Receive(d.ws, &msg); err != nil {
			d.t.Fatalf("CDP %s: %v", method, err)
		}
		if msg.ID != id {
			continue
		}
		if msg.Error != nil {
			d.t.Fatalf("CDP %s: %s", method, msg.Error.Message)
		}
		return msg.Result
	}
}

// Eval evaluates the JavaScript expression expr in the page and returns
// its value as JSON. The test fails if the expression throws.
func (d *DevTools) Eval(expr string) json.RawMessage {
	d.t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails any `json:"exceptionDetails"`
	}
	raw := d.Call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	if err := json.Unmarshal(raw, &res); err != nil || res.ExceptionDetails != nil {
		d.t.Fatalf("evaluate %q: %s", expr, raw)
	}
	return res.Result.Value
}

// WaitFor polls until the page has loaded and the JavaScript condition
// cond is truthy. After 20 seconds the test fails, naming what (what it
// waited for) and showing the page.
func (d *DevTools) WaitFor(what, cond string) {
	d.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for string(d.Eval("document.readyState === 'complete' && !!("+cond+")")) != "true" {
		if time.Now().After(deadline) {
			d.t.Fatalf("timed out waiting for %s; page:\n%s", what, d.Eval("document.documentElement.outerHTML"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

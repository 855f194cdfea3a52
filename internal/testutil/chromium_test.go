package testutil

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// page is a document whose script changes the DOM: what the browser shows
// proves that it loaded the page from the test server and ran it.
const page = `<!doctype html>
<title>testutil</title>
<p id="out">static</p>
<script src="/script.js"></script>
`

// pageServer serves page and its script on loopback, counting requests
// for the page.
func pageServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			hits.Add(1)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, page)
		case "/script.js":
			w.Header().Set("Content-Type", "text/javascript")
			io.WriteString(w, `document.getElementById("out").textContent = "ran " + (6 * 7);`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestChromiumRun(t *testing.T) {
	t.Parallel()
	c := FindChromium(t)
	srv, _ := pageServer(t)
	tests := []struct {
		name  string
		args  func(dir string) []string
		check func(t *testing.T, dir, stdout string)
	}{
		{
			name: "dump-dom",
			args: func(string) []string { return []string{"--dump-dom", srv.URL + "/"} },
			check: func(t *testing.T, _, stdout string) {
				if !strings.Contains(stdout, `<p id="out">ran 42</p>`) {
					t.Errorf("Run(--dump-dom) = %q, want the DOM after the script ran", stdout)
				}
			},
		},
		{
			name: "screenshot",
			args: func(dir string) []string {
				return []string{"--screenshot=" + filepath.Join(dir, "shot.png"), "--window-size=320,200", srv.URL + "/"}
			},
			check: func(t *testing.T, dir, _ string) {
				b, err := os.ReadFile(filepath.Join(dir, "shot.png"))
				if err != nil || !strings.HasPrefix(string(b), "\x89PNG") {
					t.Errorf("Run(--screenshot): %v, %d bytes; want a PNG", err, len(b))
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tt.check(t, dir, c.Run(t, tt.args(dir)...))
		})
	}
}

func TestChromiumStart(t *testing.T) {
	t.Parallel()
	c := FindChromium(t)
	srv, hits := pageServer(t)
	d := c.Start(t, "--window-size=640,480")
	if got := string(d.Eval("location.href")); got != `"about:blank"` {
		t.Errorf("Start: page at %s, want about:blank", got)
	}
	d.Call("Page.navigate", map[string]any{"url": srv.URL + "/"})
	d.WaitFor("the script", `document.getElementById("out").textContent === "ran 42"`)
	if n := hits.Load(); n != 1 {
		t.Errorf("the server saw %d requests for the page, want 1", n)
	}
	tests := []struct {
		expr, want string
	}{
		{"1 + 2", "3"},
		{"document.title", `"testutil"`},
		{"window.innerWidth", "640"}, // the window size asked for
		{`({a: "b"})`, `{"a":"b"}`},
	}
	for _, tt := range tests {
		if got := string(d.Eval(tt.expr)); got != tt.want {
			t.Errorf("Eval(%q) = %s, want %s", tt.expr, got, tt.want)
		}
	}
	var version struct {
		Product string `json:"product"`
	}
	if err := json.Unmarshal(d.Call("Browser.getVersion", nil), &version); err != nil || !strings.Contains(version.Product, "Chrome") {
		t.Errorf("Call(Browser.getVersion) = %+v, %v; want a Chrome product", version, err)
	}
}

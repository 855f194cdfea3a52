package edge

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/forcehttps/forcehttps/internal/config"
	"github.com/google/go-cmp/cmp"
)

func TestStaticAnswers(t *testing.T) {
	t.Parallel()
	h := startEdge(t, appsConfig(t))
	tests := []struct {
		name, method, url string
		h2                bool
		status            int
		body, ctype, hsts string
	}{
		{"https", "GET", httpsURL("shop.example.com", "/ping"), false, 200, "pong\n", "text/plain; charset=utf-8", "max-age=31536000"},
		{"https h2", "GET", httpsURL("shop.example.com", "/ping"), true, 200, "pong\n", "text/plain; charset=utf-8", "max-age=31536000"},
		{"https head", "HEAD", httpsURL("shop.example.com", "/ping"), false, 200, "", "text/plain; charset=utf-8", "max-age=31536000"},
		{"https post", "POST", httpsURL("shop.example.com", "/ping"), false, 200, "pong\n", "text/plain; charset=utf-8", "max-age=31536000"},
		{"https status", "GET", httpsURL("shop.example.com", "/gone"), false, 410, "gone\n", "text/plain; charset=utf-8", "max-age=31536000"},
		{"plain http, exempt", "GET", httpURL("shop.example.com", "/ping"), false, 200, "pong\n", "text/plain; charset=utf-8", ""},
		{"plain http, redirected", "GET", httpURL("shop.example.com", "/gone"), false, 301, "", "", ""},
		{"force https off", "GET", httpURL("blog.example.com", "/static"), false, 200, "<p>hi</p>", "text/html", ""},
		{"force https off, https, revoke", "GET", httpsURL("blog.example.com", "/static"), false, 200, "<p>hi</p>", "text/html", "max-age=0"},
		{"no content", "GET", httpURL("blog.example.com", "/empty"), false, 204, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.do(h.client(tt.h2), tt.method, tt.url, nil, nil)
			got := []any{resp.StatusCode, body, resp.Header.Get("Content-Type"), resp.Header.Get("Strict-Transport-Security")}
			want := []any{tt.status, tt.body, tt.ctype, tt.hsts}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s %s mismatch (-want +got):\n%s", tt.method, tt.url, diff)
			}
			if tt.status == 200 && resp.Header.Get("Content-Length") == "" && !tt.h2 {
				t.Errorf("%s %s: no Content-Length", tt.method, tt.url)
			}
			if id := resp.Header.Get("X-Request-Id"); len(id) != 32 {
				t.Errorf("%s %s: X-Request-Id %q", tt.method, tt.url, id)
			}
		})
	}
	// Answered by the edge, never by the app, and logged as such.
	for _, l := range h.access.lines(t) {
		if l["path"] == "/ping" && l["action"] != actionRespond {
			t.Errorf("access log: /ping %v, want action %q", l["action"], actionRespond)
		}
	}
}

// TestStaticAnswersBuiltInCode: a configuration built in code may leave
// the status and type to their defaults.
func TestStaticAnswersBuiltInCode(t *testing.T) {
	t.Parallel()
	m := staticAnswers([]config.Response{{Path: "/a", Body: "x"}, {Path: "/b", Status: http.StatusNoContent}}, nil)
	if a := m.get("/a"); a.status != 200 || cmp.Diff(a.ctype, []string{config.DefaultContentType}) != "" || a.length[0] != "1" {
		t.Errorf("/a prepared as %+v", a)
	}
	if b := m.get("/b"); b.status != 204 || b.ctype != nil || b.length != nil {
		t.Errorf("/b prepared as %+v", b)
	}
	if m.get("/c") != nil {
		t.Error("an answer for /c, which has none")
	}
	if e := staticAnswers(nil, nil); e.get("/a") != nil || e.list != nil || e.byPath != nil {
		t.Error("staticAnswers(nil) holds something")
	}
}

// TestStaticAnswersShared: apps with the same answers share them, the
// answers differing in any way are apart, and a list of any length finds
// each path.
func TestStaticAnswersShared(t *testing.T) {
	t.Parallel()
	shared := map[staticKey]*staticAnswer{}
	one := staticAnswers([]config.Response{{Path: "/health", Body: "ok\n"}}, shared)
	two := staticAnswers([]config.Response{{Path: "/up", Body: "ok\n", Status: 200, ContentType: config.DefaultContentType}}, shared)
	if one.get("/health") != two.get("/up") {
		t.Error("the same answer under two paths is not shared")
	}
	for _, other := range []config.Response{
		{Path: "/up", Body: "ok\n", Status: 201},
		{Path: "/up", Body: "ok\n", ContentType: "text/html"},
		{Path: "/up", Body: "ok"},
	} {
		if staticAnswers([]config.Response{other}, shared).get("/up") == one.get("/health") {
			t.Errorf("%+v shares the answer of a different one", other)
		}
	}
	for _, n := range []int{1, smallStatic, smallStatic + 1, 40} {
		var list []config.Response
		for i := range n {
			list = append(list, config.Response{Path: fmt.Sprintf("/p%d", i), Body: fmt.Sprint(i)})
		}
		ss := staticAnswers(list, nil)
		for i := range n {
			if sa := ss.get(fmt.Sprintf("/p%d", i)); sa == nil || string(sa.body) != fmt.Sprint(i) {
				t.Errorf("%d answers: /p%d = %+v", n, i, sa)
			}
		}
		if ss.get("/none") != nil {
			t.Errorf("%d answers: an answer for /none", n)
		}
	}
}

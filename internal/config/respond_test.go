package config

import (
	"errors"
	"fmt"
	"mime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// respondApp returns a configuration whose only app has the respond list
// entries, one per line from line 7.
func respondApp(entries ...string) string {
	var b strings.Builder
	b.WriteString("tls: {self_signed: [localhost]}\napps:\n  - name: a\n    domains: [a.example.com]\n    upstream: http://127.0.0.1:1\n    respond:\n")
	for _, e := range entries {
		b.WriteString("      - " + e + "\n")
	}
	return b.String()
}

func TestParseRespond(t *testing.T) {
	t.Parallel()
	long := "/" + strings.Repeat("a", maxResponsePath-1)
	big := strings.Repeat("x", maxResponseBody)
	many := make([]string, maxResponses)
	manyWant := make([]Response, maxResponses)
	for i := range many {
		many[i] = fmt.Sprintf("{path: /r%d}", i)
		manyWant[i] = Response{Path: fmt.Sprintf("/r%d", i), Status: 200, ContentType: "text/plain; charset=utf-8"}
	}
	tests := []struct {
		name string
		in   string
		want []Response
	}{
		{"absent", minimal, nil},
		{"empty list", strings.Replace(respondApp(), "respond:\n", "respond: []\n", 1), []Response{}},
		{"defaults", respondApp("{path: /health}"),
			[]Response{{Path: "/health", Status: 200, ContentType: "text/plain; charset=utf-8"}}},
		{"zero and empty written out", respondApp(`{path: /health, status: 0, content_type: ""}`),
			[]Response{{Path: "/health", Status: 200, ContentType: "text/plain; charset=utf-8"}}},
		{"nulls", respondApp("{path: /health, status: null, body: null, content_type: ~}"),
			[]Response{{Path: "/health", Status: 200, ContentType: "text/plain; charset=utf-8"}}},
		{"every key", respondApp(`{path: /maintenance, status: 503, body: "<p>back soon</p>\n", content_type: "text/html; charset=utf-8"}`),
			[]Response{{Path: "/maintenance", Status: 503, Body: "<p>back soon</p>\n", ContentType: "text/html; charset=utf-8"}}},
		{"block style and literal body", respondApp("path: /robots.txt\n        body: |\n          User-agent: *\n          Disallow: /\n"),
			[]Response{{Path: "/robots.txt", Status: 200, Body: "User-agent: *\nDisallow: /\n", ContentType: "text/plain; charset=utf-8"}}},
		{"lowest and highest status", respondApp("{path: /a, status: 200}", "{path: /b, status: 599}"),
			[]Response{{Path: "/a", Status: 200, ContentType: DefaultContentType}, {Path: "/b", Status: 599, ContentType: DefaultContentType}}},
		{"no-body statuses without body", respondApp("{path: /a, status: 204}", "{path: /b, status: 205}", "{path: /c, status: 304, content_type: application/json}"),
			[]Response{{Path: "/a", Status: 204, ContentType: DefaultContentType}, {Path: "/b", Status: 205, ContentType: DefaultContentType}, {Path: "/c", Status: 304, ContentType: "application/json"}}},
		{"root and trailing slash", respondApp("{path: /}", "{path: /dir/}"),
			[]Response{{Path: "/", Status: 200, ContentType: DefaultContentType}, {Path: "/dir/", Status: 200, ContentType: DefaultContentType}}},
		{"well-known but not ACME", respondApp("{path: /.well-known/security.txt}", "{path: /.well-known/acme-challenge-not}", "{path: /acme-challenge/x}"),
			[]Response{{Path: "/.well-known/security.txt", Status: 200, ContentType: DefaultContentType}, {Path: "/.well-known/acme-challenge-not", Status: 200, ContentType: DefaultContentType}, {Path: "/acme-challenge/x", Status: 200, ContentType: DefaultContentType}}},
		{"punctuation and dots inside segments", respondApp(`{path: "/a:b@c!$&'()*+,=~_-/..x/.y/z."}`),
			[]Response{{Path: "/a:b@c!$&'()*+,=~_-/..x/.y/z.", Status: 200, ContentType: DefaultContentType}}},
		{"paths differing in case", respondApp("{path: /A}", "{path: /a}"),
			[]Response{{Path: "/A", Status: 200, ContentType: DefaultContentType}, {Path: "/a", Status: 200, ContentType: DefaultContentType}}},
		{"longest path", respondApp("{path: " + long + "}"),
			[]Response{{Path: long, Status: 200, ContentType: DefaultContentType}}},
		{"largest body", respondApp("{path: /big, body: " + big + "}"),
			[]Response{{Path: "/big", Status: 200, Body: big, ContentType: DefaultContentType}}},
		{"most entries", respondApp(many...), manyWant},
		{"invalid content type with empty body is ignored", respondApp("{path: /a, status: 204, content_type: text/plain}"),
			[]Response{{Path: "/a", Status: 204, ContentType: "text/plain"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte(tt.in), YAML)
			if err != nil {
				t.Fatalf("Parse(%s): %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.want, c.Apps[0].Respond); diff != "" {
				t.Errorf("Parse(%s).Apps[0].Respond mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

// TestParseRespondSamePathTwoApps checks that paths are unique per app,
// not across apps.
func TestParseRespondSamePathTwoApps(t *testing.T) {
	t.Parallel()
	in := respondApp("{path: /health}") + "  - name: b\n    domains: [b.example.com]\n    upstream: http://127.0.0.1:2\n    respond: [{path: /health, body: ok}]\n"
	c, err := Parse([]byte(in), YAML)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got := []Response{c.Apps[0].Respond[0], c.Apps[1].Respond[0]}
	want := []Response{{Path: "/health", Status: 200, ContentType: DefaultContentType}, {Path: "/health", Status: 200, Body: "ok", ContentType: DefaultContentType}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse(two apps) responses mismatch (-want +got):\n%s", diff)
	}
}

func TestParseRespondErrors(t *testing.T) {
	t.Parallel()
	many := make([]string, maxResponses+1)
	for i := range many {
		many[i] = fmt.Sprintf("{path: /r%d}", i)
	}
	tests := []struct {
		name string
		in   string
		path string
		line int
		is   error
	}{
		// path
		{"path missing", respondApp("{status: 200}"), "apps[0].respond[0].path", 7, ErrRequired},
		{"path empty", respondApp(`{path: ""}`), "apps[0].respond[0].path", 7, ErrRequired},
		{"path relative", respondApp("{path: health}"), "apps[0].respond[0].path", 7, ErrResponse},
		{"path absolute URL", respondApp("{path: \"http://a.example.com/health\"}"), "apps[0].respond[0].path", 7, ErrResponse},
		{"path space", respondApp(`{path: "/a b"}`), "apps[0].respond[0].path", 7, ErrResponse},
		{"path tab", respondApp(`{path: "/a\tb"}`), "apps[0].respond[0].path", 7, ErrResponse},
		{"path NUL", respondApp(`{path: "/a\0b"}`), "apps[0].respond[0].path", 7, ErrResponse},
		{"path DEL", respondApp(`{path: "/a\x7fb"}`), "apps[0].respond[0].path", 7, ErrResponse},
		{"path newline", respondApp(`{path: "/a\nb"}`), "apps[0].respond[0].path", 7, ErrResponse},
		{"path non-ASCII", respondApp(`{path: "/café"}`), "apps[0].respond[0].path", 7, ErrResponse},
		{"path question mark", respondApp(`{path: "/a?b=1"}`), "apps[0].respond[0].path", 7, ErrResponse},
		{"path lone question mark", respondApp(`{path: "/a?"}`), "apps[0].respond[0].path", 7, ErrResponse},
		{"path hash", respondApp(`{path: "/a#b"}`), "apps[0].respond[0].path", 7, ErrResponse},
		{"path percent", respondApp(`{path: "/a%20b"}`), "apps[0].respond[0].path", 7, ErrResponse},
		{"path encoded slash", respondApp(`{path: "/a%2Fb"}`), "apps[0].respond[0].path", 7, ErrResponse},
		{"path backslash", respondApp(`{path: "/a\\b"}`), "apps[0].respond[0].path", 7, ErrResponse},
		{"path semicolon", respondApp(`{path: "/a;jsessionid=1"}`), "apps[0].respond[0].path", 7, ErrResponse},
		{"path empty segment", respondApp("{path: /a//b}"), "apps[0].respond[0].path", 7, ErrResponse},
		{"path double slash", respondApp("{path: //}"), "apps[0].respond[0].path", 7, ErrResponse},
		{"path leading double slash", respondApp("{path: //a.example.com/x}"), "apps[0].respond[0].path", 7, ErrResponse},
		{"path dot segment", respondApp("{path: /a/./b}"), "apps[0].respond[0].path", 7, ErrResponse},
		{"path final dot", respondApp("{path: /a/.}"), "apps[0].respond[0].path", 7, ErrResponse},
		{"path only dot", respondApp("{path: /.}"), "apps[0].respond[0].path", 7, ErrResponse},
		{"path dot-dot segment", respondApp("{path: /a/../b}"), "apps[0].respond[0].path", 7, ErrResponse},
		{"path final dot-dot", respondApp("{path: /a/..}"), "apps[0].respond[0].path", 7, ErrResponse},
		{"path dot-dot with trailing slash", respondApp("{path: /../}"), "apps[0].respond[0].path", 7, ErrResponse},
		{"path too long", respondApp("{path: /" + strings.Repeat("a", maxResponsePath) + "}"), "apps[0].respond[0].path", 7, ErrResponse},
		{"path repeated", respondApp("{path: /health}", "{path: /ok}", "{path: /health, status: 503}"), "apps[0].respond[2].path", 9, ErrResponse},
		{"path under ACME challenge", respondApp("{path: /.well-known/acme-challenge/token}"), "apps[0].respond[0].path", 7, ErrResponse},
		{"path ACME challenge prefix", respondApp("{path: /.well-known/acme-challenge/}"), "apps[0].respond[0].path", 7, ErrResponse},
		{"path ACME challenge directory", respondApp("{path: /.well-known/acme-challenge}"), "apps[0].respond[0].path", 7, ErrResponse},
		{"path ACME challenge other case", respondApp("{path: /.Well-Known/ACME-Challenge/token}"), "apps[0].respond[0].path", 7, ErrResponse},
		// status
		{"status 100", respondApp("{path: /a, status: 100}"), "apps[0].respond[0].status", 7, ErrResponse},
		{"status 101", respondApp("{path: /a, status: 101}"), "apps[0].respond[0].status", 7, ErrResponse},
		{"status 103", respondApp("{path: /a, status: 103}"), "apps[0].respond[0].status", 7, ErrResponse},
		{"status 199", respondApp("{path: /a, status: 199}"), "apps[0].respond[0].status", 7, ErrResponse},
		{"status 600", respondApp("{path: /a, status: 600}"), "apps[0].respond[0].status", 7, ErrResponse},
		{"status 99", respondApp("{path: /a, status: 99}"), "apps[0].respond[0].status", 7, ErrResponse},
		{"status negative", respondApp("{path: /a, status: -200}"), "apps[0].respond[0].status", 7, ErrResponse},
		{"status huge", respondApp("{path: /a, status: 1000}"), "apps[0].respond[0].status", 7, ErrResponse},
		{"status not a number", respondApp("{path: /a, status: ok}"), "apps[0].respond[0].status", 7, ErrType},
		{"status as a string", respondApp(`{path: /a, status: "200"}`), "apps[0].respond[0].status", 7, ErrType},
		// body
		{"body with 204", respondApp("{path: /a, status: 204, body: x}"), "apps[0].respond[0].body", 7, ErrResponse},
		{"body with 205", respondApp("{path: /a, status: 205, body: x}"), "apps[0].respond[0].body", 7, ErrResponse},
		{"body with 304", respondApp("{path: /a, status: 304, body: x}"), "apps[0].respond[0].body", 7, ErrResponse},
		{"body too large", respondApp("{path: /a, body: " + strings.Repeat("x", maxResponseBody+1) + "}"), "apps[0].respond[0].body", 7, ErrResponse},
		{"body a list", respondApp("{path: /a, body: [x]}"), "apps[0].respond[0].body", 7, ErrType},
		// content_type
		{"content type without subtype", respondApp("{path: /a, body: x, content_type: text}"), "apps[0].respond[0].content_type", 7, ErrResponse},
		{"content type bad parameter", respondApp(`{path: /a, body: x, content_type: "text/plain; charset"}`), "apps[0].respond[0].content_type", 7, ErrResponse},
		{"content type repeated parameter", respondApp(`{path: /a, body: x, content_type: "text/plain; charset=utf-8; charset=latin1"}`), "apps[0].respond[0].content_type", 7, ErrResponse},
		{"content type header injection", respondApp(`{path: /a, body: x, content_type: "text/plain\r\nSet-Cookie: a=b"}`), "apps[0].respond[0].content_type", 7, ErrResponse},
		{"content type tab", respondApp(`{path: /a, body: x, content_type: "text/plain;\tcharset=utf-8"}`), "apps[0].respond[0].content_type", 7, ErrResponse},
		{"content type control in a quoted parameter", respondApp(`{path: /a, body: x, content_type: "text/plain; a=\"\x01\""}`), "apps[0].respond[0].content_type", 7, ErrResponse},
		{"content type checked without body", respondApp("{path: /a, content_type: nonsense}"), "apps[0].respond[0].content_type", 7, ErrResponse},
		// the list
		{"too many", respondApp(many...), "apps[0].respond", 7, ErrResponse},
		{"not a list", strings.Replace(respondApp(), "respond:\n", "respond: {path: /a}\n", 1), "apps[0].respond", 6, ErrType},
		{"entry not a mapping", respondApp("/health"), "apps[0].respond[0]", 7, ErrType},
		{"unknown key", respondApp("{path: /a, code: 200}"), "apps[0].respond[0].code", 7, ErrUnknownKey},
		{"repeated key", respondApp("{path: /a, path: /b}"), "apps[0].respond[0].path", 7, ErrDuplicateKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.in), YAML)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse(%s) error = %v, want a *ValidationError", tt.name, err)
			}
			var got []string
			for _, fe := range ve.Errors {
				got = append(got, fmt.Sprintf("%s (line %d)", fe.Path, fe.Line))
			}
			want := []string{fmt.Sprintf("%s (line %d)", tt.path, tt.line)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("Parse(%s) error places mismatch (-want +got):\n%s\nerror: %v", tt.name, diff, err)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("Parse(%s) = %v: errors.Is(err, %v) = false", tt.name, err, tt.is)
			}
			if msg := ve.Errors[0].Message; len(msg) > 200 {
				t.Errorf("Parse(%s) message is %d bytes, want the input cut short: %q", tt.name, len(msg), msg)
			}
		})
	}
}

// TestParseRespondAllErrors checks that every problem of every entry is
// reported at once, in the order of the file.
func TestParseRespondAllErrors(t *testing.T) {
	t.Parallel()
	in := respondApp(
		"{path: health, status: 100, content_type: text}",
		"{path: /a, status: 204, body: x}",
		"{path: /a}",
	)
	_, err := Parse([]byte(in), YAML)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Parse error = %v, want a *ValidationError", err)
	}
	var got []string
	for _, fe := range ve.Errors {
		got = append(got, fe.Error())
	}
	want := []string{
		`apps[0].respond[0].path: "health": must start with "/" (line 7)`,
		`apps[0].respond[0].status: 100 is not a final status: want 200 to 599 (line 7)`,
		`apps[0].respond[0].content_type: "text": not a media type: want type/subtype, such as "text/plain" (line 7)`,
		`apps[0].respond[1].body: a 204 response has no body: remove the body or change the status (line 8)`,
		`apps[0].respond[2].path: "/a" is also the path of respond[1] (line 9)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse errors mismatch (-want +got):\n%s", diff)
	}
}

// TestRespondJSON checks that a JSON file decodes to the same responses
// as the YAML one, and that its errors carry the same paths.
func TestRespondJSON(t *testing.T) {
	t.Parallel()
	yml := respondApp(`{path: /health, body: "ok\n"}`, `{path: /down, status: 503, body: "<b>é</b>", content_type: "text/html; charset=utf-8"}`)
	jsn := `{"tls": {"self_signed": ["localhost"]}, "apps": [{"name": "a", "domains": ["a.example.com"], "upstream": "http://127.0.0.1:1",
"respond": [{"path": "/health", "body": "ok\n"}, {"path": "/down", "status": 503, "body": "<b>\u00e9</b>", "content_type": "text/html; charset=utf-8"}]}]}`
	y, err := Parse([]byte(yml), YAML)
	if err != nil {
		t.Fatalf("Parse(YAML): %v", err)
	}
	j, err := Parse([]byte(jsn), JSON)
	if err != nil {
		t.Fatalf("Parse(JSON): %v", err)
	}
	if diff := cmp.Diff(y, j, cmp.AllowUnexported(Config{})); diff != "" {
		t.Errorf("Parse(YAML) and Parse(JSON) differ (-yaml +json):\n%s", diff)
	}
	if j.Apps[0].Respond[0].Status != 200 || j.Apps[0].Respond[0].ContentType != DefaultContentType {
		t.Errorf("Parse(JSON) defaults not filled: %+v", j.Apps[0].Respond[0])
	}

	bad := strings.Replace(jsn, `"status": 503`, `"status": 503.5`, 1)
	bad = strings.Replace(bad, `"/health"`, `"/health?x"`, 1)
	_, err = Parse([]byte(bad), JSON)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Parse(bad JSON) = %v, want a *ValidationError", err)
	}
	var got []string
	for _, fe := range ve.Errors {
		got = append(got, fe.Path)
	}
	// Both are on line 2: the decoder's type error comes first.
	if diff := cmp.Diff([]string{"apps[0].respond[1].status", "apps[0].respond[0].path"}, got); diff != "" {
		t.Errorf("Parse(bad JSON) error paths mismatch (-want +got):\n%s", diff)
	}
}

// TestValidateRespond checks a Config built in code: zero Status and
// ContentType stand for their defaults there, and the rules still apply.
func TestValidateRespond(t *testing.T) {
	t.Parallel()
	base := func(rs ...Response) *Config {
		c, err := Parse([]byte(minimal), YAML)
		if err != nil {
			t.Fatal(err)
		}
		c.Apps[0].Respond = rs
		return c
	}
	if err := base(Response{Path: "/health", Body: "ok"}).Validate(); err != nil {
		t.Errorf("Validate(zero status and content type) = %v, want nil", err)
	}
	err := base(Response{Path: "/health"}, Response{Path: "/x?", Status: 150, ContentType: "text/plain\n"}).Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate(bad) = %v, want a *ValidationError", err)
	}
	var got []string
	for _, fe := range ve.Errors {
		got = append(got, fe.Path)
	}
	want := []string{"apps[0].respond[1].path", "apps[0].respond[1].status", "apps[0].respond[1].content_type"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate(bad) error paths mismatch (-want +got):\n%s", diff)
	}
}

// TestDefaultContentType checks that the default content type passes the
// checks that checkContentType skips for it.
func TestDefaultContentType(t *testing.T) {
	t.Parallel()
	mt, params, err := mime.ParseMediaType(DefaultContentType)
	if err != nil || !strings.Contains(mt, "/") || strings.ContainsFunc(DefaultContentType, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		t.Errorf("DefaultContentType %q: %q %v %v", DefaultContentType, mt, params, err)
	}
}

package config

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"

	"github.com/forcehttps/forcehttps"
)

// FuzzParse checks that Parse never panics, that it returns either a
// Config or a *ValidationError, that every error says where it is (a path
// or a line), and that an accepted Config validates again.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal), false)
	f.Add(defaultYAML, false)
	for _, name := range []string{"edge.yaml", "edge.json"} {
		if data, err := os.ReadFile(filepath.Join("..", "..", "examples", name)); err == nil {
			f.Add(data, strings.HasSuffix(name, ".json"))
		}
	}
	if data, err := os.ReadFile(filepath.Join("testdata", "invalid.yaml")); err == nil {
		f.Add(data, false)
	}
	f.Add([]byte(`{"apps": [{"name": "a", "domains": ["a.example"], "upstream": "http://127.0.0.1:1"}], "tls": {"self_signed": ["a.example"]}}`), true)
	f.Add([]byte("a: &a [*a]\n"), false)
	f.Add([]byte("apps: [{hsts: {max_age: 0x10}}, {timeouts: 1}]"), false)
	f.Add([]byte(respondApp(`{path: /health, body: "ok\n"}`, `{path: /down, status: 503, content_type: "text/html; charset=utf-8", body: "<p>soon</p>"}`, "{path: /empty, status: 204}")), false)
	f.Add([]byte(respondApp(`{path: "/a?b", status: 101, content_type: "text/plain\r\nX: y"}`, "{path: /.well-known/acme-challenge/x}", "{path: /a//../b, status: 304, body: x}")), false)
	f.Add([]byte(`{"tls": {"self_signed": ["a.example"]}, "apps": [{"name": "a", "domains": ["a.example"], "upstream": "http://127.0.0.1:1", "respond": [{"path": "/r", "status": 0, "content_type": ""}]}]}`), true)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		format := YAML
		if isJSON {
			format = JSON
		}
		c, err := Parse(data, format)
		if err == nil {
			if c == nil {
				t.Fatal("Parse returned neither a Config nor an error")
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Parse accepted a Config that Validate refuses: %v", err)
			}
			for i := range c.Apps {
				if _, err := forcehttps.New(c.Policy(&c.Apps[i], c.PublicHTTPSPort())); err != nil {
					t.Fatalf("accepted app %d has an invalid policy: %v", i, err)
				}
				checkAcceptedResponses(t, c.Apps[i].Respond)
			}
			return
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Errors) == 0 {
			t.Fatalf("Parse error %v is not a *ValidationError with errors", err)
		}
		for _, fe := range ve.Errors {
			// Only a document that is empty, or too wrong to count, has
			// no place to point at.
			if fe.Path == "" && fe.Line == 0 && !errors.Is(fe, ErrSyntax) && !errors.Is(fe, ErrTooManyErrors) {
				t.Errorf("error %q has neither a path nor a line", fe)
			}
			if fe.Message == "" {
				t.Errorf("error at %q has no message", fe.Path)
			}
		}
	})
}

// checkAcceptedResponses asserts what the edge relies on in the static
// responses of an accepted configuration: defaults filled in, a final
// status, a body only where the status allows one, a sendable
// Content-Type, and paths that are unique, clean, and outside the ACME
// challenge path.
func checkAcceptedResponses(t *testing.T, rs []Response) {
	t.Helper()
	if len(rs) > 256 {
		t.Fatalf("accepted %d responses", len(rs))
	}
	seen := map[string]bool{}
	for _, r := range rs {
		if r.Status < 200 || r.Status > 599 {
			t.Errorf("accepted response %q has status %d", r.Path, r.Status)
		}
		if r.Body != "" && (r.Status == http.StatusNoContent || r.Status == http.StatusResetContent || r.Status == http.StatusNotModified) {
			t.Errorf("accepted response %q has a body with status %d", r.Path, r.Status)
		}
		if len(r.Body) > 64<<10 {
			t.Errorf("accepted response %q has a %d-byte body", r.Path, len(r.Body))
		}
		if _, _, err := mime.ParseMediaType(r.ContentType); err != nil || !httpguts.ValidHeaderFieldValue(r.ContentType) {
			t.Errorf("accepted response %q has Content-Type %q (%v)", r.Path, r.ContentType, err)
		}
		checkAcceptedPath(t, r.Path)
		if seen[r.Path] {
			t.Errorf("accepted path %q twice in one app", r.Path)
		}
		seen[r.Path] = true
	}
}

// checkAcceptedPath asserts that an accepted response path is what a
// request for it decodes to, exactly (escaped, sent and parsed back, it
// is the same path with no query or fragment), and that cleaning leaves
// it as it is.
func checkAcceptedPath(t *testing.T, p string) {
	t.Helper()
	if p == "" || p[0] != '/' || len(p) > 1024 {
		t.Fatalf("accepted path %q: empty, relative or longer than 1024 bytes", p)
	}
	if strings.HasPrefix(strings.ToLower(p), forcehttps.ACMEChallengePrefix) {
		t.Errorf("accepted path %q under the ACME challenge prefix", p)
	}
	want := path.Clean(p)
	if strings.HasSuffix(p, "/") && p != "/" {
		want += "/"
	}
	if want != p {
		t.Errorf("accepted path %q, which cleans to %q", p, want)
	}
	u, err := url.ParseRequestURI((&url.URL{Path: p}).EscapedPath())
	if err != nil || u.Path != p || u.RawQuery != "" || u.Fragment != "" {
		t.Errorf("accepted path %q, which a request reads back as %q (%v)", p, u, err)
	}
}

// FuzzResponsePath checks the rules for the path of a static response
// against properties: an accepted path is one that a request decodes to
// exactly, and nothing panics.
func FuzzResponsePath(f *testing.F) {
	for _, p := range []string{"/", "/health", "/dir/", "/a/./b", "/a/../b", "//", "/a%20b", "/a?b", "/a#b", "/a;b", "/a\\b", "/café", "health", "/.well-known/acme-challenge/x", "/.well-known/security.txt", "/a:b@c!$&'()*+,=~_-"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		msg := checkResponsePath(p)
		if p == "" {
			if msg != "" {
				t.Errorf("checkResponsePath(%q) = %q, want the empty path left to the caller", p, msg)
			}
			return
		}
		if msg != "" {
			return
		}
		checkAcceptedPath(t, p)
		for i := range len(p) {
			if b := p[i]; b <= ' ' || b >= 0x7f || strings.IndexByte("?#%\\;", b) >= 0 {
				t.Errorf("checkResponsePath accepted %q with byte %q", p, b)
			}
		}
	})
}

// FuzzLines checks that the line of every validation error, found in the
// document when the error is reported ([lineOf]), is the one the
// decoder saw when it read the value at that path, or at its nearest
// ancestor: the lines the decoder records when asked to (every path it
// decodes), looked up as the validator looked them up before it found
// them in the document.
func FuzzLines(f *testing.F) {
	f.Add([]byte(minimal), false)
	if data, err := os.ReadFile(filepath.Join("testdata", "invalid.yaml")); err == nil {
		f.Add(data, false)
	}
	f.Add([]byte("listen: {http: \":80\", https: \":80\"}\ntls: {self_signed: [a.example]}\napps:\n  - &a {name: a, domains: [a.example, A.example], upstream: \"ftp://x\"}\n  - *a\n"), false)
	f.Add([]byte("listen: &l {http: \"x\"}\nadmin: {listen: *l}\ntls: {}\napps:\n  - name: x\n    name: y\n    domains: [~, 1]\n    hsts: {max_age: 0}\n    security_headers: {headers: {\"X-A\": \"\\n\", \"X-A\": b}}\n"), false)
	f.Add([]byte(`{"apps": [{"name": "", "domains": [], "upstream": "", "respond": [{"path": "x", "status": 1}, null]}], "timeouts": {"idle": "-1s"}}`), true)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		format := YAML
		if isJSON {
			format = JSON
		}
		c := &Config{}
		c.setDefaults()
		d := &decoder{lines: map[string]int{}}
		root, errs := d.document(data, format, c)
		if root == nil {
			return
		}
		c.normalize()
		v := &validator{root: root, errs: errs, decoded: len(errs)}
		c.validate(v)
		for _, e := range v.errs[v.decoded:] {
			if want := recordedLine(d.lines, e.Path); e.Line != want {
				t.Errorf("%s: line %d, want %d (%s)", e.Path, e.Line, want, e.Message)
			}
		}
		for p, want := range d.lines {
			if got := lineOf(root, p); got != want {
				t.Errorf("lineOf(%q) = %d, want %d", p, got, want)
			}
		}
	})
}

// recordedLine returns the line lines records for path or, if none, for
// its nearest ancestor; 0 for none.
func recordedLine(lines map[string]int, path string) int {
	for p := path; p != ""; {
		if l, ok := lines[p]; ok {
			return l
		}
		// Drop the last segment: ".key", "[i]" or `["k"]`.
		switch i := strings.LastIndex(p, `["`); {
		case strings.HasSuffix(p, `"]`) && i >= 0:
			p = p[:i]
		default:
			p = p[:max(strings.LastIndexAny(p, ".["), 0)]
		}
	}
	return 0
}

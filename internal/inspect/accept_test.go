package inspect

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"

	"github.com/forcehttps/forcehttps"
	"github.com/google/go-cmp/cmp"
)

var acceptTests = []struct {
	name   string
	accept []string // nil: no Accept header
	json   bool
}{
	{"none", nil, false},
	{"empty", []string{""}, false},
	{"json", []string{"application/json"}, true},
	{"json case", []string{"Application/JSON"}, true},
	{"html", []string{"text/html"}, false},
	{"any (curl)", []string{"*/*"}, false},
	{"browser", []string{"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"}, false},
	{"json preferred", []string{"application/json, text/html;q=0.5"}, true},
	{"html preferred", []string{"application/json;q=0.5, text/html"}, false},
	{"tie", []string{"application/json, text/html"}, false},
	{"json refused", []string{"application/json;q=0, */*"}, false},
	{"json over wildcard", []string{"application/json, */*;q=0.1"}, true},
	{"type wildcard", []string{"application/*, text/*;q=0.2"}, true},
	{"specific beats wildcard", []string{"*/*;q=1, text/html;q=0.1"}, true},
	{"two lines", []string{"text/html;q=0.1", "application/json"}, true},
	{"spaces", []string{" application/json ; q=0.9 , text/html ; q=0.8 "}, true},
	{"q with three digits", []string{"application/json;q=0.901, text/html;q=0.9"}, true},
	{"q too precise is skipped", []string{"application/json;q=0.9001, text/html;q=0.1"}, false},
	{"q above one is skipped", []string{"application/json;q=1.5, text/html;q=0.1"}, false},
	{"q 1.000", []string{"application/json;q=1.000, text/html;q=0.999"}, true},
	{"malformed element skipped", []string{"application json, application/json"}, true},
	{"quoted comma", []string{`text/html;foo="a,application/json", */*;q=0.1`}, false},
	{"accept-ext after q", []string{"application/json;q=0.8;level=1, text/html;q=0.7"}, true},
	{"unterminated quote", []string{`application/json;x="oops, text/html`}, true},
	{"only images", []string{"image/png"}, false},
	{"bad wildcard", []string{"*/json"}, false},
}

func TestWantsJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range acceptTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := wantsJSON(tt.accept); got != tt.json {
				t.Errorf("wantsJSON(%q) = %v, want %v (ranges %+v)", tt.accept, got, tt.json, parseAccept(tt.accept))
			}
		})
	}
}

func TestParseAccept(t *testing.T) {
	t.Parallel()
	got := parseAccept([]string{`Text/HTML;Q=0.5;level="1,2", */*;q=0, bad, a/b;q=x, c/d;q=1.`})
	want := []mediaRange{{"text", "html", 500}, {"*", "*", 0}, {"c", "d", 1000}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(mediaRange{})); diff != "" {
		t.Errorf("parseAccept mismatch (-want +got):\n%s", diff)
	}
}

func TestParseQ(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in string
		q  int
		ok bool
	}{
		{"0", 0, true}, {"1", 1000, true}, {"0.5", 500, true}, {"0.05", 50, true}, {"0.005", 5, true},
		{"0.", 0, true}, {"1.", 1000, true}, {"1.000", 1000, true}, {"0.999", 999, true},
		{"", 0, false}, {"2", 0, false}, {"1.001", 0, false}, {"0.0001", 0, false}, {".5", 0, false},
		{"0,5", 0, false}, {"0.5x", 0, false}, {"-0", 0, false}, {"01", 0, false},
	}
	for _, tt := range tests {
		q, ok := parseQ(tt.in)
		if q != tt.q || ok != tt.ok {
			t.Errorf("parseQ(%q) = %d, %v, want %d, %v", tt.in, q, ok, tt.q, tt.ok)
		}
	}
}

// FuzzAccept checks properties of the Accept negotiation on any input.
func FuzzAccept(f *testing.F) {
	for _, tt := range acceptTests {
		f.Add(strings.Join(tt.accept, "\n"))
	}
	f.Fuzz(func(t *testing.T, s string) {
		lines := strings.Split(s, "\n")
		for _, mr := range parseAccept(lines) {
			if !isToken(mr.typ) || !isToken(mr.sub) || mr.typ != strings.ToLower(mr.typ) || mr.sub != strings.ToLower(mr.sub) {
				t.Fatalf("parseAccept(%q): bad range %+v", s, mr)
			}
			if mr.q < 0 || mr.q > 1000 {
				t.Fatalf("parseAccept(%q): q %d out of range", s, mr.q)
			}
		}
		got := wantsJSON(lines)
		if got && quality(parseAccept(lines), "application", "json") == 0 {
			t.Fatalf("wantsJSON(%q) = true, but JSON is not acceptable", s)
		}
		if got != wantsJSON(lines) {
			t.Fatalf("wantsJSON(%q) is not deterministic", s)
		}
		// An exact text/html at full quality always gets the page.
		if wantsJSON(append(lines, "text/html")) {
			t.Fatalf("wantsJSON(%q + text/html) = true", s)
		}
		// Refusing JSON never makes JSON preferred.
		if !got && wantsJSON(append(lines, "application/json;q=0")) {
			t.Fatalf("wantsJSON(%q + application/json;q=0) = true, was false", s)
		}
	})
}

// FuzzRender serves the page and the report of a request carrying an
// arbitrary header and request target: the page is valid UTF-8, made only
// of the elements the template writes, with the value as one text node;
// the report is valid JSON that gives the value back.
func FuzzRender(f *testing.F) {
	f.Add("X-Evil", "<script>alert(1)</script>", "/headers?q=<b>")
	f.Add("X-Forwarded-Proto", "https, http", "/headers")
	f.Add("Forwarded", `for="_x;proto=https"`, "/")
	f.Add("User-Agent", "</td></tr></table><img src=x onerror=alert(1)>", "/headers")
	f.Add("X-Latin1", "caf\xe9 \x80\xff", "/headers.json")
	f.Add("X-Comment", "<!-- a", "/headers?<![CDATA[")
	m, err := forcehttps.New(forcehttps.Config{TrustedProxies: []string{"203.0.113.0/24"}, Logger: discard})
	if err != nil {
		f.Fatal(err)
	}
	insp, err := New(Options{Middleware: m, Logger: discard, ShowCredentials: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, value, uri string) {
		name = http.CanonicalHeaderKey(name)
		if !isToken(name) || name == "Host" || name == "Accept" || strings.ContainsAny(value, "\r\n\x00") {
			return // net/http never hands such a header to a handler
		}
		if len(name)+len(value)+len(uri) > MaxHeaderBytes {
			// Nor headers larger than the server's limit (the 431 test
			// covers those); the fuzzer's multi-megabyte inputs would
			// only make each run slow.
			return
		}
		r := request{header: []string{name, value}}.build(t)
		r.RequestURI = uri
		_, page := serve(t, insp, r)
		if !utf8.ValidString(page) {
			t.Fatalf("page is not valid UTF-8 for %s: %q", name, value)
		}
		want := strings.ToValidUTF8(value, "\uFFFD")
		found := want == ""
		z := html.NewTokenizer(strings.NewReader(page))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			tok := z.Token()
			switch tt {
			case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
				if !pageElements[tok.Data] {
					t.Fatalf("page has a <%s> element for %s: %q, uri %q", tok.Data, name, value, uri)
				}
			case html.CommentToken:
				t.Fatalf("page has a comment for %s: %q, uri %q", name, value, uri)
			case html.TextToken:
				found = found || tok.Data == want
			}
		}
		if !found {
			t.Fatalf("page has no text node %q", want)
		}

		rr := request{target: "/headers.json", header: []string{name, value}}.build(t)
		_, body := serve(t, insp, rr)
		var rep Report
		if err := json.Unmarshal([]byte(body), &rep); err != nil {
			t.Fatalf("report is not JSON for %s: %q: %v", name, value, err)
		}
		if got := rep.Headers[name]; len(got) != 1 || got[0] != want {
			t.Fatalf("report gives %s = %q, want [%q]", name, got, want)
		}
	})
}

// pageElements are the elements headers.html writes.
var pageElements = map[string]bool{
	"html": true, "head": true, "meta": true, "title": true, "link": true, "body": true,
	"header": true, "h1": true, "h2": true, "h3": true, "p": true, "a": true, "main": true,
	"section": true, "span": true, "dl": true, "dt": true, "dd": true, "code": true, "br": true,
	"table": true, "colgroup": true, "col": true, "thead": true, "tbody": true, "tr": true,
	"th": true, "td": true, "div": true, "ol": true, "li": true,
}

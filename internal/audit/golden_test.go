package audit

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// weakSite gets most things a little wrong.
func weakSite() siteSpec {
	return siteSpec{
		build: build(func(p ports) (http.Handler, http.Handler) {
			https := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h := w.Header()
				h.Set("Strict-Transport-Security", "max-age=86400")
				h.Set("Content-Security-Policy", "script-src 'self' 'unsafe-inline' http://cdn.example.test; object-src 'none'")
				h.Set("X-Frame-Options", "SAMEORIGIN")
				h.Set("Referrer-Policy", "unsafe-url")
				h.Set("Cross-Origin-Resource-Policy", "bogus")
				h.Add("Set-Cookie", "sessionid=abc; Path=/")
				h.Add("Set-Cookie", "__Host-pref=1; Secure; Path=/; Domain=example.test; SameSite=Lax")
				io.WriteString(w, "weak\n")
			})
			return https, redirectTo(http.StatusFound, p.httpsURL("example.test", "/"))
		}),
		tls: func(c *tls.Config) { c.MinVersion = tls.VersionTLS10 },
	}
}

// normalize replaces what changes from run to run: the ports, and the TLS
// 1.3 cipher suite, which Go picks by the CPU's AES support.
func normalize(b []byte, s *site) []byte {
	out := string(b)
	out = strings.ReplaceAll(out, ":"+strconv.Itoa(s.httpsPort), ":{https-port}")
	out = strings.ReplaceAll(out, ":"+strconv.Itoa(s.httpPort), ":{http-port}")
	for _, c := range []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"} {
		out = strings.ReplaceAll(out, c, "{tls13-cipher}")
	}
	return []byte(out)
}

func TestGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec siteSpec
	}{
		{"defaults", defaultsSite(t)},
		{"hello", siteSpec{https: hello}},
		{"weak", weakSite()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := serve(t, tt.spec)
			rep := s.run(t)
			var text, js bytes.Buffer
			if err := WriteText(&text, rep, false); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&js, rep); err != nil {
				t.Fatal(err)
			}
			if !json.Valid(js.Bytes()) {
				t.Fatalf("WriteJSON wrote invalid JSON:\n%s", js.Bytes())
			}
			golden(t, tt.name+".txt", normalize(text.Bytes(), s))
			golden(t, tt.name+".json", normalize(js.Bytes(), s))
		})
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("report %s mismatch (-want +got):\n%s", name, diff)
	}
}

// TestWriteTextColor checks that colour is added only when asked for.
func TestWriteTextColor(t *testing.T) {
	t.Parallel()
	rep := serve(t, siteSpec{https: hello}).run(t)
	for _, color := range []bool{false, true} {
		var b bytes.Buffer
		if err := WriteText(&b, rep, color); err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(b.Bytes(), []byte("\x1b[")); got != color {
			t.Errorf("WriteText(color=%v) has escape sequences: %v", color, got)
		}
	}
}

func TestSanitize(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"plain https://example.com/ é": "plain https://example.com/ é",
		"\x1b[31mred\x1b[0m":           `\x1b[31mred\x1b[0m`,
		"a\nb\tc\x7f":                  `a\nb\tc\x7f`,
		"bad \xff byte":                `bad \xff byte`,
		"c1 \u009b control":            `c1 \u009b control`,
		"real \ufffd kept":             "real \ufffd kept",
	}
	for in, want := range tests {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWriteTextHostile checks that what a server sends cannot drive the
// terminal through the text report.
func TestWriteTextHostile(t *testing.T) {
	t.Parallel()
	rep := &Report{
		Target: "https://example.test/",
		HTTP: Chain{Start: "http://example.test/", Hops: []Hop{
			{URL: "http://example.test/", Status: 301, Location: "https://example.test/\x1b]0;owned\x07"},
		}},
		TLS:      TLSInfo{Certificate: &Certificate{Subject: "CN=\x1b[2J", DNSNames: []string{"a\x1b[1m"}}},
		Findings: []Finding{{ID: "x", Category: CategoryTLS, Severity: Fail, Message: "cert names \x1b[31m", Fix: "\x9b1m"}},
	}
	for _, color := range []bool{false, true} {
		var b bytes.Buffer
		if err := WriteText(&b, rep, color); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if !color && strings.ContainsAny(out, "\x1b\x07\u009b") {
			t.Errorf("WriteText(color=false) printed control characters:\n%q", out)
		}
		if color && (strings.Contains(out, "\x1b]") || strings.Contains(out, "\x1b[2J") || strings.Contains(out, "\u009b")) {
			t.Errorf("WriteText(color=true) printed the server's control sequences:\n%q", out)
		}
	}
}

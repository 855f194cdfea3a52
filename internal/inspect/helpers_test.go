package inspect

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/forcehttps/forcehttps"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// discard is a logger for middlewares built in tests, which warn about an
// empty AllowedHosts.
var discard = slog.New(slog.DiscardHandler)

// newInspector builds a middleware from cfg and an inspector on it.
func newInspector(t testing.TB, cfg forcehttps.Config, opts Options) (*Inspector, *forcehttps.Middleware) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = discard
	}
	m, err := forcehttps.New(cfg)
	if err != nil {
		t.Fatalf("forcehttps.New: %v", err)
	}
	opts.Middleware = m
	if opts.Logger == nil {
		opts.Logger = discard
	}
	insp, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return insp, m
}

// request describes a test request.
type request struct {
	method string
	target string   // default "/headers"
	host   string   // default "example.com"
	remote string   // default "203.0.113.9:1234"
	tls    bool     // a TLS 1.3 connection with SNI host and ALPN h2
	header []string // name, value pairs; a name may repeat
}

func (q request) build(t testing.TB) *http.Request {
	t.Helper()
	method, target := q.method, q.target
	if method == "" {
		method = http.MethodGet
	}
	if target == "" {
		target = "/headers"
	}
	r := httptest.NewRequest(method, target, nil)
	r.Host = "example.com"
	if q.host != "" {
		r.Host = q.host
	}
	r.RemoteAddr = "203.0.113.9:1234"
	if q.remote != "" {
		r.RemoteAddr = q.remote
	}
	if q.tls {
		r.TLS = &tls.ConnectionState{
			Version:            tls.VersionTLS13,
			CipherSuite:        tls.TLS_AES_128_GCM_SHA256,
			ServerName:         r.Host,
			NegotiatedProtocol: "h2",
			HandshakeComplete:  true,
		}
	} else {
		r.TLS = nil
	}
	for i := 0; i+1 < len(q.header); i += 2 {
		r.Header.Add(q.header[i], q.header[i+1])
	}
	return r
}

// serve runs h on r and returns the recorded response and its body.
func serve(t testing.TB, h http.Handler, r *http.Request) (*http.Response, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return res, string(b)
}

// decodeReport parses a JSON report.
func decodeReport(t testing.TB, body string) Report {
	t.Helper()
	var rep Report
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("json.Unmarshal(report): %v\n%s", err, body)
	}
	return rep
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got), run go test -update if the change is intended:\n%s", path, diff)
	}
}

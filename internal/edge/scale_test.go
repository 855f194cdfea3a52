package edge

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/forcehttps/forcehttps/internal/config"
	"github.com/forcehttps/forcehttps/internal/testutil"
)

// scaleApps returns an apps section of n apps with per domains each.
func scaleApps(n, per int) string {
	var sb strings.Builder
	sb.WriteString("apps:\n")
	for i := range n {
		fmt.Fprintf(&sb, "  - {name: app%d, upstream: \"http://127.0.0.1:1\", domains: [", i)
		for j := range per {
			if j > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "d%d.app%d.example.com", j, i)
		}
		sb.WriteString("]}\n")
	}
	return sb.String()
}

// BenchmarkBuild100k measures parsing, validating and building the
// routing snapshot of 100 000 domains (10 000 apps of 10 domains), and
// reports the heap the snapshot keeps live.
func BenchmarkBuild100k(b *testing.B) {
	loadTestCert()
	data := []byte(base + scaleApps(10000, 10))
	s := benchEdge(b, "apps:\n  - {name: one, domains: [one.example.com], upstream: \"http://127.0.0.1:1\"}\n", nil)
	for b.Loop() {
		c, err := config.Parse(data, config.YAML)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.build(c); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c, _ := config.Parse(data, config.YAML)
	keep, _ := s.build(c)
	c = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-live")
	b.ReportMetric(float64(after.HeapObjects-before.HeapObjects), "objects-live")
	runtime.KeepAlive(keep)
	runtime.KeepAlive(c)
}

// benchFileApps returns the apps of the benchmark harness's large
// configuration (bench/run.sh, scenario 6): n apps of per domains
// dK.bench.test, each with HSTS and one static answer, in block style.
func benchFileApps(n, per int) string {
	var sb strings.Builder
	sb.WriteString("apps:\n")
	for a := range n {
		fmt.Fprintf(&sb, "  - name: app%d\n    domains: [", a+1)
		for k := a*per + 1; k <= (a+1)*per; k++ {
			if k > a*per+1 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "d%d.bench.test", k)
		}
		sb.WriteString("]\n    upstream: \"http://127.0.0.1:1\"\n    force_https: true\n" +
			"    hsts: {max_age: 31536000}\n    respond:\n      - {path: /health, body: \"ok\\n\"}\n")
	}
	return sb.String()
}

// BenchmarkLoad100k measures what an edge does from its configuration
// file to a live table of 100 000 domains (10 000 apps of 10, as in the
// benchmark harness's scenario 6): config.Load (reading, decoding,
// validating, checking the certificate files), New and Listen (the
// routing table's build and the release of its garbage). It reports the
// heap the running edge keeps live. Compare runs with benchstat.
func BenchmarkLoad100k(b *testing.B) {
	dir := b.TempDir()
	ca := testutil.NewCA(b, testutil.CAOptions{})
	leaf := ca.Issue(b, testutil.LeafOptions{Names: []string{"*.bench.test"}})
	testutil.WriteFile(b, filepath.Join(dir, "cert.pem"), leaf.ChainPEM())
	testutil.WriteFile(b, filepath.Join(dir, "key.pem"), leaf.KeyPEM())
	path := filepath.Join(dir, "edge.yaml")
	testutil.WriteFile(b, path, []byte(`listen: {http: "127.0.0.1:0", https: "127.0.0.1:0"}
tls:
  certificates:
    - {cert_file: cert.pem, key_file: key.pem}
access_log: {output: "off"}
`+benchFileApps(10000, 10)))
	load := func() *Server {
		c, err := config.Load(path)
		if err != nil {
			b.Fatal(err)
		}
		s, err := New(c, &testCerts{}, WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Listen(); err != nil {
			b.Fatal(err)
		}
		if s.snap.Load().route("d100000.bench.test") == nil {
			b.Fatal("the last domain is not routed")
		}
		return s
	}
	b.ReportAllocs()
	for b.Loop() {
		load().Close()
	}
	b.StopTimer()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := load()
	defer s.Close()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-live")
}

// TestValidatesWhatIsNotKnownValid checks that New, Reload and the
// overlay skip validation only for a configuration as config.Parse
// returned it: one built in code, changed in place or changed in a copy
// is validated, and refused when invalid.
func TestValidatesWhatIsNotKnownValid(t *testing.T) {
	t.Parallel()
	loadTestCert()
	apps := "apps:\n  - {name: one, domains: [one.example.com], upstream: \"http://127.0.0.1:1\"}\n"
	parsed := func() *config.Config { return mustParse(t, base+apps) }
	invalid := map[string]func() *config.Config{
		"built in code": func() *config.Config {
			c := parsed()
			return &config.Config{Listen: c.Listen, TLS: c.TLS, Apps: []config.App{{Name: "one", Domains: []string{"one.example.com"}, Upstream: "ftp://x"}},
				Timeouts: c.Timeouts, Limits: c.Limits, AccessLog: c.AccessLog}
		},
		"changed in place": func() *config.Config { c := parsed(); c.Apps[0].Upstream = "ftp://x"; return c },
		"a copy changed": func() *config.Config {
			c := *parsed()
			c.Apps = []config.App{c.Apps[0]}
			c.Apps[0].Domains = []string{"-"}
			return &c
		},
	}
	for name, cfg := range invalid {
		t.Run(name, func(t *testing.T) {
			if !parsed().Checked() {
				t.Fatal("a parsed configuration is not known valid")
			}
			if _, err := New(cfg(), &testCerts{}, WithLogger(slog.New(slog.DiscardHandler))); err == nil {
				t.Error("New accepted an invalid configuration")
			}
			s, err := New(parsed(), &testCerts{}, WithLogger(slog.New(slog.DiscardHandler)), WithAccessLog(nil),
				WithOverlay(func(*config.Config) *config.Config { return cfg() }))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Listen(); err == nil {
				s.Close()
				t.Fatal("Listen accepted an overlay that returns an invalid configuration")
			}
			s, err = New(parsed(), &testCerts{}, WithLogger(slog.New(slog.DiscardHandler)), WithAccessLog(nil))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Listen(); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Reload(context.Background(), cfg()); err == nil {
				t.Error("Reload accepted an invalid configuration")
			}
		})
	}
}

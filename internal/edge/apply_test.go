package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/forcehttps/forcehttps/internal/config"
)

// deltaCerts is testCerts that takes deltas too, and records them.
type deltaCerts struct {
	testCerts
	added, removed []string
}

func (c *deltaCerts) UpdateDomains(_ context.Context, add, remove []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	c.added = append(c.added, add...)
	c.removed = append(c.removed, remove...)
	return nil
}

// appOf decodes an app written in JSON, named name.
func appOf(t testing.TB, name, def string) *config.App {
	t.Helper()
	a, err := config.DecodeApp([]byte(def))
	if err != nil {
		t.Fatalf("DecodeApp(%s): %v", def, err)
	}
	a.Name = name
	return a
}

// change is one app change: the app's definition in JSON, "" to remove
// it.
type change struct{ name, def string }

const applyBase = `apps:
  - {name: a, domains: [a1.example.com, a2.example.com], upstream: "http://127.0.0.1:1"}
  - {name: b, domains: [b.example.com, "*.b.example.com"], upstream: "http://127.0.0.1:2"}
  - {name: c, domains: [c.example.com], upstream: "h2c://127.0.0.1:3", force_https: false}
`

// applyEdge returns a listening server (not serving) of base+apps with
// certs as its certificate manager.
func applyEdge(t testing.TB, apps string, certs Certificates) *Server {
	t.Helper()
	loadTestCert()
	s, err := New(mustParse(t, base+apps), certs, WithLogger(slog.New(slog.DiscardHandler)), WithAccessLog(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestApplyAppMatchesBuild applies changes one app at a time and checks
// that every host routes as in a table built whole from the resulting
// configuration.
func TestApplyAppMatchesBuild(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		changes []change
	}{
		{"add a domain", []change{{"a", `{"domains":["a1.example.com","a2.example.com","a3.example.com"],"upstream":"http://127.0.0.1:1"}`}}},
		{"remove a domain", []change{{"a", `{"domains":["a2.example.com"],"upstream":"http://127.0.0.1:1"}`}}},
		{"create", []change{{"d", `{"domains":["d.example.com","*.d.example.com"],"upstream":"https://127.0.0.1:4","http2":true}`}}},
		{"delete", []change{{"b", ""}}},
		{"delete unknown", []change{{"zz", ""}}},
		{"replace policy", []change{{"c", `{"domains":["c.example.com"],"upstream":"http://127.0.0.1:3","hsts":{"max_age":300},"redirect":{"status":308}}`}}},
		{"move a domain", []change{
			{"a", `{"domains":["a1.example.com"],"upstream":"http://127.0.0.1:1"}`},
			{"c", `{"domains":["c.example.com","a2.example.com"],"upstream":"h2c://127.0.0.1:3","force_https":false}`},
		}},
		{"move a wildcard", []change{
			{"b", `{"domains":["b.example.com"],"upstream":"http://127.0.0.1:2"}`},
			{"a", `{"domains":["a1.example.com","*.b.example.com"],"upstream":"http://127.0.0.1:1"}`},
		}},
		{"delete and create again", []change{{"a", ""}, {"a", `{"domains":["a1.example.com"],"upstream":"http://127.0.0.1:9"}`}}},
		{"many", []change{
			{"e", `{"domains":["e.example.com"],"upstream":"http://127.0.0.1:5"}`},
			{"f", `{"domains":["f.example.com"],"upstream":"http://127.0.0.1:6"}`},
			{"e", `{"domains":["e.example.com","e2.example.com"],"upstream":"http://127.0.0.1:5"}`},
			{"f", ""},
			{"b", `{"domains":["*.b.example.com"],"upstream":"http://127.0.0.1:2","force_https":false}`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := applyEdge(t, applyBase, &deltaCerts{})
			apps := slices.Clone(mustParse(t, base+applyBase).Apps)
			for _, c := range tt.changes {
				var ac *config.App
				if c.def != "" {
					ac = appOf(t, c.name, c.def)
				}
				if err := s.ApplyApp(context.Background(), c.name, ac); err != nil {
					t.Fatalf("ApplyApp(%s): %v", c.name, err)
				}
				i := slices.IndexFunc(apps, func(a config.App) bool { return a.Name == c.name })
				switch {
				case ac == nil && i >= 0:
					apps = slices.Delete(apps, i, i+1)
				case ac != nil && i >= 0:
					apps[i] = *ac
				case ac != nil:
					apps = append(apps, *ac)
				}
			}
			cfg := mustParse(t, base+applyBase)
			cfg.Apps = apps
			if err := cfg.Validate(); err != nil {
				t.Fatalf("the final configuration is invalid: %v", err)
			}
			s.mu.Lock()
			whole, err := s.build(cfg)
			s.mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			compareTables(t, s.snap.Load(), whole)
		})
	}
}

// compareTables checks that got routes every host of want, and a few
// others, to an app of the same name, configuration and target.
func compareTables(t *testing.T, got, want *snapshot) {
	t.Helper()
	if got.apps.len() != want.apps.len() || got.exact.len() != want.exact.len() || got.wildcard.len() != want.wildcard.len() {
		t.Errorf("sizes: apps %d exact %d wildcard %d, want %d %d %d",
			got.apps.len(), got.exact.len(), got.wildcard.len(), want.apps.len(), want.exact.len(), want.wildcard.len())
	}
	hosts := []string{"unknown.example.com", "x.y.b.example.com", "example.com"}
	want.exact.all(func(h string, _ *app) bool { hosts = append(hosts, h); return true })
	want.wildcard.all(func(p string, _ *app) bool { hosts = append(hosts, p, "sub."+p); return true })
	got.exact.all(func(h string, _ *app) bool { hosts = append(hosts, h); return true })
	for _, h := range hosts {
		g, w := got.lookup(h), want.lookup(h)
		if (g == nil) != (w == nil) {
			t.Errorf("%s: routed to %v, want %v", h, appName(g), appName(w))
			continue
		}
		if g == nil {
			continue
		}
		if g.name != w.name || g.force != w.force || g.target.String() != w.target.String() || g.transport == nil {
			t.Errorf("%s: app %s force %v target %s, want %s %v %s", h, g.name, g.force, g.target, w.name, w.force, w.target)
		}
		if diff := cmp.Diff(w.cfg, g.cfg); diff != "" {
			t.Errorf("%s: app configuration mismatch (-want +got):\n%s", h, diff)
		}
		if g.snap.route(h) != g {
			t.Errorf("%s: the app's own route does not find it", h)
		}
	}
	gd, wd := got.domains(), want.domains()
	slices.Sort(gd)
	slices.Sort(wd)
	if diff := cmp.Diff(wd, gd); diff != "" {
		t.Errorf("domains mismatch (-want +got):\n%s", diff)
	}
}

func appName(a *app) string {
	if a == nil {
		return "none"
	}
	return a.name
}

// TestApplyAppRefused checks that a change the validation refuses leaves
// the table and the certificate manager as they were, and says why.
func TestApplyAppRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, app, def string
		want           string // in the error
	}{
		{"domain of another app", "a", `{"domains":["a1.example.com","b.example.com"],"upstream":"http://127.0.0.1:1"}`,
			`domains[1]: "b.example.com" is also a domain of app "b"`},
		{"wildcard of another app", "d", `{"domains":["*.B.example.com."],"upstream":"http://127.0.0.1:1"}`,
			`is also a domain of app "b"`},
		{"domain listed twice", "d", `{"domains":["d.example.com","D.example.com"],"upstream":"http://127.0.0.1:1"}`, "listed twice"},
		{"invalid wildcard", "d", `{"domains":["a.*.example.com"],"upstream":"http://127.0.0.1:1"}`, "domains[0]"},
		{"bad upstream", "d", `{"domains":["d.example.com"],"upstream":"ftp://x"}`, "upstream"},
		{"no domain", "d", `{"domains":[],"upstream":"http://127.0.0.1:1"}`, "at least one domain"},
		{"name in another case", "A", `{"domains":["d.example.com"],"upstream":"http://127.0.0.1:1"}`, `is also the name of app "a"`},
		{"unknown builtin", "d", `{"domains":["d.example.com"],"upstream":"builtin:inspector"}`, "not available"},
		{"bad policy", "d", `{"domains":["d.example.com"],"upstream":"http://127.0.0.1:1","hsts":{"preload":true,"max_age":300}}`, "preload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			certs := &deltaCerts{}
			s := applyEdge(t, applyBase, certs)
			before := s.snap.Load()
			ac := appOf(t, tt.app, tt.def)
			if err := s.CheckApp(tt.app, ac); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckApp = %v, want an error with %q", err, tt.want)
			}
			err := s.ApplyApp(context.Background(), tt.app, ac)
			var ve *config.ValidationError
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.As(err, &ve) {
				t.Errorf("ApplyApp = %v, want a validation error with %q", err, tt.want)
			}
			if s.snap.Load() != before {
				t.Error("the table changed")
			}
			if len(certs.added)+len(certs.removed) > 0 {
				t.Errorf("the certificate manager was told %q %q", certs.added, certs.removed)
			}
		})
	}
}

// TestApplyAppCertificates checks what the certificate manager is told:
// the delta, or every domain when it takes no delta; and that its
// refusal refuses the change.
func TestApplyAppCertificates(t *testing.T) {
	t.Parallel()
	certs := &deltaCerts{}
	s := applyEdge(t, applyBase, certs)
	ctx := context.Background()
	if err := s.ApplyApp(ctx, "a", appOf(t, "a", `{"domains":["A1.example.com.","a3.example.com"],"upstream":"http://127.0.0.1:1"}`)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(certs.added, []string{"a3.example.com"}) || !slices.Equal(certs.removed, []string{"a2.example.com"}) {
		t.Errorf("told add %q remove %q, want a3 and a2", certs.added, certs.removed)
	}
	before := s.snap.Load()
	certs.fail = errors.New("no")
	if err := s.ApplyApp(ctx, "a", nil); err == nil || !strings.Contains(err.Error(), "certificates: no") {
		t.Errorf("ApplyApp with a failing manager = %v", err)
	}
	if s.snap.Load() != before {
		t.Error("the table changed though the certificate manager refused")
	}

	whole := &testCerts{}
	s2 := applyEdge(t, applyBase, whole)
	if err := s2.ApplyApp(ctx, "b", nil); err != nil {
		t.Fatal(err)
	}
	got := whole.lastManaged()
	slices.Sort(got)
	if want := []string{"a1.example.com", "a2.example.com", "c.example.com"}; !slices.Equal(got, want) {
		t.Errorf("ManageDomains(%q), want %q", got, want)
	}
}

// TestApplyAppInFlight checks that a request in flight keeps the app it
// started with when the app is deleted, and that new requests no longer
// find it.
func TestApplyAppInFlight(t *testing.T) {
	t.Parallel()
	slow, arrived, release := slowServer(t, "slow answer")
	h := startEdge(t, fmt.Sprintf("apps:\n  - {name: slow, domains: [slow.example.com], upstream: %q, force_https: false}\n", slow))
	client := h.client(false)
	done := getAsync(client, "http://slow.example.com/")
	<-arrived
	if err := h.srv.ApplyApp(context.Background(), "slow", nil); err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get("http://slow.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("a request after the delete = %d, want 404", resp.StatusCode)
	}
	close(release)
	if r := <-done; r.err != nil || r.status != 200 || r.body != "slow answer" {
		t.Errorf("the request in flight = %d %q %v, want 200 with the app's answer", r.status, r.body, r.err)
	}
}

// TestApplyAppMetrics checks that a deleted app's series go and a new
// app's appear at its first request, not before.
func TestApplyAppMetrics(t *testing.T) {
	t.Parallel()
	h := startEdge(t, "apps:\n  - {name: old, domains: [old.example.com], upstream: \"http://127.0.0.1:1\"}\n  - {name: keep, domains: [keep.example.com], upstream: \"http://127.0.0.1:1\"}\n")
	client := h.client(false)
	for _, host := range []string{"old.example.com", "keep.example.com"} {
		resp, err := client.Get("http://" + host + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	scrape := func() string {
		resp, err := http.Get("http://" + h.addrs.Admin + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	// A request is counted once answered: wait for both.
	waitFor(t, "the requests to be counted", func() bool {
		m := scrape()
		return strings.Contains(m, `app="old",code="301"`) && strings.Contains(m, `app="keep",code="301"`)
	})
	if m := scrape(); strings.Contains(m, `app="new"`) {
		t.Fatalf("before the change: series of new present")
	}
	ctx := context.Background()
	if err := h.srv.ApplyApp(ctx, "old", nil); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.ApplyApp(ctx, "new", appOf(t, "new", `{"domains":["new.example.com"],"upstream":"http://127.0.0.1:1"}`)); err != nil {
		t.Fatal(err)
	}
	m := scrape()
	if strings.Contains(m, `app="old"`) {
		t.Error("the deleted app's series are still there")
	}
	if strings.Contains(m, `app="new"`) {
		t.Error("series of new before its first request")
	}
	resp, err := client.Get("http://new.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitFor(t, "the new app's request to be counted", func() bool {
		return strings.Contains(scrape(), `app="new",code="301"`)
	})
	m = scrape()
	for _, want := range []string{`app="new",reason="plain-http"`, `app="keep",code="301"`, "forcehttps_edge_apply_seconds_count 2"} {
		if !strings.Contains(m, want) {
			t.Errorf("no %s in the metrics", want)
		}
	}
}

// TestApplyAppConcurrent routes hosts while apps change, for the race
// detector: an app no change touches always routes to itself, and a
// changing one to itself or to nothing.
func TestApplyAppConcurrent(t *testing.T) {
	t.Parallel()
	s := applyEdge(t, applyBase, &deltaCerts{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	defer func() {
		close(stop)
		wg.Wait()
	}()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				sn := s.snap.Load()
				if a := sn.route("a1.example.com:80"); a == nil || a.name != "a" {
					t.Errorf("a1.example.com routed to %v", appName(a))
					return
				}
				if a := sn.route("x.d.example.com"); a != nil && a.name != "d" {
					t.Errorf("x.d.example.com routed to %s", a.name)
					return
				}
			}
		}()
	}
	ctx := context.Background()
	d := appOf(t, "d", `{"domains":["d.example.com","*.d.example.com"],"upstream":"http://127.0.0.1:4"}`)
	for i := range 200 {
		var ac *config.App
		if i%2 == 0 {
			c := *d
			ac = &c
		}
		if err := s.ApplyApp(ctx, "d", ac); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkApplyDomain100k measures one domain added to an app and
// removed again on an edge serving 100 000 domains (10 000 apps of 10
// domains): two changes per iteration.
func BenchmarkApplyDomain100k(b *testing.B) {
	s := applyEdge(b, scaleApps(10000, 10), &deltaCerts{})
	ctx := context.Background()
	orig := *s.snap.Load().app("app5000").cfg
	grown := orig
	grown.Domains = append(slices.Clone(orig.Domains), "new.app5000.example.com")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		add, remove := grown, orig // ApplyApp keeps what it is given
		if err := s.ApplyApp(ctx, "app5000", &add); err != nil {
			b.Fatal(err)
		}
		if err := s.ApplyApp(ctx, "app5000", &remove); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookup100k measures the routing of one host in a table of
// 100 000 domains, against a plain map of the same hosts (what the table
// was before it was sharded).
func BenchmarkLookup100k(b *testing.B) {
	s := applyEdge(b, scaleApps(10000, 10), &deltaCerts{})
	sn := s.snap.Load()
	plain := map[string]*app{}
	sn.exact.all(func(h string, a *app) bool { plain[h] = a; return true })
	hosts := []string{"d3.app4321.example.com", "d9.app9999.example.com", "unknown.example.com"}
	b.Run("index", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if a := sn.lookup(hosts[i%3]); a == nil && i%3 != 2 {
				b.Fatal("not found")
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if a := plain[hosts[i%3]]; a == nil && i%3 != 2 {
				b.Fatal("not found")
			}
		}
	})
}

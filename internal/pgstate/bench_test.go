package pgstate_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/pgtest"
)

// BenchmarkPropagation toggles Force HTTPS 100 times per iteration, on
// each of three replicas in turn, and measures how long the two others
// take to serve the change (plain HTTP answered with a redirect, or no
// longer), from the end of the API call: p50 and p99 in milliseconds.
//
//	go test -run '^$' -bench Propagation -benchtime 1x ./internal/pgstate/
func BenchmarkPropagation(b *testing.B) {
	db := pgtest.Start(b)
	up, dir := backend(b), b.TempDir()
	var rs []*replica
	for _, name := range []string{"a", "b", "c"} {
		rs = append(rs, startReplica(b, db, up, testOptions(name, dir), nil))
	}
	clients := make([]*http.Client, len(rs))
	for i, r := range rs {
		clients[i] = r.client()
	}
	var delays []time.Duration
	b.ResetTimer()
	for range b.N {
		for i := range 100 {
			writer := i % len(rs)
			enable := i%2 == 0
			path := "/api/apps/shop/disable"
			body := `{"drain": "0s"}`
			if enable {
				path, body = "/api/apps/shop/enable", `{"force": true}`
			}
			if code, out := rs[writer].api("POST", path, body); code != http.StatusOK {
				b.Fatalf("toggle %d on %s: %d %v", i, rs[writer].name, code, out)
			}
			done := time.Now()
			for j, r := range rs {
				if j == writer {
					continue
				}
				eventually(b, 5*time.Second, r.name+" follows", func() (bool, string) {
					ok, detail := r.redirects(clients[j])
					return ok == enable, detail
				})
				delays = append(delays, time.Since(done))
			}
		}
	}
	b.StopTimer()
	slices.Sort(delays)
	pct := func(p float64) float64 {
		return float64(delays[int(p*float64(len(delays)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(delays[len(delays)-1])/float64(time.Millisecond), "max-ms")
}

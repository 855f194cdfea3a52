package edge

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/forcehttps/forcehttps/internal/config"
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

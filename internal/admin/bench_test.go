package admin

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

// BenchmarkAddDomain10kApps measures a domain added to an API app and
// removed again, through the admin (not HTTP), on an edge whose file has
// 10 000 apps of 10 domains: two changes per iteration, the state kept in
// memory (no file written).
func BenchmarkAddDomain10kApps(b *testing.B) {
	e := newEnv(b)
	e.options = func(o *Options) { o.StateFile = "" }
	data, err := os.ReadFile(e.cfgFile)
	if err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	sb.Write(data)
	sb.WriteString("\n")
	cfg := sb.String()
	var apps strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&apps, "  - {name: app%d, upstream: \"http://127.0.0.1:1\", force_https: false, domains: [", i)
		for j := range 10 {
			if j > 0 {
				apps.WriteString(", ")
			}
			fmt.Fprintf(&apps, "d%d.app%d.example.com", j, i)
		}
		apps.WriteString("]}\n")
	}
	cfg = strings.Replace(cfg, "apps:\n", "apps:\n"+apps.String(), 1)
	if err := os.WriteFile(e.cfgFile, []byte(cfg), 0o644); err != nil {
		b.Fatal(err)
	}
	in := e.start(b, newClock())
	ctx := context.Background()
	if _, err := in.adm.CreateApp(ctx, []byte(`{"name":"shop","domains":["shop.api.test"],"upstream":"http://127.0.0.1:9"}`)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := in.adm.AddDomain(ctx, "shop", "www.api.test"); err != nil {
			b.Fatal(err)
		}
		if err := in.adm.RemoveDomain(ctx, "shop", "www.api.test"); err != nil {
			b.Fatal(err)
		}
	}
}

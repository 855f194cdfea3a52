package certs

import (
	"context"
	"log/slog"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

func TestCollector(t *testing.T) {
	t.Parallel()
	a := ACME{Directory: "https://127.0.0.1:1/directory", Storage: t.TempDir(), OnDemand: true}
	m, err := New(context.Background(), Options{ACME: &a, SelfSigned: []string{"localhost"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.ManageDomains(context.Background(), []string{"a.example.com", "b.example.com"}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m.Collector())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			key := f.GetName()
			for _, l := range s.GetLabel() {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			got[key] = s.GetGauge().GetValue() + s.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		"forcehttps_edge_acme_domains{state=pending}":                      2,
		"forcehttps_edge_acme_domains{state=issued}":                       0,
		"forcehttps_edge_acme_domains{state=failed}":                       0,
		"forcehttps_edge_acme_on_demand_orders_total":                      0,
		"forcehttps_edge_acme_on_demand_refused_total{reason=order-limit}": 0,
		"forcehttps_edge_acme_on_demand_refused_total{reason=backoff}":     0,
		"forcehttps_edge_acme_on_demand_refused_total{reason=timeout}":     0,
		"forcehttps_edge_acme_on_demand_refused_total{reason=failed}":      0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics mismatch (-want +got):\n%s", diff)
	}
}

// BenchmarkHTTPSReady measures what the edge pays per plain-HTTP request
// it would redirect, with 100 000 managed domains.
func BenchmarkHTTPSReady(b *testing.B) {
	a := ACME{Directory: "https://127.0.0.1:1/directory", Storage: b.TempDir(), OnDemand: true}
	m, err := New(context.Background(), Options{ACME: &a, SelfSigned: []string{"localhost"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	names := make([]string, 100_000)
	for i := range names {
		names[i] = "d" + strconv.Itoa(i) + ".example.com"
	}
	if err := m.ManageDomains(context.Background(), names); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if !m.HTTPSReady(names[(i*7919)%len(names)]) {
			b.Fatal("an on-demand name not asked for yet is not ready")
		}
	}
}

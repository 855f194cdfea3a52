package certs

import "github.com/prometheus/client_golang/prometheus"

// Collector returns the Prometheus metrics of ACME certificates, read at
// each scrape:
//
//   - forcehttps_edge_acme_domains{state}: managed domains by state
//     (pending, issued, failed);
//   - forcehttps_edge_acme_on_demand_orders_total: on-demand orders
//     started;
//   - forcehttps_edge_acme_on_demand_refused_total{reason}: handshakes
//     that failed for want of an on-demand certificate, by reason
//     (order-limit, backoff, timeout, failed).
func (m *Manager) Collector() prometheus.Collector {
	return &collector{
		m: m,
		domains: prometheus.NewDesc("forcehttps_edge_acme_domains",
			"Domains under ACME management, by state of their certificate: pending (ordering, or on demand and not asked yet), issued, failed (waiting for the next try).",
			[]string{"state"}, nil),
		orders: prometheus.NewDesc("forcehttps_edge_acme_on_demand_orders_total",
			"On-demand certificate orders started.", nil, nil),
		refused: prometheus.NewDesc("forcehttps_edge_acme_on_demand_refused_total",
			"TLS handshakes that failed for want of an on-demand certificate, by reason: order-limit (tls.acme.on_demand_orders_per_hour reached), backoff (the last order failed recently), timeout (tls.acme.on_demand_timeout passed), failed (the order failed).",
			[]string{"reason"}, nil),
	}
}

type collector struct {
	m                        *Manager
	domains, orders, refused *prometheus.Desc
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.domains
	ch <- c.orders
	ch <- c.refused
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for st, n := range c.m.StateCounts() {
		ch <- prometheus.MustNewConstMetric(c.domains, prometheus.GaugeValue, float64(n), string(st))
	}
	ch <- prometheus.MustNewConstMetric(c.orders, prometheus.CounterValue, float64(c.m.OnDemandOrders()))
	for reason, n := range c.m.OnDemandRefusals() {
		ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(n), reason)
	}
}

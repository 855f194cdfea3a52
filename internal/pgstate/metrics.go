package pgstate

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	descUp = prometheus.NewDesc("forcehttps_cluster_store_up",
		"1 while the cluster's database answers, 0 while it is unreachable (the last state keeps being served).", nil, nil)
	descVersion = prometheus.NewDesc("forcehttps_cluster_state_version",
		"The Force HTTPS state version this replica applies.", nil, nil)
	descNewest = prometheus.NewDesc("forcehttps_cluster_state_version_newest",
		"The newest state version this replica has seen in the database.", nil, nil)
	descMembers = prometheus.NewDesc("forcehttps_cluster_members",
		"Replicas in the members table as of the last heartbeat, by state: converged (applies the newest state), behind, gone (silent past member_timeout).",
		[]string{"state"}, nil)
)

// Describe implements prometheus.Collector.
func (s *Store) Describe(ch chan<- *prometheus.Desc) {
	ch <- descUp
	ch <- descVersion
	ch <- descNewest
	ch <- descMembers
}

// Collect implements prometheus.Collector, from what the heartbeat read:
// a scrape never waits for the database.
func (s *Store) Collect(ch chan<- prometheus.Metric) {
	st := s.Status(context.Background())
	up := 0.0
	if st.StoreReachable {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(descVersion, prometheus.GaugeValue, float64(max(s.applied(), 0)))
	ch <- prometheus.MustNewConstMetric(descNewest, prometheus.GaugeValue, float64(st.StateVersion))
	counts := map[string]float64{"converged": 0, "behind": 0, "gone": 0}
	for _, m := range st.Members {
		switch {
		case m.Gone:
			counts["gone"]++
		case m.Converged:
			counts["converged"]++
		default:
			counts["behind"]++
		}
	}
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(descMembers, prometheus.GaugeValue, n, state)
	}
}

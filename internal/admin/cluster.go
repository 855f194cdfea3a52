package admin

import (
	"context"
	"net/http"
	"time"
)

// Cluster reports the replicas that share the state: what
// GET /api/cluster and the dashboard show.
type Cluster interface {
	// Status returns the replicas as last seen, and whether the store
	// answers. It must not block longer than ctx allows.
	Status(ctx context.Context) ClusterStatus
}

// ClusterStatus is the view of the cluster from one replica.
type ClusterStatus struct {
	// Replica is this replica's name.
	Replica string `json:"replica"`
	// StoreReachable is false while the database cannot be reached:
	// changes are refused and every replica serves its last state.
	StoreReachable bool `json:"store_reachable"`
	// StateVersion is the newest state version known: the database's,
	// or the last one read while it is unreachable.
	StateVersion int64 `json:"state_version"`
	// Members are the replicas, by name.
	Members []Member `json:"members"`
	// MemberTimeout is how long a replica may stay silent before it is
	// shown as gone.
	MemberTimeout string `json:"member_timeout"`
}

// Member is one replica of a cluster.
type Member struct {
	Name         string    `json:"name"`
	Addresses    []string  `json:"addresses,omitempty"`
	Version      string    `json:"version"`       // of the binary
	StateVersion int64     `json:"state_version"` // the state it applies
	StartedAt    time.Time `json:"started_at"`
	LastSeen     time.Time `json:"last_seen"`
	Converged    bool      `json:"converged"` // applies the newest state
	Gone         bool      `json:"gone"`      // silent past the member timeout
	Self         bool      `json:"self,omitempty"`
}

// clusterStatus returns the cluster's status, or nil outside a cluster.
func (a *Admin) clusterStatus(ctx context.Context) *ClusterStatus {
	if a.o.Cluster == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	st := a.o.Cluster.Status(ctx)
	return &st
}

// serveCluster answers GET /api/cluster.
func (a *Admin) serveCluster(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	st := a.clusterStatus(r.Context())
	if st == nil {
		writeError(w, http.StatusNotFound, "this edge is not part of a cluster (no cluster section in its configuration)")
		return
	}
	writeJSON(w, http.StatusOK, st)
}

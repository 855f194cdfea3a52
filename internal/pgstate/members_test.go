package pgstate_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/pgstate"
	"github.com/forcehttps/forcehttps/internal/pgtest"
)

// TestMembers: a replica that stopped cleanly frees its name at once; one
// silent past the member timeout is shown as gone, on /api/cluster and in
// the metrics.
func TestMembers(t *testing.T) {
	t.Parallel()
	db := pgtest.Start(t)
	up, dir := backend(t), t.TempDir()
	a := startReplica(t, db, up, testOptions("a", dir), nil)

	// A clean stop removes the row: the name can be taken again at once.
	b := startReplica(t, db, up, testOptions("b", dir), nil)
	b.stop()
	b = startReplica(t, db, up, testOptions("b", dir), nil)

	// A replica that died an hour ago.
	ctx := context.Background()
	if _, err := a.st.Pool().Exec(ctx, `INSERT INTO forcehttps_members (replica, instance, binary_version, last_seen)
VALUES ('dead', 'x', 'v0', now() - interval '1 hour'), ('forgotten', 'y', 'v0', now() - interval '25 hours')`); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the dead replica shown as gone", func() (bool, string) {
		_, st := b.api("GET", "/api/cluster", "")
		members, _ := st["members"].([]any)
		states := map[string]string{}
		for _, m := range members {
			m := m.(map[string]any)
			switch {
			case m["gone"] == true:
				states[m["name"].(string)] = "gone"
			case m["converged"] == true:
				states[m["name"].(string)] = "converged"
			default:
				states[m["name"].(string)] = "behind"
			}
		}
		return fmt.Sprint(states) == "map[a:converged b:converged dead:gone]", fmt.Sprint(states)
	})
	resp, err := http.Get("http://" + b.addrs.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`forcehttps_cluster_members{state="converged"} 2`,
		`forcehttps_cluster_members{state="gone"} 1`,
		"forcehttps_cluster_store_up 1",
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Its name is free again.
	st, err := pgstate.Open(ctx, db, pgstate.Options{Replica: "dead", MemberTimeout: time.Minute})
	if err != nil {
		t.Fatalf("Open with the name of a gone replica: %v", err)
	}
	st.Close(ctx)
}

// TestResyncBackstop: a change committed without a notification (as if it
// were missed) is applied at the next resync.
func TestResyncBackstop(t *testing.T) {
	t.Parallel()
	db := pgtest.Start(t)
	up, dir := backend(t), t.TempDir()
	o := testOptions("a", dir)
	o.Resync = 200 * time.Millisecond
	a := startReplica(t, db, up, o, nil)
	cl := a.client()
	ctx := context.Background()
	_, err := a.st.Pool().Exec(ctx, `WITH v AS (UPDATE forcehttps_state_version SET version = version + 1 RETURNING version)
INSERT INTO forcehttps_app_state (app, state, version) SELECT 'shop', '{"force_https": true}', version FROM v`)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the change applied without a notification", func() (bool, string) { return a.redirects(cl) })
}

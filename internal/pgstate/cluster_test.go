package pgstate_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/admin"
	"github.com/forcehttps/forcehttps/internal/pgtest"
)

// TestPropagation: enable on A, B and C redirect within 1s; disable on
// C, A and B send max-age=0 with the same drain end.
func TestPropagation(t *testing.T) {
	t.Parallel()
	db := pgtest.Start(t)
	up, dir := backend(t), t.TempDir()
	var rs []*replica
	for _, name := range []string{"a", "b", "c"} {
		rs = append(rs, startReplica(t, db, up, testOptions(name, dir), nil))
	}
	a, b, c := rs[0], rs[1], rs[2]
	for _, r := range rs {
		if ok, detail := r.redirects(r.client()); ok {
			t.Fatalf("before the enable: %s redirects", detail)
		}
	}

	code, body := a.api("POST", "/api/apps/shop/enable", `{"force": true}`)
	if code != http.StatusOK {
		t.Fatalf("enable on a: %d %v", code, body)
	}
	for _, r := range []*replica{b, c} {
		cl := r.client()
		d := eventually(t, time.Second, r.name+" redirects after the enable on a", func() (bool, string) { return r.redirects(cl) })
		t.Logf("%s redirects %s after the enable on a", r.name, d)
	}

	code, body = c.api("POST", "/api/apps/shop/disable", "")
	if code != http.StatusOK {
		t.Fatalf("disable on c: %d %v", code, body)
	}
	drain, _ := body["drain_until"].(string)
	if drain == "" {
		t.Fatalf("disable on c: no drain_until in %v", body)
	}
	for _, r := range []*replica{a, b} {
		cl := r.client()
		eventually(t, time.Second, r.name+" sends max-age=0 after the disable on c", func() (bool, string) {
			code, hsts, err := r.get(cl, "https://shop.test/")
			if err != nil {
				return false, err.Error()
			}
			return code == http.StatusOK && hsts == "max-age=0", fmt.Sprintf("%d %q", code, hsts)
		})
		_, view := r.api("GET", "/api/apps/shop", "")
		if view["drain_until"] != drain {
			t.Errorf("%s: drain_until = %v, want %s as on c", r.name, view["drain_until"], drain)
		}
		if ok, detail := r.redirects(cl); ok {
			t.Errorf("after the disable: %s still redirects", detail)
		}
	}

	// Every replica is listed, converged.
	eventually(t, 2*time.Second, "every replica converged on /api/cluster", func() (bool, string) {
		_, st := a.api("GET", "/api/cluster", "")
		members, _ := st["members"].([]any)
		if len(members) != 3 || st["store_reachable"] != true {
			return false, fmt.Sprint(st)
		}
		for _, m := range members {
			if m.(map[string]any)["converged"] != true {
				return false, fmt.Sprint(st)
			}
		}
		return true, ""
	})
}

// barrier is a store whose Update waits until n Loads happened, so that
// n changes are based on the same version: a real race, made certain.
type barrier struct {
	admin.Store
	mu     sync.Mutex
	loads  int
	n      int
	loaded chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, loaded: make(chan struct{})} }

func (b *barrier) wrap(s admin.Store) admin.Store {
	return &barrierStore{Store: s, b: b}
}

type barrierStore struct {
	admin.Store
	b *barrier
}

func (s *barrierStore) Load(ctx context.Context) (admin.Snapshot, error) {
	snap, err := s.Store.Load(ctx)
	s.b.mu.Lock()
	s.b.loads++
	if s.b.loads == s.b.n {
		close(s.b.loaded)
	}
	s.b.mu.Unlock()
	return snap, err
}

func (s *barrierStore) Watch(ctx context.Context, apply func(context.Context, admin.Snapshot) error) {
	s.Store.(admin.Watcher).Watch(ctx, apply)
}

func (s *barrierStore) Update(ctx context.Context, name string, a *admin.AppState, base int64) (admin.Snapshot, error) {
	select {
	case <-s.b.loaded:
	case <-ctx.Done():
		return admin.Snapshot{}, ctx.Err()
	}
	return s.Store.Update(ctx, name, a, base)
}

// TestConcurrentPatches: two PATCHes of one app on two replicas, based on
// the same version: one 200, one 409 with the winner's state; the loser's
// retry lands; nothing is lost.
func TestConcurrentPatches(t *testing.T) {
	t.Parallel()
	db := pgtest.Start(t)
	up, dir := backend(t), t.TempDir()
	bar := newBarrier(2)
	a := startReplica(t, db, up, testOptions("a", dir), bar.wrap)
	b := startReplica(t, db, up, testOptions("b", dir), bar.wrap)

	bodies := map[*replica]string{
		a: `{"hsts": {"max_age": 600}}`,
		b: `{"redirect": {"status": 302}}`,
	}
	type result struct {
		r    *replica
		code int
		body map[string]any
	}
	results := make(chan result, 2)
	for r, body := range bodies {
		go func() {
			code, out := r.api("PATCH", "/api/apps/shop", body)
			results <- result{r, code, out}
		}()
	}
	var won, lost *result
	for range 2 {
		res := <-results
		switch res.code {
		case http.StatusOK:
			won = &res
		case http.StatusConflict:
			lost = &res
		default:
			t.Fatalf("PATCH on %s: %d %v", res.r.name, res.code, res.body)
		}
	}
	if won == nil || lost == nil {
		t.Fatalf("want one 200 and one 409, got won=%v lost=%v", won, lost)
	}
	app, _ := lost.body["app"].(map[string]any)
	if app == nil || lost.body["state_version"] == nil {
		t.Fatalf("409 body without the current app and version: %v", lost.body)
	}
	// The 409 shows the winner's change.
	if won.r == a {
		if got := app["hsts"].(map[string]any)["target"]; got != float64(600) {
			t.Errorf("409 body: hsts.target = %v, want the winner's 600", got)
		}
	} else if got := app["redirect"].(map[string]any)["status"]; got != float64(302) {
		t.Errorf("409 body: redirect.status = %v, want the winner's 302", got)
	}
	// The loser retries on the state it was shown: both changes are kept.
	code, out := lost.r.api("PATCH", "/api/apps/shop", bodies[lost.r])
	if code != http.StatusOK {
		t.Fatalf("retry on %s: %d %v", lost.r.name, code, out)
	}
	for _, r := range []*replica{a, b} {
		eventually(t, time.Second, r.name+" has both changes", func() (bool, string) {
			_, v := r.api("GET", "/api/apps/shop", "")
			target := v["hsts"].(map[string]any)["target"]
			status := v["redirect"].(map[string]any)["status"]
			return target == float64(600) && status == float64(302), fmt.Sprintf("target %v, status %v", target, status)
		})
	}
}

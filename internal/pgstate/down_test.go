package pgstate_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/pg"
	"github.com/forcehttps/forcehttps/internal/pgstate"
	"github.com/forcehttps/forcehttps/internal/pgtest"
	"github.com/forcehttps/forcehttps/internal/testutil"
)

// TestDatabaseDown: with PostgreSQL stopped, the replicas keep serving
// (0 failed requests in a bounded loop), writes answer 503 and
// /api/cluster says the store is unreachable; once it is back, the next
// write lands and every replica converges, without a restart.
func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	srv := pgtest.New(t)
	db := srv.NewDatabase(t)
	up, dir := backend(t), t.TempDir()
	var rs []*replica
	for _, name := range []string{"a", "b", "c"} {
		rs = append(rs, startReplica(t, db, up, testOptions(name, dir), nil))
	}
	if code, body := rs[0].api("POST", "/api/apps/shop/enable", `{"force": true}`); code != http.StatusOK {
		t.Fatalf("enable: %d %v", code, body)
	}
	for _, r := range rs {
		cl := r.client()
		eventually(t, time.Second, r.name+" redirects", func() (bool, string) { return r.redirects(cl) })
	}

	// Requests on every replica, during the stop and the outage.
	var served, failed atomic.Int64
	var firstErr atomic.Value
	stopLoad := make(chan struct{})
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := r.client()
			deadline := time.Now().Add(30 * time.Second) // bounded even if the test hangs
			for time.Now().Before(deadline) {
				select {
				case <-stopLoad:
					return
				default:
				}
				for _, u := range []string{"http://shop.test/a", "https://shop.test/b"} {
					code, _, err := r.get(cl, u)
					// 301 until the disable lands after the outage, 200 then.
					ok := code == http.StatusOK || (code == http.StatusMovedPermanently && strings.HasPrefix(u, "http:"))
					if err != nil || !ok {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, fmt.Sprintf("%s %s: %d %v", r.name, u, code, err))
						continue
					}
					served.Add(1)
				}
			}
		}()
	}

	srv.Stop(t)
	for _, r := range rs {
		eventually(t, 5*time.Second, r.name+" sees the store down", func() (bool, string) {
			_, st := r.api("GET", "/api/cluster", "")
			return st["store_reachable"] == false, fmt.Sprint(st["store_reachable"])
		})
	}
	code, body := rs[1].api("POST", "/api/apps/shop/disable", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(fmt.Sprint(body["error"]), "cluster store") {
		t.Errorf("disable with the database down: %d %v, want 503 naming the cluster store", code, body)
	}
	if strings.Contains(fmt.Sprint(body), pgtest.Password) {
		t.Errorf("503 body shows the password: %v", body)
	}
	// The dashboard says so too (served without a session: the login
	// page; the API above is what the panel shows).

	srv.Start(t)
	// The next write lands: the pool may hand out a connection broken by
	// the restart first, so the first attempts may still get 503.
	eventually(t, 10*time.Second, "a write after the database is back", func() (bool, string) {
		code, body := rs[1].api("POST", "/api/apps/shop/disable", "")
		return code == http.StatusOK, fmt.Sprintf("%d %v", code, body)
	})
	close(stopLoad)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of %d requests failed during the outage; first: %v", n, n+served.Load(), firstErr.Load())
	}
	t.Logf("%d requests served during the outage, 0 failed", served.Load())
	for _, r := range rs {
		cl := r.client()
		eventually(t, 5*time.Second, r.name+" converged after the outage", func() (bool, string) {
			code, hsts, err := r.get(cl, "https://shop.test/")
			if err != nil {
				return false, err.Error()
			}
			return hsts == "max-age=0", fmt.Sprintf("%d %q", code, hsts)
		})
		eventually(t, 5*time.Second, r.name+" sees the store up", func() (bool, string) {
			_, st := r.api("GET", "/api/cluster", "")
			return st["store_reachable"] == true, fmt.Sprint(st["store_reachable"])
		})
	}
}

// TestStartDatabaseDown: a replica that starts while the database is down
// serves its last-known-good copy; without one it fails with a clear
// error, at once, without the password.
func TestStartDatabaseDown(t *testing.T) {
	t.Parallel()
	srv := pgtest.New(t)
	db := srv.NewDatabase(t)
	up, dir := backend(t), t.TempDir()
	a := startReplica(t, db, up, testOptions("a", dir), nil)
	if code, body := a.api("POST", "/api/apps/shop/enable", `{"force": true}`); code != http.StatusOK {
		t.Fatalf("enable: %d %v", code, body)
	}
	a.stop()
	srv.Stop(t)

	// With the copy: serves the state it had.
	o := testOptions("a", dir)
	b := startReplica(t, db, up, o, nil)
	cl := b.client()
	if ok, detail := b.redirects(cl); !ok {
		t.Errorf("started from the local copy: %s, want a redirect", detail)
	}
	if code, _ := b.api("PATCH", "/api/apps/shop", `{"hsts": {"max_age": 600}}`); code != http.StatusServiceUnavailable {
		t.Errorf("PATCH while down: %d, want 503", code)
	}
	// Back: it migrates, joins and catches up without a restart.
	srv.Start(t)
	eventually(t, 10*time.Second, "a write once the database is back", func() (bool, string) {
		code, body := b.api("PATCH", "/api/apps/shop", `{"hsts": {"max_age": 600}}`)
		return code == http.StatusOK, fmt.Sprintf("%d %v", code, body)
	})
	eventually(t, 5*time.Second, "listed as a member", func() (bool, string) {
		_, st := b.api("GET", "/api/cluster", "")
		members, _ := st["members"].([]any)
		return len(members) == 1 && st["store_reachable"] == true, fmt.Sprint(st)
	})
	b.stop()
	srv.Stop(t)

	// Without the copy: a clear error, at once.
	o = testOptions("c", dir)
	start := time.Now()
	_, err := pgstate.Open(context.Background(), db, o)
	if !errors.Is(err, pgstate.ErrNoLocalCopy) || !errors.Is(err, pg.ErrUnreachable) {
		t.Fatalf("Open without a local copy = %v, want ErrNoLocalCopy and pg.ErrUnreachable", err)
	}
	if strings.Contains(err.Error(), pgtest.Password) {
		t.Errorf("error shows the password: %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("Open took %s to fail", d)
	}
	t.Logf("without a local copy: %v", err)
}

// TestOpenErrors: bad input gives a clear error naming the problem,
// never the password, never a hang.
func TestOpenErrors(t *testing.T) {
	t.Parallel()
	db := pgtest.Start(t)
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	wrongPassword := *u
	wrongPassword.User = url.UserPassword(pgtest.User, "not-the-"+pgtest.Password)
	unreachable := *u
	unreachable.Host = testutil.ClosedAddr(t)

	// A database migrated by a newer forcehttps.
	newer := pgtest.Start(t)
	st, err := pgstate.Open(context.Background(), newer, testOptions("x", t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(context.Background(), "INSERT INTO forcehttps_schema (version, name) VALUES ($1, 'from the future')", pg.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	st.Close(context.Background())

	// A name held by a live replica.
	taken := pgstate.Options{Replica: "twice", MemberTimeout: time.Minute}
	first, err := pgstate.Open(context.Background(), db, taken)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Close(context.Background()) })

	tests := []struct {
		name string
		url  string
		o    pgstate.Options
		is   error
		want string
	}{
		{"unreachable", unreachable.String(), pgstate.Options{Replica: "a"}, pg.ErrUnreachable, "no last-known-good copy"},
		{"unreachable with a missing copy", unreachable.String(), pgstate.Options{Replica: "a", LastKnownGood: t.TempDir() + "/none.json"}, pgstate.ErrNoLocalCopy, "none.json"},
		{"wrong password", wrongPassword.String(), pgstate.Options{Replica: "a"}, pg.ErrAuth, "credentials"},
		{"bad URL", "postgres://%zz", pgstate.Options{Replica: "a"}, pg.ErrBadURL, "invalid PostgreSQL URL"},
		{"newer schema", newer, pgstate.Options{Replica: "a"}, nil, "upgrade forcehttps"},
		{"replica name used twice", db, pgstate.Options{Replica: "twice", MemberTimeout: time.Minute}, pgstate.ErrReplicaInUse, `replica name "twice" is taken by a live replica`},
		{"no replica name", db, pgstate.Options{}, nil, "a replica name is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			st, err := pgstate.Open(ctx, tt.url, tt.o)
			if err == nil {
				st.Close(ctx)
				t.Fatalf("Open succeeded, want an error with %q", tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Open = %v, want errors.Is %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open = %v, want %q in it", err, tt.want)
			}
			for _, secret := range []string{pgtest.Password, "not-the-"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("Open = %v: shows the password", err)
				}
			}
			if ctx.Err() != nil {
				t.Errorf("Open did not return within 30s")
			}
		})
	}
}

// TestOutageUnderWrk: wrk's load on a replica's plain-HTTP and HTTPS
// listeners while PostgreSQL is stopped and started again: no socket
// error, no answer other than the redirect and the proxied 200.
func TestOutageUnderWrk(t *testing.T) {
	t.Parallel()
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		testutil.MissingTool(t, "wrk not found; install it with: bash scripts/apt.sh wrk (make test-deps does)")
	}
	srv := pgtest.New(t)
	db := srv.NewDatabase(t)
	up, dir := backend(t), t.TempDir()
	a := startReplica(t, db, up, testOptions("a", dir), nil)
	startReplica(t, db, up, testOptions("b", dir), nil)
	if code, body := a.api("POST", "/api/apps/shop/enable", `{"force": true}`); code != http.StatusOK {
		t.Fatalf("enable: %d %v", code, body)
	}
	type run struct {
		url string
		out []byte
		err error
	}
	runs := []*run{{url: "http://" + a.addrs.HTTP + "/"}, {url: "https://" + a.addrs.HTTPS + "/"}}
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// -d bounds the load; the context bounds wrk itself.
			r.out, r.err = exec.CommandContext(ctx, wrk, "-t1", "-c8", "-d3s", "--latency", "-H", "Host: shop.test", r.url).CombinedOutput()
		}()
	}
	time.Sleep(500 * time.Millisecond) // let the load start before the outage
	srv.Stop(t)
	eventually(t, 5*time.Second, "the store seen down", func() (bool, string) {
		return !a.st.Reachable(), "reachable"
	})
	if code, _ := a.api("POST", "/api/apps/shop/disable", ""); code != http.StatusServiceUnavailable {
		t.Errorf("disable during the outage = %d, want 503", code)
	}
	srv.Start(t)
	wg.Wait()
	for _, r := range runs {
		out := string(r.out)
		if r.err != nil {
			t.Fatalf("wrk %s: %v\n%s", r.url, r.err, out)
		}
		if strings.Contains(out, "Socket errors") || strings.Contains(out, "Non-2xx or 3xx responses") || !strings.Contains(out, "requests in") {
			t.Errorf("wrk %s during the outage: failures\n%s", r.url, out)
		}
		t.Logf("wrk %s during the outage:\n%s", r.url, out)
	}
}

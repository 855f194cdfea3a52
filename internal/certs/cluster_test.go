//go:build unix

package certs

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/forcehttps/forcehttps/internal/pebbletest"
	"github.com/forcehttps/forcehttps/internal/pg"
	"github.com/forcehttps/forcehttps/internal/pgcerts"
	"github.com/forcehttps/forcehttps/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// replica is one edge replica's view of the shared PostgreSQL storage: a
// pool of its own (as a separate process would have) and a Storage.
type replica struct {
	pool  *pgxpool.Pool
	store *pgcerts.Storage
}

// startReplicas opens n replicas' storages on one fresh, migrated database.
func startReplicas(t *testing.T, n int, lease time.Duration) (*pgxpool.Pool, []replica) {
	t.Helper()
	url := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var rs []replica
	for i := range n {
		pool, err := pg.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		if i == 0 {
			if err := pg.Migrate(ctx, pool); err != nil {
				t.Fatal(err)
			}
		}
		store, err := pgcerts.New(pool, pgcerts.Options{Owner: "replica-" + strconv.Itoa(i), LockLease: lease})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close(context.Background()) })
		rs = append(rs, replica{pool, store})
	}
	return rs[0].pool, rs
}

// issueLockOrCert reports whether the replica-0 holds name's issuance
// lock, or the certificate is already in storage.
func issueLockOrCert(t *testing.T, pool *pgxpool.Pool, name string) (bool, string) {
	var locks, certs int
	err := pool.QueryRow(context.Background(), `SELECT
	(SELECT count(*) FROM certmagic_locks WHERE name = 'issue_cert_' || $1 AND owner = 'replica-0'),
	(SELECT count(*) FROM certmagic_data WHERE key LIKE 'certificates/%/' || $1 || '/' || $1 || '.crt')`, name).Scan(&locks, &certs)
	if err != nil {
		return false, err.Error()
	}
	return locks+certs > 0, fmt.Sprintf("%d locks, %d certificates", locks, certs)
}

// TestACMEClusterPostgres runs three Managers on one PostgreSQL storage,
// as three edge replicas: the first takes the issuance lock and orders,
// the two others wait and load the result; the CA's validation request is
// answered by a replica that did not order; Pebble sees one order.
func TestACMEClusterPostgres(t *testing.T) {
	t.Parallel()
	for _, challenge := range []string{"http-01", "tls-alpn-01"} {
		t.Run(challenge, func(t *testing.T) {
			t.Parallel()
			e, p, logs := startACME(t, pebbletest.Options{})
			pool, rs := startReplicas(t, 3, 0)
			var ms []*Manager
			for _, r := range rs {
				ms = append(ms, newManager(t, p, ACME{
					SharedStorage:           r.store,
					DisableHTTPChallenge:    challenge != "http-01",
					DisableTLSALPNChallenge: challenge != "tls-alpn-01",
				}, logs))
			}
			// Replica 0 orders; replica 1 answers HTTP-01 and replica 2
			// TLS-ALPN-01 (it is the edge's TLS server).
			e.challenger.Store(ms[1])
			e.cur.Store(ms[2])

			name := "cluster-" + challenge + ".forcehttps.test"
			if err := ms[0].ManageDomains(context.Background(), []string{name}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, waitLimit, "replica 0 to take the issuance lock", func() (bool, string) {
				return issueLockOrCert(t, pool, name)
			})
			errs := make(chan error, 2)
			for _, m := range ms[1:] {
				go func() { errs <- m.ManageDomains(context.Background(), []string{name}) }()
			}
			for range 2 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			leaf := e.waitIssued(t, p, name, nil)
			for i, m := range ms {
				waitFor(t, waitLimit, fmt.Sprintf("replica %d to serve the certificate", i), func() (bool, string) {
					c, err := m.GetCertificate(hello(name))
					if err != nil {
						return false, err.Error()
					}
					return c.Leaf.SerialNumber.Cmp(leaf.SerialNumber) == 0, "issuer " + c.Leaf.Issuer.CommonName
				})
			}
			if challenge == "http-01" && e.httpChallenges.Load() == 0 {
				t.Error("replica 1 answered no HTTP-01 request")
			}
			if challenge == "tls-alpn-01" && e.alpnHandshakes.Load() == 0 {
				t.Error("replica 2 answered no TLS-ALPN-01 handshake")
			}
			if n := p.Orders(); n != 1 {
				t.Errorf("Pebble received %d orders from three replicas, want 1", n)
			}
		})
	}
}

// TestACMEClusterPostgresTakeover kills the replica that holds the
// issuance lock while its order waits for a retry (its database
// connections and its context end, so its lease is never extended or
// released): another replica takes the lock over one lease later and
// finishes the order.
func TestACMEClusterPostgresTakeover(t *testing.T) {
	t.Parallel()
	e, p, logs := startACME(t, pebbletest.Options{})
	const lease = 2 * time.Second
	pool, rs := startReplicas(t, 2, lease)
	a := ACME{DisableTLSALPNChallenge: true}
	a.SharedStorage = rs[0].store
	m0 := newManager(t, p, a, logs)
	a.SharedStorage = rs[1].store
	m1 := newManager(t, p, a, logs)

	// Nobody answers the challenge yet: replica 0's first order fails and
	// it waits a minute for the retry, holding the lock.
	const name = "takeover.forcehttps.test"
	if err := m0.ManageDomains(context.Background(), []string{name}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, waitLimit, "replica 0's first order to fail", func() (bool, string) {
		_, ok := logs.find(0, "will retry", name)
		return ok, strconv.Itoa(len(logs.snapshot())) + " records"
	})
	if ok, detail := issueLockOrCert(t, pool, name); !ok {
		t.Fatalf("replica 0 holds no lock after a failed order: %s", detail)
	}
	if err := m1.ManageDomains(context.Background(), []string{name}); err != nil {
		t.Fatal(err)
	}

	// Kill replica 0: its connections go, then its context.
	rs[0].pool.Close()
	m0.Close()
	killed := time.Now()

	e.cur.Store(m1)
	leaf := e.waitIssued(t, p, name, nil)
	t.Logf("replica 1 served the certificate %v after replica 0 died (lease %v)", time.Since(killed).Round(100*time.Millisecond), lease)
	var owner string
	err := pool.QueryRow(context.Background(), "SELECT owner FROM certmagic_locks WHERE name = $1", "issue_cert_"+name).Scan(&owner)
	if err == nil {
		t.Errorf("issuance lock still held by %s after the order", owner)
	}
	if n := p.Orders(); n != 2 {
		t.Errorf("Pebble received %d orders, want 2 (the failed one, and the one finished by replica 1)", n)
	}
	_ = leaf
}

// TestACMEClusterPostgresLocalCache: a replica with a local cache obtains a
// certificate; the database then stops, and a replica started on the same
// cache (as after a restart) serves the certificate at once, without the
// database and without a new order.
func TestACMEClusterPostgresLocalCache(t *testing.T) {
	t.Parallel()
	e, p, logs := startACME(t, pebbletest.Options{})
	srv := pgtest.New(t)
	url := srv.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	pool, err := pg.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pg.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store, err := pgcerts.New(pool, pgcerts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	a := ACME{SharedStorage: store, LocalCache: cache, DisableTLSALPNChallenge: true}
	m1 := e.use(t, p, a, logs)
	const name = "localcache.forcehttps.test"
	if err := m1.ManageDomains(ctx, []string{name}); err != nil {
		t.Fatal(err)
	}
	leaf := e.waitIssued(t, p, name, nil)
	if files := storedCerts(t, cache, name); len(files) != 1 {
		t.Errorf("local cache holds %q for %s, want one certificate", files, name)
	}
	m1.Close()
	srv.Stop(t)

	down, err := pg.NewPool(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(down.Close)
	a.SharedStorage, err = pgcerts.New(down, pgcerts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m2 := e.use(t, p, a, logs)
	if err := m2.ManageDomains(ctx, []string{name}); err != nil {
		t.Fatal(err)
	}
	got, err := e.handshake(name, p.Roots)
	if err != nil {
		t.Fatalf("handshake with the database down: %v", err)
	}
	if got.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Errorf("with the database down %s serves serial %v, want %v from the local cache", name, got.SerialNumber, leaf.SerialNumber)
	}
	if n := p.Orders(); n != 1 {
		t.Errorf("Pebble received %d orders, want 1", n)
	}
}

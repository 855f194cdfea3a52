//go:build unix

package certs

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/pebbletest"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Now()} }

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// refuseHTTP01 makes the edge answer 404 to the HTTP-01 validation of the
// names for which refuse returns true.
func (e *edge) refuseHTTP01(refuse func(host string) bool) {
	g := func(r *http.Request) bool { return !refuse(hostOnly(r.Host)) }
	e.gate.Store(&g)
}

// hostOnly strips the port of a Host value.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// expectSelfSigned fails unless a handshake for sni gets the self-signed
// default certificate.
func (e *edge) expectSelfSigned(t *testing.T, sni string) {
	t.Helper()
	leaf, err := e.handshake(sni, nil)
	if err != nil {
		t.Fatalf("handshake for %s: %v", sni, err)
	}
	if leaf.Issuer.CommonName != selfSignedCN {
		t.Errorf("handshake for %s got a certificate from %q, want the self-signed default", sni, leaf.Issuer.CommonName)
	}
}

// TestOnDemand: adding a name orders nothing; a handshake for a name no
// app has gets the default certificate and orders nothing; a burst of 50
// concurrent handshakes for an app's name makes one order, and all of them
// get its certificate; removing the name stops serving it, and adding it
// back serves the stored certificate without an order.
func TestOnDemand(t *testing.T) {
	t.Parallel()
	e, p, logs := startACME(t, pebbletest.Options{})
	m := e.use(t, p, ACME{Storage: t.TempDir(), OnDemand: true}, logs)
	ctx := context.Background()

	const name, stranger = "shop.ondemand.test", "stranger.ondemand.test"
	if err := m.ManageDomains(ctx, []string{name}); err != nil {
		t.Fatal(err)
	}
	if s := m.DomainState(name); s.Status != StatusPending || !s.OnDemand {
		t.Errorf("DomainState(%s) before any handshake = %+v, want pending on demand", name, s)
	}
	if !m.HTTPSReady(name) {
		t.Errorf("HTTPSReady(%s) = false before any handshake; an on-demand name is ordered by the redirect's handshake", name)
	}
	e.expectSelfSigned(t, stranger)
	if s := m.DomainState(stranger); s.Status != StatusNone {
		t.Errorf("DomainState(%s) = %+v, want none", stranger, s)
	}
	if n := p.Orders(); n != 0 {
		t.Fatalf("Pebble received %d orders before any handshake for an app's name, want 0", n)
	}

	const burst = 50
	var wg sync.WaitGroup
	errs := make(chan error, burst)
	for range burst {
		wg.Go(func() {
			if _, err := e.handshake(name, p.Roots); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("handshake of the burst: %v", err)
	}
	if n := p.Orders(); n != 1 {
		t.Errorf("Pebble received %d orders for a burst of %d handshakes, want 1", n, burst)
	}
	if n := m.OnDemandOrders(); n != 1 {
		t.Errorf("OnDemandOrders() = %d, want 1", n)
	}
	s := m.DomainState(name)
	if s.Status != StatusIssued || s.NotAfter.IsZero() {
		t.Errorf("DomainState(%s) after the burst = %+v, want issued with its expiry", name, s)
	}
	e.expectSelfSigned(t, stranger)
	if n := p.Orders(); n != 1 {
		t.Errorf("Pebble received %d orders, want still 1", n)
	}

	// Removed: no longer served (nor renewed: it left the cache).
	if err := m.ManageDomains(ctx, nil); err != nil {
		t.Fatal(err)
	}
	e.expectSelfSigned(t, name)
	if got := len(acmeInfos(m)); got != 0 {
		t.Errorf("%d ACME certificates in use after the name was removed, want 0", got)
	}
	// Back: served from storage at once.
	if err := m.ManageDomains(ctx, []string{name}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.handshake(name, p.Roots); err != nil {
		t.Errorf("handshake after the name came back: %v", err)
	}
	if n := p.Orders(); n != 1 {
		t.Errorf("Pebble received %d orders after the name came back, want still 1", n)
	}
}

// TestOnDemandOrderLimit: with a limit of 2 orders an hour, the third new
// name's handshake fails cleanly and reaches no CA; the name is then held
// back (failed, not redirected, handshakes refused at once) until the
// limit frees an order; an hour later it gets its certificate.
func TestOnDemandOrderLimit(t *testing.T) {
	t.Parallel()
	e, p, logs := startACME(t, pebbletest.Options{})
	clock := newTestClock()
	m := newManagerClock(t, p, ACME{Storage: t.TempDir(), OnDemand: true, OnDemandOrdersPerHour: 2}, logs, clock.now)
	e.cur.Store(m)
	names := []string{"a.limit.test", "b.limit.test", "c.limit.test"}
	if err := m.ManageDomains(context.Background(), names); err != nil {
		t.Fatal(err)
	}
	for _, n := range names[:2] {
		if _, err := e.handshake(n, p.Roots); err != nil {
			t.Fatalf("handshake for %s: %v", n, err)
		}
	}
	if _, err := e.handshake(names[2], nil); err == nil {
		t.Fatalf("handshake for %s succeeded past the hourly limit", names[2])
	}
	if n := p.Orders(); n != 2 {
		t.Errorf("Pebble received %d orders, want 2", n)
	}
	if got := m.OnDemandRefusals()[RefusedOrderLimit]; got != 1 {
		t.Errorf("refusals for the order limit = %d, want 1", got)
	}
	if got := m.OnDemandRefusals()[RefusedBackoff]; got != 0 {
		t.Errorf("refusals for a backoff = %d, want 0", got)
	}
	if _, ok := logs.find(slog.LevelWarn, "TLS handshake refused", "name="+names[2], "reason="+RefusedOrderLimit); !ok {
		t.Error("the refused handshake was not logged")
	}
	s := m.DomainState(names[2])
	if want := clock.now().Add(time.Hour); s.Status != StatusFailed || !strings.Contains(s.Error, "order limit") || !s.NextTry.Equal(want) {
		t.Errorf("DomainState(%s) = %+v, want failed for the order limit until %v", names[2], s, want)
	}
	if m.HTTPSReady(names[2]) {
		t.Errorf("HTTPSReady(%s) = true while the order limit holds it back", names[2])
	}
	if _, err := e.handshake(names[2], nil); err == nil {
		t.Fatalf("second handshake for %s succeeded past the hourly limit", names[2])
	}
	if got := m.OnDemandRefusals()[RefusedOrderLimit]; got != 2 {
		t.Errorf("refusals for the order limit = %d, want 2", got)
	}

	clock.advance(time.Hour)
	if !m.HTTPSReady(names[2]) {
		t.Errorf("HTTPSReady(%s) = false an hour later", names[2])
	}
	if _, err := e.handshake(names[2], p.Roots); err != nil {
		t.Errorf("handshake for %s an hour later: %v", names[2], err)
	}
	if n := p.Orders(); n != 3 {
		t.Errorf("Pebble received %d orders, want 3", n)
	}
}

// TestOnDemandBackoff: a failed order keeps the CA's reason; the name's
// handshakes then fail at once, with no order, until the backoff has
// passed; the next failure doubles it; a success clears it.
func TestOnDemandBackoff(t *testing.T) {
	t.Parallel()
	e, p, logs := startACME(t, pebbletest.Options{})
	clock := newTestClock()
	m := newManagerClock(t, p, ACME{Storage: t.TempDir(), OnDemand: true, DisableTLSALPNChallenge: true}, logs, clock.now)
	e.cur.Store(m)
	const name = "fail.backoff.test"
	var refusing sync.Map
	refusing.Store(name, true)
	e.refuseHTTP01(func(host string) bool { _, ok := refusing.Load(host); return ok })
	if err := m.ManageDomains(context.Background(), []string{name}); err != nil {
		t.Fatal(err)
	}

	fail := func(wantBackoff time.Duration) {
		t.Helper()
		before := p.Orders()
		if _, err := e.handshake(name, nil); err == nil {
			t.Fatal("handshake succeeded though validation fails")
		}
		s := m.DomainState(name)
		if s.Status != StatusFailed || !strings.Contains(s.Error, "404") {
			t.Errorf("DomainState = %+v, want failed with the CA's reason (a 404 from the validation)", s)
		}
		if want := clock.now().Add(wantBackoff); !s.NextTry.Equal(want) {
			t.Errorf("NextTry = %v, want %v (backoff %v)", s.NextTry, want, wantBackoff)
		}
		if m.HTTPSReady(name) {
			t.Error("HTTPSReady = true during the backoff")
		}
		if n := p.Orders(); n <= before {
			t.Errorf("Pebble received %d orders, want more than %d", n, before)
		}
		// During the backoff: refused without an order.
		after := p.Orders()
		if _, err := e.handshake(name, nil); err == nil {
			t.Fatal("handshake succeeded during the backoff")
		}
		if n := p.Orders(); n != after {
			t.Errorf("Pebble received %d orders during the backoff, want %d", n, after)
		}
	}
	fail(time.Minute)
	clock.advance(time.Minute)
	fail(2 * time.Minute)
	if got := m.OnDemandRefusals(); got[RefusedBackoff] != 2 || got[RefusedFailed] != 2 {
		t.Errorf("OnDemandRefusals() = %v, want 2 failed and 2 backoff", got)
	}

	refusing.Delete(name)
	clock.advance(2 * time.Minute)
	if !m.HTTPSReady(name) {
		t.Error("HTTPSReady = false once the backoff has passed")
	}
	if _, err := e.handshake(name, p.Roots); err != nil {
		t.Fatalf("handshake once the validation works: %v", err)
	}
	if s := m.DomainState(name); s.Status != StatusIssued {
		t.Errorf("DomainState = %+v, want issued", s)
	}
}

// TestOnDemandTimeout: a handshake that waits longer than OnDemandTimeout
// fails; the order goes on, and a later handshake gets its certificate.
func TestOnDemandTimeout(t *testing.T) {
	t.Parallel()
	e, p, logs := startACME(t, pebbletest.Options{})
	m := e.use(t, p, ACME{Storage: t.TempDir(), OnDemand: true, OnDemandTimeout: time.Nanosecond}, logs)
	const name = "slow.timeout.test"
	if err := m.ManageDomains(context.Background(), []string{name}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.handshake(name, nil); err == nil {
		t.Fatal("handshake succeeded within a nanosecond")
	}
	if _, ok := logs.find(slog.LevelWarn, "TLS handshake refused", "reason="+RefusedTimeout); !ok {
		t.Error("the handshake that timed out was not logged")
	}
	e.waitIssued(t, p, name, nil)
	if n := p.Orders(); n != 1 {
		t.Errorf("Pebble received %d orders, want 1", n)
	}
	if got := m.OnDemandRefusals()[RefusedTimeout]; got < 1 {
		t.Errorf("refusals for timeout = %d, want at least 1", got)
	}
}

// TestACMEStates: without on-demand, ManageDomains returns while the order
// runs (pending), then the name is issued; a name whose validation fails
// is failed, with the CA's reason and the time of certmagic's next try.
func TestACMEStates(t *testing.T) {
	t.Parallel()
	e, p, logs := startACME(t, pebbletest.Options{})
	const good, bad = "good.states.test", "bad.states.test"
	release := make(chan struct{})
	g := func(r *http.Request) bool {
		if hostOnly(r.Host) == bad {
			return false
		}
		<-release // the validation of good waits for the test
		return true
	}
	e.gate.Store(&g)
	start := time.Now()
	m := e.use(t, p, ACME{Storage: t.TempDir(), DisableTLSALPNChallenge: true}, logs)
	if err := m.ManageDomains(context.Background(), []string{good, bad}); err != nil {
		t.Fatal(err)
	}
	if s := m.DomainState(good); s.Status != StatusPending || s.OnDemand {
		t.Errorf("DomainState(%s) while its validation waits = %+v, want pending", good, s)
	}
	if m.HTTPSReady(good) {
		t.Errorf("HTTPSReady(%s) = true while pending", good)
	}
	waitFor(t, waitLimit, bad+" to fail", func() (bool, string) {
		s := m.DomainState(bad)
		return s.Status == StatusFailed, fmt.Sprintf("%+v", s)
	})
	s := m.DomainState(bad)
	if !strings.Contains(s.Error, "404") {
		t.Errorf("DomainState(%s).Error = %q, want the CA's reason (a 404 from the validation)", bad, s.Error)
	}
	if !s.NextTry.After(start) || s.NextTry.After(time.Now().Add(time.Minute)) {
		t.Errorf("DomainState(%s).NextTry = %v, want within a minute (certmagic's first retry)", bad, s.NextTry)
	}
	close(release)
	waitFor(t, waitLimit, good+" to be issued", func() (bool, string) {
		s := m.DomainState(good)
		return s.Status == StatusIssued, fmt.Sprintf("%+v", s)
	})
	if !m.HTTPSReady(good) || m.HTTPSReady(bad) {
		t.Errorf("HTTPSReady: %s %v, %s %v; want true, false", good, m.HTTPSReady(good), bad, m.HTTPSReady(bad))
	}
	states := m.DomainStates()
	if len(states) != 2 || states[good].Status != StatusIssued || states[good].NotAfter.IsZero() || states[bad].Status != StatusFailed {
		t.Errorf("DomainStates() = %+v, want %s issued (with its expiry) and %s failed", states, good, bad)
	}
	counts := m.StateCounts()
	if counts[StatusIssued] != 1 || counts[StatusFailed] != 1 || counts[StatusPending] != 0 {
		t.Errorf("StateCounts() = %v, want 1 issued, 1 failed", counts)
	}
	if s := m.DomainState("other.states.test"); s.Status != StatusNone || !s.Ready(time.Now()) {
		t.Errorf("DomainState of an unmanaged name = %+v, want none and ready", s)
	}
}

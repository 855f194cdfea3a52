package certs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// On-demand defaults; see [ACME.OnDemand].
const (
	DefaultOnDemandOrdersPerHour = 50
	DefaultOnDemandTimeout       = 8 * time.Second
	DefaultOnDemandBackoff       = time.Minute
	DefaultOnDemandMaxBackoff    = time.Hour
)

// onDemandOrderTimeout bounds one on-demand order, waits on the issuance
// lock included.
const onDemandOrderTimeout = 3 * time.Minute

// Errors of handshakes that need an on-demand certificate and cannot get
// it; crypto/tls answers them with an internal_error alert.
var (
	ErrOrderLimit = errors.New("on-demand order limit reached")
	ErrBackoff    = errors.New("on-demand order failed recently")
	ErrNotReady   = errors.New("on-demand certificate not ready in time")
)

// Reasons of refused on-demand handshakes, in [Manager.OnDemandRefusals].
const (
	RefusedOrderLimit = "order-limit" // ErrOrderLimit
	RefusedBackoff    = "backoff"     // ErrBackoff
	RefusedTimeout    = "timeout"     // ErrNotReady
	RefusedFailed     = "failed"      // the order this handshake waited for failed
)

// flight is one on-demand order, which every handshake for its name waits
// for.
type flight struct {
	done   chan struct{}
	err    error                 // set before done is closed
	caErr  atomic.Pointer[error] // the CA's error, from the cert_failed event
	cancel context.CancelFunc
}

// flightKey marks the context of an on-demand order, so that onEvent
// finds its flight.
type flightKey struct{}

// orderLimit allows at most max new orders in any hour.
type orderLimit struct {
	mu    sync.Mutex
	max   int
	times []time.Time // of the orders of the last hour, oldest first
}

// take reports whether an order may start at now, and counts it if so.
func (l *orderLimit) take(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := 0
	for i < len(l.times) && now.Sub(l.times[i]) >= time.Hour {
		i++
	}
	l.times = l.times[i:]
	if len(l.times) >= l.max {
		return false
	}
	l.times = append(l.times, now)
	return true
}

// nextFree returns when take will next allow an order, at the earliest.
func (l *orderLimit) nextFree(now time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.times) < l.max {
		return now
	}
	return l.times[len(l.times)-l.max].Add(time.Hour)
}

// onDemandStats counts what on-demand issuance did.
type onDemandStats struct {
	orders     atomic.Int64
	orderLimit atomic.Int64
	backoff    atomic.Int64
	timeout    atomic.Int64
	failed     atomic.Int64
}

// OnDemandOrders returns how many on-demand orders started.
func (m *Manager) OnDemandOrders() int64 {
	if m.acme == nil {
		return 0
	}
	return m.acme.stats.orders.Load()
}

// OnDemandRefusals returns how many handshakes failed for want of an
// on-demand certificate, by reason (RefusedOrderLimit, RefusedBackoff,
// RefusedTimeout, RefusedFailed).
func (m *Manager) OnDemandRefusals() map[string]int64 {
	out := map[string]int64{RefusedOrderLimit: 0, RefusedBackoff: 0, RefusedTimeout: 0, RefusedFailed: 0}
	if m.acme == nil {
		return out
	}
	s := &m.acme.stats
	out[RefusedOrderLimit] = s.orderLimit.Load()
	out[RefusedBackoff] = s.backoff.Load()
	out[RefusedTimeout] = s.timeout.Load()
	out[RefusedFailed] = s.failed.Load()
	return out
}

// onDemand returns the certificate of a managed name that has none yet,
// ordering it if needed, for a handshake: it waits for the order at most
// ACME.OnDemandTimeout, then fails. The order goes on after a handshake
// gives up, for the next one.
func (a *acmeState) onDemand(hello *tls.ClientHelloInfo, d *domain) (*tls.Certificate, error) {
	fl, err := a.join(d)
	if err != nil {
		reason := RefusedBackoff
		if errors.Is(err, ErrOrderLimit) {
			reason = RefusedOrderLimit
		}
		a.refused(d.name, reason, err)
		return nil, err
	}
	timer := time.NewTimer(a.opts.OnDemandTimeout)
	defer timer.Stop()
	var done <-chan struct{}
	if ctx := hello.Context(); ctx != nil {
		done = ctx.Done()
	}
	select {
	case <-fl.done:
	case <-timer.C:
		err := fmt.Errorf("%w: %s after %v", ErrNotReady, d.name, a.opts.OnDemandTimeout)
		a.refused(d.name, RefusedTimeout, err)
		return nil, err
	case <-done:
		return nil, fmt.Errorf("%w: %s: the handshake ended first", ErrNotReady, d.name)
	}
	if fl.err != nil {
		reason := RefusedFailed
		if errors.Is(fl.err, ErrOrderLimit) {
			reason = RefusedOrderLimit
		}
		a.refused(d.name, reason, fl.err)
		return nil, fl.err
	}
	if c := a.lookup(hello, d.name); c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("%w: %s: obtained but not in the cache", ErrNotReady, d.name)
}

// refused counts and logs a handshake refused for want of a certificate.
func (a *acmeState) refused(name, reason string, err error) {
	switch reason {
	case RefusedOrderLimit:
		a.stats.orderLimit.Add(1)
	case RefusedBackoff:
		a.stats.backoff.Add(1)
	case RefusedTimeout:
		a.stats.timeout.Add(1)
	default:
		a.stats.failed.Add(1)
	}
	level := slog.LevelWarn
	if reason == RefusedBackoff {
		// The failure was logged once, with its retry time; a browser
		// retrying meanwhile would flood the log.
		level = slog.LevelDebug
	}
	a.log.Log(context.Background(), level, "certs: TLS handshake refused: no on-demand certificate", "name", name, "reason", reason, "err", err.Error())
}

// join returns the order in flight for d, or starts one, unless the last
// one failed less than its backoff ago.
func (a *acmeState) join(d *domain) (*flight, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fl != nil {
		return d.fl, nil
	}
	if s := d.st.Load(); s.Status == StatusFailed && a.now().Before(s.NextTry) {
		why := ErrBackoff
		if d.limited {
			why = ErrOrderLimit
		}
		return nil, fmt.Errorf("%w: %s: next try at %s: %s", why, d.name, s.NextTry.UTC().Format(time.RFC3339), s.Error)
	}
	fl := &flight{done: make(chan struct{})}
	d.fl = fl
	a.wg.Add(1)
	go a.fly(d, fl)
	return fl, nil
}

// fly runs an on-demand order and records its outcome.
func (a *acmeState) fly(d *domain, fl *flight) {
	defer a.wg.Done()
	err := a.obtainOnDemand(d, fl)
	d.mu.Lock()
	switch {
	case err == nil:
		d.failures, d.limited = 0, false
		// The cached_managed_cert event has set the status.
	case errors.Is(err, ErrOrderLimit):
		// Not the CA's doing, and no backoff: the name waits for the
		// limit to free an order, and meanwhile is not redirected to
		// HTTPS (see State.Ready) and its handshakes fail at once.
		d.limited = true
		d.set(State{Status: StatusFailed, Error: err.Error(), NextTry: a.limit.nextFree(a.now())})
	case d.ctx.Err() != nil:
		// Removed, or the Manager closed: nothing to record.
	default:
		d.failures++
		d.limited = false
		wait := a.opts.OnDemandBackoff << min(d.failures-1, 30)
		if wait > a.opts.OnDemandMaxBackoff || wait <= 0 {
			wait = a.opts.OnDemandMaxBackoff
		}
		d.set(State{Status: StatusFailed, Error: caReason(err), NextTry: a.now().Add(wait)})
		a.log.Error("certs: on-demand order failed", "name", d.name, "err", err.Error(), "retry_after", wait.String())
	}
	d.fl = nil
	fl.err = err
	close(fl.done)
	d.mu.Unlock()
}

// obtainOnDemand loads d's certificate from storage (another replica, or
// an earlier run, may have obtained it) or orders it, once, counting the
// order against the hourly limit, then caches it as managed (renewed
// until the name is removed).
func (a *acmeState) obtainOnDemand(d *domain, fl *flight) error {
	ctx := d.ctx
	_, err := a.cfg.CacheManagedCertificate(ctx, d.name)
	if err == nil {
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("loading the certificate from storage: %w", err)
	}
	if !a.limit.take(a.now()) {
		return fmt.Errorf("%w: %d new orders in the last hour (tls.acme.on_demand_orders_per_hour)", ErrOrderLimit, a.limit.max)
	}
	a.stats.orders.Add(1)
	// A failure certmagic reports without its cert_failed event (a
	// storage write, say) would be retried a minute later: bound the
	// order as certmagic bounds its own on-demand orders.
	octx, cancel := context.WithTimeout(ctx, onDemandOrderTimeout)
	defer cancel()
	fl.cancel = cancel
	// certmagic's ObtainCertSync would prompt on the terminal for a
	// missing email address; the async one does not, and retries after a
	// failure: onEvent cancels the order at its first failure instead,
	// keeping the CA's error, so that the backoff here is the only one.
	err = a.cfg.ObtainCertAsync(context.WithValue(octx, flightKey{}, fl), d.name)
	if p := fl.caErr.Load(); p != nil {
		return *p
	}
	if err != nil && ctx.Err() == nil && errors.Is(octx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("the order did not finish within %v: %w", onDemandOrderTimeout, err)
	}
	if err != nil {
		return err
	}
	_, err = a.cfg.CacheManagedCertificate(ctx, d.name)
	return err
}

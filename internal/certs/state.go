package certs

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/forcehttps/forcehttps"
)

// Status is where the ACME certificate of a domain stands.
type Status string

// Statuses of [State].
const (
	// StatusNone: ACME does not manage the name (a certificate file or
	// the self-signed certificate covers it, it is a wildcard or an IP
	// address, or no app has it).
	StatusNone Status = ""
	// StatusPending: no certificate yet; an order runs or, on demand,
	// waits for the first handshake.
	StatusPending Status = "pending"
	// StatusIssued: a certificate is in use (and renewed).
	StatusIssued Status = "issued"
	// StatusFailed: the last order failed, or an on-demand one was
	// refused by the hourly limit; [State.Error] says why and
	// [State.NextTry] when the next one may start.
	StatusFailed Status = "failed"
)

// State is the state of the ACME certificate of one domain, from
// [Manager.DomainState].
type State struct {
	Status Status
	// OnDemand is true when the certificate is ordered at the first
	// handshake naming the domain ([ACME.OnDemand]) rather than when the
	// domain is added.
	OnDemand bool
	// NotAfter is the expiry of the certificate in use, with
	// StatusIssued.
	NotAfter time.Time
	// Error is the last failure, in the CA's words when it gave a reason,
	// with StatusFailed.
	Error string
	// NextTry is when the next order may start, with StatusFailed.
	NextTry time.Time
}

// Ready reports whether a redirect to HTTPS would work at now: the
// certificate is issued, or ACME does not manage the name (another
// certificate serves it), or it is ordered on demand by the handshake the
// redirect leads to and no failure holds the next order back.
func (s State) Ready(now time.Time) bool {
	switch s.Status {
	case StatusNone, StatusIssued:
		return true
	case StatusPending:
		return s.OnDemand
	default:
		return s.OnDemand && !now.Before(s.NextTry)
	}
}

// domain is the ACME state of one managed name. Its status is read
// without a lock by every plain-HTTP request of an app forcing HTTPS
// ([Manager.HTTPSReady]); the rest is guarded by mu.
type domain struct {
	name     string
	onDemand bool
	ctx      context.Context // cancelled when the name is removed
	st       atomic.Pointer[State]

	mu       sync.Mutex
	fl       *flight // the on-demand order running, or nil
	failures int     // consecutive failed on-demand orders
	limited  bool    // the last on-demand order was refused by the hourly limit
}

func newDomain(ctx context.Context, name string, onDemand bool) *domain {
	d := &domain{name: name, onDemand: onDemand, ctx: ctx}
	d.st.Store(&State{Status: StatusPending, OnDemand: onDemand})
	return d
}

func (d *domain) set(s State) {
	s.OnDemand = d.onDemand
	d.st.Store(&s)
}

// domain returns the state of a managed name, or nil.
func (a *acmeState) domain(name string) *domain {
	if a == nil {
		return nil
	}
	v, ok := a.domains.Load(name)
	if !ok {
		return nil
	}
	return v.(*domain)
}

// DomainState returns the state of the ACME certificate of name (a host
// name, normalized like hosts; a name ACME does not manage gets
// StatusNone). It is cheap: no I/O, no lock shared with orders.
func (m *Manager) DomainState(name string) State {
	h, err := forcehttps.NormalizeHost(name)
	if err != nil {
		return State{}
	}
	d := m.acme.domain(h)
	if d == nil {
		return State{}
	}
	s := *d.st.Load()
	if s.Status == StatusIssued {
		for _, c := range m.acme.certificates(h) {
			if c.Leaf.NotAfter.After(s.NotAfter) {
				s.NotAfter = c.Leaf.NotAfter
			}
		}
	}
	return s
}

// DomainStates returns the state of every name under ACME management, as
// DomainState would.
func (m *Manager) DomainStates() map[string]State {
	out := map[string]State{}
	if m.acme == nil {
		return out
	}
	m.acme.domains.Range(func(k, _ any) bool {
		out[k.(string)] = m.DomainState(k.(string))
		return true
	})
	return out
}

// HTTPSReady reports whether the edge may redirect plain-HTTP requests for
// host (a normalized host name, no port) to HTTPS: [State.Ready] of its
// state. It is called for every such request: one map lookup and one
// atomic load.
func (m *Manager) HTTPSReady(host string) bool {
	d := m.acme.domain(host)
	if d == nil {
		return true
	}
	s := d.st.Load()
	if s.Status == StatusIssued || (s.Status == StatusPending && s.OnDemand) {
		return true
	}
	return s.Ready(m.now())
}

// StateCounts returns how many managed domains are in each status.
func (m *Manager) StateCounts() map[Status]int {
	out := map[Status]int{StatusPending: 0, StatusIssued: 0, StatusFailed: 0}
	if m.acme == nil {
		return out
	}
	m.acme.domains.Range(func(_, v any) bool {
		out[v.(*domain).st.Load().Status]++
		return true
	})
	return out
}

// caReason is the text of an order's error (the CA's problem document,
// type and detail, when it sent one), cut to a readable length.
func caReason(err error) string {
	s := err.Error()
	const limit = 500
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return strings.TrimSpace(s)
}

// certmagicRetry is the wait of certmagic (v0.25) before the next try of
// a background order, after attempt failures: it keeps its table
// unexported, so its start is copied here to show the next try in
// [State.NextTry]. Later tries are at least every 6 hours.
func certmagicRetry(attempt int) time.Duration {
	steps := [...]time.Duration{
		time.Minute, 2 * time.Minute, 2 * time.Minute, 5 * time.Minute,
		10 * time.Minute, 10 * time.Minute, 10 * time.Minute,
		20 * time.Minute, 20 * time.Minute, 20 * time.Minute, 20 * time.Minute,
		30 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute,
		time.Hour, time.Hour, time.Hour, 2 * time.Hour, 2 * time.Hour, 3 * time.Hour, 3 * time.Hour,
	}
	if attempt < 1 {
		attempt = 1
	}
	if attempt > len(steps) {
		return 6 * time.Hour
	}
	return steps[attempt-1]
}

// attemptOf returns the number of tries certmagic made before the one
// whose event carries ctx (0 for the first), or 0.
func attemptOf(ctx context.Context) int {
	if n, ok := ctx.Value(certmagic.AttemptsCtxKey).(*int); ok && n != nil {
		return *n
	}
	return 0
}

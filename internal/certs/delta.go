package certs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/caddyserver/certmagic"

	"github.com/forcehttps/forcehttps"
)

// UpdateDomains changes the names that get ACME certificates by a delta:
// the names of add are managed from now on and those of remove no longer
// are, the others stay as they are. It does for these names what
// [Manager.ManageDomains] does (the same normalization, the same names
// skipped, a certificate in storage loaded before it returns, orders in
// the background, renewals stopped), and nothing for the others: an edge
// calls it when one app changes. A name in both lists is managed. An
// invalid name makes the whole call fail and change nothing. Without
// ACME, UpdateDomains only validates the names.
//
// The set of managed names is read by handshakes without a lock, so a
// change copies it: that copy costs in proportion to the names managed
// (a few milliseconds for 100 000), the rest in proportion to the delta.
func (m *Manager) UpdateDomains(ctx context.Context, add, remove []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	files := m.files.Load()
	var errs []error
	var added []string
	for _, d := range add {
		name, ok, err := m.acmeName(d, files)
		if err != nil {
			errs = append(errs, err)
		} else if ok {
			added = append(added, name)
		}
	}
	var removed []string
	for _, d := range remove {
		h, wild, err := forcehttps.ParseHostPattern(d)
		if err != nil {
			errs = append(errs, fmt.Errorf("domain %q: %w", d, err))
			continue
		}
		if wild {
			h = "*." + h
		}
		removed = append(removed, h)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if m.acme == nil {
		return nil
	}
	cur := *m.acme.managed.Load()
	changed := false
	for _, n := range removed {
		_, had := cur[n]
		changed = changed || had
	}
	for _, n := range added {
		_, had := cur[n]
		changed = changed || !had
	}
	if !changed {
		return nil
	}
	want := maps.Clone(cur)
	for _, n := range removed {
		delete(want, n)
	}
	for _, n := range added {
		want[n] = struct{}{}
	}
	m.acme.manageDelta(ctx, want, added, removed)
	return nil
}

// manageDelta is manage for a change of the names added and removed
// only, want being the whole new set: its work is in proportion to the
// delta. Called with Manager.mu held.
func (a *acmeState) manageDelta(ctx context.Context, want map[string]struct{}, added, removed []string) {
	a.managed.Store(&want)
	var gone []string
	for _, name := range removed {
		if _, ok := want[name]; ok {
			continue // also added: stays managed
		}
		if _, ok := a.stops[name]; ok {
			a.drop(name)
		}
		if a.known[name] {
			gone = append(gone, name)
		}
	}
	if len(gone) > 0 {
		a.removeFromCache(gone)
	}
	slices.Sort(added)
	renewNow := false
	for _, name := range added {
		if _, ok := a.stops[name]; !ok {
			renewNow = a.add(ctx, name) || renewNow
		}
	}
	if renewNow {
		a.renewSoon()
	}
}

// acmeName returns the name under which domain d gets an ACME
// certificate, and false when it gets none: without ACME, when a
// certificate file covers it, for a wildcard or an IP address
// (HTTP-01 and TLS-ALPN-01 cannot validate them), for a name no public CA
// certifies when the CA is public. Those skipped for a reason the
// operator should know are logged. An invalid name is an error.
func (m *Manager) acmeName(d string, files *index) (string, bool, error) {
	h, wild, err := forcehttps.ParseHostPattern(d)
	if err != nil {
		return "", false, fmt.Errorf("domain %q: %w", d, err)
	}
	if m.acme == nil {
		return "", false, nil
	}
	name := h
	if wild {
		name = "*." + h
	}
	switch _, ipErr := netip.ParseAddr(h); {
	case files.covers(name):
		return "", false, nil
	case wild:
		m.log.Warn("certs: a wildcard needs a certificate file (HTTP-01 and TLS-ALPN-01 cannot validate it)", "name", name)
		return "", false, nil
	case ipErr == nil:
		m.log.Warn("certs: an IP address needs a certificate file; not ordering one by ACME", "name", name)
		return "", false, nil
	case m.acme.publicCA && !certmagic.SubjectQualifiesForPublicCert(name):
		m.log.Warn("certs: no public CA certifies this name; not ordering one by ACME", "name", name)
		return "", false, nil
	}
	return name, true, nil
}

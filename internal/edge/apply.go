package edge

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/forcehttps/forcehttps/internal/config"
)

// DomainUpdater is implemented by certificate managers that can be told
// a change of the apps' domains rather than the whole list: the edge
// calls it on every [Server.ApplyApp], and falls back to ManageDomains
// with every domain for a manager without it.
type DomainUpdater interface {
	// UpdateDomains adds names to and removes names from the domains
	// ManageDomains was last given.
	UpdateDomains(ctx context.Context, add, remove []string) error
}

// ErrNotRunning is returned by [Server.ApplyApp] and [Server.CheckApp]
// before [Server.Listen] or after a shutdown.
var ErrNotRunning = errors.New("edge: the server is not running")

// CheckApp reports whether [Server.ApplyApp] would accept ac as app name
// against the apps served now, without changing anything. A refusal is
// a [*config.ValidationError] (paths relative to the app, such as
// "domains[1]"), wrapped.
func (s *Server) CheckApp(name string, ac *config.App) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.listening || s.closed {
		return ErrNotRunning
	}
	return s.checkApp(s.snap.Load(), name, ac)
}

// checkApp validates ac as app name of cur, with the rules of the
// configuration file ([config.Config.ValidateApp]).
func (s *Server) checkApp(cur *snapshot, name string, ac *config.App) error {
	if ac.Name != name {
		return fmt.Errorf("edge: app %q: the definition is named %q", name, ac.Name)
	}
	err := cur.cfg.ValidateApp(ac, config.Others{
		Name: func(n string) (string, bool) {
			if a := cur.app(n); a != nil && a.name != name {
				return fmt.Sprintf("app %q", a.name), true
			}
			return "", false
		},
		Domain: func(key string) (string, string, bool) {
			var a *app
			if parent, wild := strings.CutPrefix(key, "*."); wild {
				a, _ = cur.wildcard.get(parent)
			} else {
				a, _ = cur.exact.get(key)
			}
			if a == nil || a.name == name {
				return "", "", false
			}
			return a.name, "", true
		},
	})
	if err != nil {
		return fmt.Errorf("edge: app %q: %w", name, err)
	}
	if b, ok := ac.BuiltinName(); ok && s.o.builtins[b] == nil {
		return fmt.Errorf("edge: app %q: %w", name, &config.ValidationError{Errors: []*config.FieldError{{
			Path: "upstream", Message: fmt.Sprintf("builtin %q is not available in this program", b), Err: config.ErrUpstream}}})
	}
	return nil
}

// ApplyApp makes the edge serve ac as app name, replacing the app of that
// name if there is one, or stops serving app name when ac is nil. ac is
// validated against the other apps as the configuration file's apps are
// ([Server.CheckApp]); the certificate manager is told the domains added
// and removed ([DomainUpdater]); then the new table replaces the old one
// atomically. Only the changed app is built: the other apps, and the
// parts of the table the change does not touch, are shared with the
// previous table, so a change costs in proportion to the app, not to the
// number of apps. Requests in flight finish with the table they started
// with. On any error nothing changes. ac must not be modified afterwards.
//
// A reload ([Server.Reload]) builds the whole table again from the
// configuration and the overlay, which must therefore include the
// change for it to last.
func (s *Server) ApplyApp(ctx context.Context, name string, ac *config.App) error {
	start := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.listening || s.closed {
		return ErrNotRunning
	}
	cur := s.snap.Load()
	old := cur.app(name)
	if old != nil && old.name != name {
		old = nil // another app, whose name differs in case only
	}
	if ac == nil && old == nil {
		return nil
	}
	sn := *cur // a copy: cur stays as it is for the requests using it
	var a *app
	if ac != nil {
		if err := s.checkApp(cur, name, ac); err != nil {
			return err
		}
		var err error
		if a, err = s.newApp(&sn, ac); err != nil {
			s.dropNew(cur, name, old)
			return fmt.Errorf("edge: app %q%w", name, err)
		}
	}
	var exact, wild []indexEdit[*app]
	var add, remove []string
	if old != nil {
		exact, wild = domainEdits(old, nil, exact, wild)
	}
	if a != nil {
		exact, wild = domainEdits(a, a, exact, wild)
		sn.apps = sn.apps.with([]indexEdit[*app]{{key: strings.ToLower(name), v: a}})
	} else {
		sn.apps = sn.apps.with([]indexEdit[*app]{{key: strings.ToLower(name), delete: true}})
	}
	add, remove = domainDelta(old, a)
	sn.exact = sn.exact.with(exact)
	sn.wildcard = sn.wildcard.with(wild)
	if (a != nil && a.builtin != nil) || (old != nil && old.builtin != nil) {
		sn.builtins = maps.Clone(cur.builtins)
		delete(sn.builtins, name)
		if a != nil && a.builtin != nil {
			sn.builtins[name] = a.builtin
		}
	}
	if err := s.updateDomains(ctx, &sn, add, remove); err != nil {
		s.dropNew(cur, name, old)
		return fmt.Errorf("edge: app %q: certificates: %w", name, err)
	}
	if a != nil && a.builtin != nil {
		s.builtins[name].set(a.builtin)
	}
	s.snap.Store(&sn)
	if a == nil || a.builtin == nil {
		s.stopBuiltins(&sn)
	}
	if a == nil {
		s.dropMetrics(name)
	}
	s.m.apply.Observe(time.Since(start).Seconds())
	return nil
}

// dropNew undoes what building app name did when the change is refused:
// the builtin server and metrics of an app that did not exist. Called
// with s.mu held.
func (s *Server) dropNew(cur *snapshot, name string, old *app) {
	if old == nil {
		s.dropMetrics(name)
	}
	s.stopBuiltins(cur)
}

// domainDelta returns the domains of to that from lacks, and those of
// from that to lacks, compared as the index compares them.
func domainDelta(from, to *app) (add, remove []string) {
	keys := func(a *app) map[string]string {
		if a == nil {
			return nil
		}
		m := make(map[string]string, len(a.cfg.Domains))
		for _, d := range a.cfg.Domains {
			if k, err := config.DomainKey(d); err == nil {
				m[k] = d
			}
		}
		return m
	}
	f, t := keys(from), keys(to)
	for k, d := range t {
		if _, ok := f[k]; !ok {
			add = append(add, d)
		}
	}
	for k, d := range f {
		if _, ok := t[k]; !ok {
			remove = append(remove, d)
		}
	}
	return add, remove
}

// updateDomains tells the certificate manager a change of the domains of
// sn, the next table.
func (s *Server) updateDomains(ctx context.Context, sn *snapshot, add, remove []string) error {
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	if u, ok := s.certs.(DomainUpdater); ok {
		return u.UpdateDomains(ctx, add, remove)
	}
	return s.certs.ManageDomains(ctx, sn.domains())
}

// dropMetrics removes the series of app name, which is no longer served.
// Requests of the app still in flight count on series that are no longer
// exported, and create none. Called with s.mu held.
func (s *Server) dropMetrics(name string) {
	am := s.appMetric[name]
	if am == nil {
		return
	}
	delete(s.appMetric, name)
	am.mu.Lock()
	am.gone.Store(true) // under mu: get creates no series after this
	am.mu.Unlock()
	if sr := am.series.Load(); sr != nil {
		m := s.m
		m.hsts.DeleteLabelValues(name)
		for _, scheme := range []string{"http", "https"} {
			m.duration.DeleteLabelValues(name, scheme)
		}
		for i := range sr.codes {
			scheme := "http"
			if i == 1 {
				scheme = "https"
			}
			for code := range sr.codes[i] {
				if sr.codes[i][code].Load() != nil {
					m.requests.DeleteLabelValues(name, scheme, fmt.Sprint(code+100))
				}
			}
		}
		for _, r := range cutReasons {
			m.cuts.DeleteLabelValues(name, r)
		}
		for _, r := range redirectReasons {
			m.redirects.DeleteLabelValues(name, string(r))
		}
		for k := range sr.upstream {
			m.upstreamErrors.DeleteLabelValues(name, k)
		}
	}
	am.mu.Lock()
	for _, l := range am.lazy {
		l.vec.DeleteLabelValues(name, l.value)
	}
	am.mu.Unlock()
}

// dropStaleMetrics removes the series of the apps sn does not serve.
// Called with s.mu held.
func (s *Server) dropStaleMetrics(sn *snapshot) {
	for name := range s.appMetric {
		if a := sn.app(name); a == nil || a.name != name {
			s.dropMetrics(name)
		}
	}
}

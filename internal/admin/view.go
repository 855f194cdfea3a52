package admin

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/forcehttps/forcehttps"
	"github.com/forcehttps/forcehttps/internal/config"
	"github.com/forcehttps/forcehttps/internal/edge"
)

// AppView is an app as the API and the dashboard show it.
type AppView struct {
	Name         string            `json:"name"`
	Domains      []string          `json:"domains"`
	ForceHTTPS   bool              `json:"force_https"`
	HSTS         HSTSView          `json:"hsts"`
	Redirect     RedirectView      `json:"redirect"`
	Certificates []CertificateView `json:"certificates"`
	EnabledAt    *time.Time        `json:"enabled_at,omitempty"`
	DisabledAt   *time.Time        `json:"disabled_at,omitempty"`
	DrainUntil   *time.Time        `json:"drain_until,omitempty"`
	// Message says in words what the app's HTTPS policy does now.
	Message string `json:"message"`
	// Sources says, for each key the API can change (force_https,
	// hsts.max_age, hsts.include_subdomains, hsts.preload,
	// redirect.status, redirect.unsafe_status, redirect.temporary),
	// whether its value comes from the configuration file or the API,
	// with the file's value when the API overrides it.
	Sources map[string]FieldSource `json:"sources"`
	// Origin is where the app is defined: "file" (the configuration
	// file, read-only through the API) or "api" (created through it).
	Origin string `json:"origin"`
	// Warning is set after a disable whose drain is shorter than the
	// largest max-age sent: how long browsers keep forcing HTTPS after
	// the drain ends.
	Warning string `json:"warning,omitempty"`
}

// Origins of apps.
const (
	OriginFile = "file" // the configuration file
	OriginAPI  = "api"  // created through the API
)

// HSTS states.
const (
	HSTSOff      = "off"      // no header
	HSTSRamping  = "ramping"  // max-age growing since Force HTTPS was enabled
	HSTSOn       = "on"       // the target max-age
	HSTSRevoking = "revoking" // max-age=0, so that browsers forget the policy
)

// HSTSView is the HSTS policy of an app and what it sends now.
type HSTSView struct {
	// State is off, ramping, on or revoking.
	State string `json:"state"`
	// EffectiveMaxAge is the max-age sent now, in seconds.
	EffectiveMaxAge int64 `json:"effective_max_age"`
	// Stage is the ramp stage, 1 to 4, while ramping.
	Stage int `json:"stage,omitempty"`
	// Target is the configured max-age.
	Target            int64 `json:"target"`
	IncludeSubdomains bool  `json:"include_subdomains"`
	Preload           bool  `json:"preload"`
	// MaxAgeSent is the largest max-age known to have been sent.
	MaxAgeSent int64 `json:"max_age_sent,omitempty"`
}

// RedirectView is the redirect policy of an app.
type RedirectView struct {
	Status       int  `json:"status"`
	UnsafeStatus int  `json:"unsafe_status"`
	Temporary    bool `json:"temporary"`
}

// CertificateView is the certificate served for one domain.
type CertificateView struct {
	Domain   string     `json:"domain"`
	Names    []string   `json:"names,omitempty"`
	NotAfter *time.Time `json:"not_after,omitempty"`
	Source   string     `json:"source,omitempty"`
	// Missing is true when no certificate covers the domain.
	Missing bool `json:"missing,omitempty"`
	// State is where the domain's ACME certificate stands: "pending"
	// (being ordered, or on demand and not asked for yet), "issued" or
	// "failed"; absent when ACME does not manage the domain.
	State string `json:"state,omitempty"`
	// OnDemand is true when the certificate is ordered at the first TLS
	// handshake naming the domain.
	OnDemand bool `json:"on_demand,omitempty"`
	// Error is why the last order failed, in the CA's words.
	Error string `json:"error,omitempty"`
	// NextTry is when the next order may start, after a failure.
	NextTry *time.Time `json:"next_try,omitempty"`
	// Redirect is "waiting for certificate" when the app forces HTTPS
	// but the edge serves this domain over plain HTTP, without a
	// redirect, until its certificate is issued.
	Redirect string `json:"redirect,omitempty"`
}

// RedirectWaiting is CertificateView.Redirect for a domain whose redirect
// waits for its certificate.
const RedirectWaiting = "waiting for certificate"

// rampStarts are when each ramp stage after the first starts, after
// enabling (see forcehttps.RampMaxAge).
var rampStarts = []time.Duration{24 * time.Hour, 8 * 24 * time.Hour, 38 * 24 * time.Hour}

// Apps returns every app, in the configuration's order.
func (a *Admin) Apps() []AppView {
	if a.edge == nil {
		return nil
	}
	raw := a.edge.Config()
	if raw == nil {
		return nil
	}
	st := a.state.Load()
	now := a.now()
	eff, _ := overlay(raw, st, now)
	certs := a.certificates()
	out := make([]AppView, 0, len(eff.Apps))
	// The apps before the state's overrides: the file's, then the API's,
	// in the overlay's order.
	base := append(slices.Clone(raw.Apps), apiApps(raw, st)...)
	for i := range eff.Apps {
		s := st.Apps[eff.Apps[i].Name]
		v := view(&eff.Apps[i], s, certs, now)
		a.certificateStates(&v)
		v.Sources = sources(&base[i], s)
		v.Origin = OriginFile
		if i >= len(raw.Apps) {
			v.Origin = OriginAPI
		}
		v.Warning = drainWarning(v.ForceHTTPS, s, now)
		out = append(out, v)
	}
	return out
}

// App returns one app, computed for it alone.
func (a *Admin) App(name string) (AppView, bool) {
	if a.edge == nil {
		return AppView{}, false
	}
	raw := a.edge.Config()
	if raw == nil {
		return AppView{}, false
	}
	st := a.state.Load()
	now := a.now()
	eff, _, ok := effectiveApp(raw, st, name, now)
	if !ok {
		return AppView{}, false
	}
	// The app before the state's overrides.
	origin, base := OriginFile, fileApp(raw, name)
	if base == nil {
		origin = OriginAPI
		var err error
		if base, err = config.DecodeApp(st.Apps[name].App); err != nil {
			return AppView{}, false
		}
		base.Name = name
	}
	certs := a.certificates()
	s := st.Apps[name]
	v := view(eff, s, certs, now)
	a.certificateStates(&v)
	v.Sources = sources(base, s)
	v.Origin = origin
	v.Warning = drainWarning(v.ForceHTTPS, s, now)
	return v, true
}

func view(app *config.App, s *AppState, certs certIndex, now time.Time) AppView {
	v := AppView{
		Name:       app.Name,
		Domains:    slices.Clone(app.Domains),
		ForceHTTPS: app.ForceHTTPS,
		Redirect:   RedirectView{Status: app.Redirect.Status, UnsafeStatus: app.Redirect.UnsafeStatus, Temporary: app.Redirect.Temporary},
	}
	if v.Redirect.Status == 0 {
		v.Redirect.Status = 301
		if app.Redirect.Temporary {
			v.Redirect.Status = 302
		}
	}
	if v.Redirect.UnsafeStatus == 0 {
		v.Redirect.UnsafeStatus = 308
		if app.Redirect.Temporary {
			v.Redirect.UnsafeStatus = 307
		}
	}
	h := HSTSView{Target: app.HSTS.MaxAge, IncludeSubdomains: app.HSTS.IncludeSubdomains, Preload: app.HSTS.Preload}
	switch {
	case app.HSTS.Revoke:
		h.State = HSTSRevoking
	case !app.ForceHTTPS || app.HSTS.Disable:
		h.State = HSTSOff
	case !app.HSTS.RampFrom.IsZero():
		h.EffectiveMaxAge = forcehttps.RampMaxAge(app.HSTS.MaxAge, app.HSTS.RampFrom, now)
		h.Stage = len(rampStarts) + 1
		for i, start := range rampStarts {
			if now.Sub(app.HSTS.RampFrom) < start {
				h.Stage = i + 1
				break
			}
		}
		h.State = HSTSRamping
		if h.Stage > len(rampStarts) || h.EffectiveMaxAge >= app.HSTS.MaxAge {
			h.State = HSTSOn
		}
	default:
		h.State, h.EffectiveMaxAge = HSTSOn, app.HSTS.MaxAge
	}
	if s != nil {
		h.MaxAgeSent = s.MaxAgeSent
		if !s.EnabledAt.IsZero() {
			t := s.EnabledAt
			v.EnabledAt = &t
		}
		if !s.DisabledAt.IsZero() {
			t := s.DisabledAt
			v.DisabledAt = &t
		}
		if !s.DrainUntil.IsZero() && now.Before(s.DrainUntil) {
			t := s.DrainUntil
			v.DrainUntil = &t
		}
	}
	if m := sentMaxAge(app, now); m > h.MaxAgeSent {
		h.MaxAgeSent = m
	}
	v.HSTS = h
	v.Certificates = certs.views(app.Domains)
	v.Message = message(v)
	return v
}

// message describes v's policy in words.
func message(v AppView) string {
	switch {
	case v.ForceHTTPS && v.HSTS.State == HSTSOff:
		return "Force HTTPS is on: plain HTTP is redirected to HTTPS; no HSTS header is sent."
	case v.ForceHTTPS && v.HSTS.State == HSTSRamping:
		return "Force HTTPS is on: plain HTTP is redirected to HTTPS; HSTS is ramping up (stage " + strconv.Itoa(v.HSTS.Stage) + " of 4, max-age=" + strconv.FormatInt(v.HSTS.EffectiveMaxAge, 10) + ")."
	case v.ForceHTTPS:
		return "Force HTTPS is on: plain HTTP is redirected to HTTPS; HSTS max-age=" + strconv.FormatInt(v.HSTS.EffectiveMaxAge, 10) + "."
	case v.HSTS.State == HSTSRevoking && v.DrainUntil != nil:
		return "Force HTTPS is off: plain HTTP is served, HTTPS still works. Browsers that saw HSTS keep using HTTPS; max-age=0 is sent over HTTPS until " + v.DrainUntil.UTC().Format(time.RFC3339) + " so that they forget it, then no HSTS header."
	case v.HSTS.State == HSTSRevoking:
		return "Force HTTPS is off: plain HTTP is served, HTTPS still works; max-age=0 is sent over HTTPS so that browsers forget HSTS."
	default:
		return "Force HTTPS is off: plain HTTP and HTTPS are both served; no HSTS header is sent."
	}
}

// certificateStates adds to v's certificates the state of their ACME
// order, and whether the redirect waits for it.
func (a *Admin) certificateStates(v *AppView) {
	if a.o.CertificateState == nil {
		return
	}
	for i := range v.Certificates {
		cv := &v.Certificates[i]
		st := a.o.CertificateState(cv.Domain)
		cv.State, cv.OnDemand, cv.Error = st.State, st.OnDemand, st.Error
		if !st.NextTry.IsZero() {
			t := st.NextTry
			cv.NextTry = &t
		}
		if v.ForceHTTPS && !st.Ready {
			cv.Redirect = RedirectWaiting
		}
	}
}

// certIndex holds the certificates in use by lower-cased name (a
// wildcard as "*.parent"), each name's with the latest expiry: a view
// looks a domain up in it instead of scanning every certificate, which
// an edge with 100 000 ACME names cannot afford per domain.
type certIndex map[string]indexedCert

type indexedCert struct {
	info edge.CertificateInfo
	pos  int // in the list: on equal expiry the first wins
}

// certificates indexes the certificates in use.
func (a *Admin) certificates() certIndex {
	if a.o.Certificates == nil {
		return nil
	}
	return newCertIndex(a.o.Certificates())
}

func newCertIndex(certs []edge.CertificateInfo) certIndex {
	ix := make(certIndex, len(certs))
	for i, c := range certs {
		for _, n := range c.Names {
			k := strings.ToLower(n)
			if cur, ok := ix[k]; !ok || c.NotAfter.After(cur.info.NotAfter) {
				ix[k] = indexedCert{info: c, pos: i}
			}
		}
	}
	return ix
}

// views returns, for each domain, the certificate covering it (by its
// name or a wildcard) that expires last, or Missing.
func (ix certIndex) views(domains []string) []CertificateView {
	out := make([]CertificateView, 0, len(domains))
	for _, d := range domains {
		cv := CertificateView{Domain: d, Missing: true}
		if c, ok := ix.lookup(d); ok {
			t := c.NotAfter
			cv = CertificateView{Domain: d, Names: slices.Clone(c.Names), NotAfter: &t, Source: c.Source}
		}
		out = append(out, cv)
	}
	return out
}

// lookup returns the certificate of domain: the one named for it or for
// its parent's wildcard, whichever expires last.
func (ix certIndex) lookup(domain string) (edge.CertificateInfo, bool) {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	best, ok := ix[d]
	if i := strings.IndexByte(d, '.'); i > 0 {
		if w, wok := ix["*."+d[i+1:]]; wok && (!ok || w.info.NotAfter.After(best.info.NotAfter) ||
			w.info.NotAfter.Equal(best.info.NotAfter) && w.pos < best.pos) {
			best, ok = w, true
		}
	}
	return best.info, ok
}

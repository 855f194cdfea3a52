package admin

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/forcehttps/forcehttps"
	"github.com/forcehttps/forcehttps/internal/config"
	"github.com/forcehttps/forcehttps/internal/edge"
)

// Edge is what the admin needs from the edge: [*edge.Server] implements
// it.
type Edge interface {
	// Config returns the configuration in use, before the overlay.
	Config() *config.Config
	// Rebuild applies that configuration again, with the overlay.
	Rebuild(ctx context.Context) error
	// CheckApp reports whether ApplyApp would accept app (validation
	// against the other apps served), changing nothing.
	CheckApp(name string, app *config.App) error
	// ApplyApp serves app as app name (nil: stops serving it), without
	// rebuilding the other apps.
	ApplyApp(ctx context.Context, name string, app *config.App) error
	// Addrs returns the bound listener addresses.
	Addrs() edge.Addrs
}

// Options configure an [Admin].
type Options struct {
	// StateFile is where changes are kept; "" keeps them in memory only.
	// Ignored when Store is set.
	StateFile string
	// Store is where changes are kept, when not in StateFile: for
	// example a database shared by the replicas of a cluster. Nil: a
	// [FileStore] on StateFile.
	Store Store
	// Cluster reports the replicas of a cluster for GET /api/cluster and
	// the dashboard. Nil: not a cluster; /api/cluster answers 404.
	Cluster Cluster
	// ConfigPath is the configuration file's path, named when the API
	// refuses to change an app that comes from it.
	ConfigPath string
	// Token is the bearer token of the API and the dashboard, named
	// "default" in the audit log. Required unless TokensFile is set.
	Token string
	// TokensFile holds named tokens, one "name: token" a line
	// (internal/tokenfile), accepted besides Token. It is read again
	// when it changes, at most every TokensCheck: a removed token stops
	// working and a new one works without a restart.
	TokensFile string
	// TokensCheck is how often TokensFile is looked at. Zero: 2s.
	TokensCheck time.Duration
	// AuditLog is a file every change is appended to as a JSON line
	// (created with mode 0600), besides the log. "": the log only.
	AuditLog string
	// Roots are the certificate roots the preflight trusts, besides the
	// system's ([ParseRoots] reads a PEM file). Nil: the system roots
	// only.
	Roots []*x509.Certificate
	// Certificates lists the certificates the edge serves.
	Certificates func() []edge.CertificateInfo
	// CertificateState returns the state of a domain's ACME certificate,
	// shown per domain by the API and the dashboard. Nil: none shown.
	CertificateState func(domain string) edge.CertificateState
	// AllowedHosts are Host values accepted besides the admin listener's
	// address and localhost, 127.0.0.1 and [::1] on any port.
	AllowedHosts []string
	// PreflightTimeout bounds the check of each domain. Zero: 5s.
	PreflightTimeout time.Duration
	// DrainCheck is how often Run checks for ended drains. Zero: 10s.
	DrainCheck time.Duration
	// Logger receives what the admin changed. Nil: slog.Default().
	Logger *slog.Logger
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

// Admin applies per-app changes of Force HTTPS, HSTS and redirects on top
// of the edge's configuration, keeps them in the state file, and serves
// the API and the dashboard. Build it with [New], pass [Admin.Overlay]
// and [Admin.Handler] to the edge, then [Admin.Attach] the edge.
type Admin struct {
	o     Options
	log   *slog.Logger
	now   func() time.Time
	state atomic.Pointer[State]
	edge  Edge
	store Store

	mu      sync.Mutex // serializes changes: state, store, rebuild
	version atomic.Int64

	revMu    sync.Mutex
	revoking map[string]time.Time // apps sending max-age=0 in the live overlay, until when

	sessions  sessions
	tokens    *tokens
	auditFile *auditFile

	// lastRaw is the configuration the last Overlay was given, to tell
	// which values the file has just changed.
	lastRaw atomic.Pointer[config.Config]
}

// ErrNoToken is returned by [New] without a token.
var ErrNoToken = errors.New("admin: a token is required")

// New loads the state file and prepares an Admin.
func New(o Options) (*Admin, error) {
	if o.Token == "" && o.TokensFile == "" {
		return nil, ErrNoToken
	}
	a := &Admin{o: o, log: o.Logger, now: o.Now, revoking: map[string]time.Time{}}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.o.PreflightTimeout <= 0 {
		a.o.PreflightTimeout = 5 * time.Second
	}
	if a.o.DrainCheck <= 0 {
		a.o.DrainCheck = 10 * time.Second
	}
	a.store = o.Store
	if a.store == nil {
		fs, err := NewFileStore(o.StateFile)
		if err != nil {
			return nil, err
		}
		a.store = fs
	}
	cur := a.store.Current()
	a.state.Store(cur.State)
	a.version.Store(cur.Version)
	a.tokens = &tokens{file: o.TokensFile, every: o.TokensCheck, now: a.now, warn: a.log.Warn}
	if o.Token != "" {
		a.tokens.fixed = []namedSum{{DefaultTokenName, hashToken(o.Token)}}
	}
	if a.tokens.every <= 0 {
		a.tokens.every = 2 * time.Second
	}
	if o.TokensFile != "" {
		if err := a.tokens.load(); err != nil {
			return nil, err
		}
		a.tokens.checked = a.now()
	}
	if o.AuditLog != "" {
		af, err := openAuditFile(o.AuditLog)
		if err != nil {
			return nil, fmt.Errorf("admin: audit log: %w", err)
		}
		a.auditFile = af
	}
	a.sessions.m = map[string]*session{}
	return a, nil
}

// Attach gives the admin the edge it changes.
func (a *Admin) Attach(e Edge) { a.edge = e }

// State returns a copy of the current state.
func (a *Admin) State() *State { return a.state.Load().clone() }

// Version returns the version of the state the edge applies.
func (a *Admin) Version() int64 { return a.version.Load() }

// Apply makes the edge serve snap, if it is newer than the state it
// serves: the path of changes committed by other replicas. When the edge
// refuses it, the previous state is kept and the error returned.
func (a *Admin) Apply(ctx context.Context, snap Snapshot) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.adopt(ctx, snap)
}

// adopt is Apply under a.mu.
func (a *Admin) adopt(ctx context.Context, snap Snapshot) error {
	if snap.State == nil || snap.Version <= a.version.Load() {
		return nil
	}
	old, oldVersion := a.state.Load(), a.version.Load()
	a.state.Store(snap.State)
	a.version.Store(snap.Version)
	if a.edge == nil || a.edge.Config() == nil {
		return nil // not serving yet: the first build reads the new state
	}
	if err := a.applyChanged(ctx, old, snap.State); err != nil {
		a.state.Store(old)
		a.version.Store(oldVersion)
		// Some apps may have changed already: serve the previous state
		// again, whole.
		if rerr := a.edge.Rebuild(ctx); rerr != nil {
			a.log.Error("admin: could not rebuild with the previous state", "error", rerr.Error())
		}
		return fmt.Errorf("admin: the edge refused state version %d: %w", snap.Version, err)
	}
	a.log.Info("admin: state applied", "state_version", snap.Version)
	return nil
}

// maxIncremental is the number of changed apps above which a new state
// is applied by rebuilding the edge's whole table rather than app by app.
const maxIncremental = 64

// applyChanged makes the edge serve next, which follows prev: app by app
// for the apps whose state differs, or by a rebuild when many do. Called
// with a.mu held, next stored.
func (a *Admin) applyChanged(ctx context.Context, prev, next *State) error {
	var changed []string
	for name, s := range next.Apps {
		if p := prev.Apps[name]; p != s && !reflect.DeepEqual(p, s) {
			changed = append(changed, name)
		}
	}
	for name := range prev.Apps {
		if _, ok := next.Apps[name]; !ok {
			changed = append(changed, name)
		}
	}
	if len(changed) > maxIncremental {
		return a.edge.Rebuild(ctx)
	}
	// Removals first, so that the domains of a deleted app are free
	// when another app takes them; then by name, to be repeatable.
	slices.SortFunc(changed, func(x, y string) int {
		_, xok := next.Apps[x]
		_, yok := next.Apps[y]
		if xok != yok {
			if !xok {
				return -1
			}
			return 1
		}
		return strings.Compare(x, y)
	})
	for _, name := range changed {
		if err := a.applyApp(ctx, name); err != nil {
			// A domain that moved from one app to another is refused
			// when the app taking it comes first, and two apps may
			// swap domains: the new state is applied whole instead.
			a.log.Info("admin: applying the changed apps one by one was refused; rebuilding", "app", name, "error", err.Error())
			return a.edge.Rebuild(ctx)
		}
	}
	return nil
}

// applyApp makes the edge serve app name as the current state and
// configuration define it, or stop serving it when they no longer do.
// Called with a.mu held.
func (a *Admin) applyApp(ctx context.Context, name string) error {
	raw := a.edge.Config()
	app, until, ok := effectiveApp(raw, a.state.Load(), name, a.now())
	a.revMu.Lock()
	if until.IsZero() {
		delete(a.revoking, name)
	} else {
		a.revoking[name] = until
	}
	a.revMu.Unlock()
	if !ok {
		app = nil
	}
	return a.edge.ApplyApp(ctx, name, app)
}

// Overlay returns cfg with the state applied to its apps; cfg is left
// alone. Pass it to the edge with [edge.WithOverlay].
func (a *Admin) Overlay(cfg *config.Config) *config.Config {
	st := a.state.Load()
	out, rev := overlay(cfg, st, a.now())
	a.revMu.Lock()
	a.revoking = rev
	a.revMu.Unlock()
	a.logOverrides(a.lastRaw.Swap(cfg), cfg, st)
	return out
}

// overlay applies st to a copy of cfg at time now, and returns which apps
// send max-age=0 until when.
func overlay(cfg *config.Config, st *State, now time.Time) (*config.Config, map[string]time.Time) {
	out := *cfg
	out.Apps = append(slices.Clone(cfg.Apps), apiApps(cfg, st)...)
	rev := map[string]time.Time{}
	for i := range out.Apps {
		app := &out.Apps[i]
		if until := applyState(app, st.Apps[app.Name], now); !until.IsZero() {
			rev[app.Name] = until
		}
	}
	return &out, rev
}

// effectiveApp returns the configuration of app name under st at now, as
// [overlay] makes it, computed for that app alone: the file's app, or
// else the API's definition, with the state's changes; and until when it
// sends max-age=0 (zero: it does not). ok is false when no app has the
// name.
func effectiveApp(raw *config.Config, st *State, name string, now time.Time) (app *config.App, revokeUntil time.Time, ok bool) {
	s := st.Apps[name]
	if f := fileApp(raw, name); f != nil {
		c := *f
		app = &c
	} else {
		if s == nil || len(s.App) == 0 {
			return nil, time.Time{}, false
		}
		var err error
		if app, err = config.DecodeApp(s.App); err != nil {
			return nil, time.Time{}, false // refused when it was stored, as apiApps
		}
		app.Name = name
	}
	return app, applyState(app, s, now), true
}

// applyState applies the state s (nil: none) of an app to app at now,
// and returns until when the app sends max-age=0 (zero: it does not).
func applyState(app *config.App, s *AppState, now time.Time) time.Time {
	if s == nil {
		return time.Time{}
	}
	if h := s.HSTS; h != nil {
		if h.MaxAge != nil {
			app.HSTS.MaxAge = *h.MaxAge
		}
		if h.IncludeSubdomains != nil {
			app.HSTS.IncludeSubdomains = *h.IncludeSubdomains
		}
		if h.Preload != nil {
			app.HSTS.Preload = *h.Preload
		}
	}
	if r := s.Redirect; r != nil {
		if r.Status != nil {
			app.Redirect.Status = *r.Status
		}
		if r.UnsafeStatus != nil {
			app.Redirect.UnsafeStatus = *r.UnsafeStatus
		}
		if r.Temporary != nil {
			app.Redirect.Temporary = *r.Temporary
		}
	}
	if s.ForceHTTPS != nil {
		app.ForceHTTPS = *s.ForceHTTPS
	}
	if app.ForceHTTPS {
		if s.ForceHTTPS != nil {
			app.HSTS.Revoke = false
		}
		// A ramp goes on after a reset that leaves Force HTTPS on.
		if s.Ramp && !s.EnabledAt.IsZero() {
			app.HSTS.RampFrom = s.EnabledAt
		}
		return time.Time{}
	}
	// A drain applies while Force HTTPS is off, whether the API or the
	// file (after a reset) turned it off.
	if !s.DrainUntil.IsZero() && now.Before(s.DrainUntil) {
		app.HSTS.Revoke, app.HSTS.Disable = true, false
		return s.DrainUntil
	}
	if s.ForceHTTPS != nil {
		app.HSTS.Revoke = false
	}
	return time.Time{}
}

// Run checks for ended drains until ctx is done, and rebuilds the edge
// when one ends, so that max-age=0 stops without a restart. With a store
// that others change too ([Watcher]), it also applies their changes.
func (a *Admin) Run(ctx context.Context) {
	if w, ok := a.store.(Watcher); ok {
		go w.Watch(ctx, a.Apply)
	}
	t := time.NewTicker(a.o.DrainCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.Tick(ctx)
		}
	}
}

// Tick applies again the apps whose drain has ended since they were
// last applied, so that they stop sending max-age=0, and reports whether
// there were any.
func (a *Admin) Tick(ctx context.Context) bool {
	now := a.now()
	a.revMu.Lock()
	var due []string
	for name, until := range a.revoking {
		if !now.Before(until) {
			due = append(due, name)
		}
	}
	a.revMu.Unlock()
	if len(due) == 0 || a.edge == nil {
		return false
	}
	slices.Sort(due)
	a.mu.Lock()
	defer a.mu.Unlock()
	ok := true
	for _, name := range due {
		if err := a.applyApp(ctx, name); err != nil {
			a.log.Error("admin: applying an app after the end of its drain failed", "app", name, "error", err.Error())
			ok = false
		}
	}
	if !ok {
		return false
	}
	a.log.Info("admin: an HSTS drain ended; max-age=0 is no longer sent", "apps", due)
	return true
}

// Errors of changes, which the API maps to statuses.
var (
	// ErrUnknownApp means no app has the name.
	ErrUnknownApp = errors.New("admin: unknown app")
	// ErrInvalid means the change makes the configuration invalid.
	ErrInvalid = errors.New("admin: invalid change")
	// ErrPreflight means the preflight failed and force was not given.
	ErrPreflight = errors.New("admin: preflight failed")
)

// findApp returns the effective configuration of app name under st.
func (a *Admin) findApp(raw *config.Config, st *State, name string) (*config.App, bool) {
	app, _, ok := effectiveApp(raw, st, name, a.now())
	return app, ok
}

// change applies f to a copy of the state of app name, read from the
// store, validates the result against the configuration, commits it to
// the store if the app did not change meanwhile, and applies the app to
// the edge.
// Called without a.mu.
func (a *Admin) change(ctx context.Context, name string, f func(raw *config.Config, eff *config.App, s *AppState) error) error {
	if a.edge == nil {
		return errors.New("admin: no edge attached")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	raw := a.edge.Config()
	cur, err := a.store.Load(ctx)
	if err != nil {
		return err
	}
	eff, ok := a.findApp(raw, cur.State, name)
	if !ok {
		return ErrUnknownApp
	}
	next := cur.State.cloneFor(name)
	s := next.app(name)
	noteSent(s, eff, a.now())
	if err := f(raw, eff, s); err != nil {
		return err
	}
	if app, _, ok := effectiveApp(raw, next, name, a.now()); ok {
		if err := a.edge.CheckApp(name, app); err != nil {
			return fmt.Errorf("%w: app %q: %w", ErrInvalid, name, validationOf(err))
		}
	}
	return a.commit(ctx, name, cur, s)
}

// commit stores s as the state of app name, based on snapshot cur, and
// applies the app to the edge; when the edge refuses it, the app's previous state
// is put back. Called with a.mu held. This is the one place where every
// change of the state is recorded.
func (a *Admin) commit(ctx context.Context, name string, cur Snapshot, s *AppState) error {
	snap, err := a.store.Update(ctx, name, s, cur.Version)
	if err != nil {
		var conflict *ConflictError
		if errors.As(err, &conflict) {
			// Serve what won, so that the 409 shows it.
			if aerr := a.adopt(ctx, conflict.Current); aerr != nil {
				a.log.Error("admin: applying the current state after a conflict", "error", aerr.Error())
			}
		}
		return err
	}
	old, oldVersion := a.state.Load(), a.version.Load()
	a.state.Store(snap.State)
	a.version.Store(snap.Version)
	if err := a.applyApp(ctx, name); err != nil {
		// Put the app's previous state back in the store, so that no
		// replica applies what this edge refused.
		back, serr := a.store.Update(ctx, name, cur.State.Apps[name], snap.Version)
		if serr != nil {
			a.log.Error("admin: could not restore the previous state", "error", serr.Error())
			a.state.Store(old)
			a.version.Store(oldVersion)
		} else {
			a.state.Store(back.State)
			a.version.Store(back.Version)
		}
		// A reload of the configuration file may have picked up the
		// refused state meanwhile.
		if rerr := a.applyApp(ctx, name); rerr != nil {
			a.log.Error("admin: could not rebuild with the previous state", "error", rerr.Error())
		}
		return fmt.Errorf("admin: the edge refused the change: %w", err)
	}
	return nil
}

// noteSent records in s the max-age eff sends at now, if larger than
// what is recorded.
func noteSent(s *AppState, eff *config.App, now time.Time) {
	if m := sentMaxAge(eff, now); m > s.MaxAgeSent {
		s.MaxAgeSent = m
	}
}

// sentMaxAge is the max-age app sends at now: 0 without HSTS.
func sentMaxAge(app *config.App, now time.Time) int64 {
	if !app.ForceHTTPS || app.HSTS.Disable || app.HSTS.Revoke {
		return 0
	}
	if !app.HSTS.RampFrom.IsZero() {
		return forcehttps.RampMaxAge(app.HSTS.MaxAge, app.HSTS.RampFrom, now)
	}
	return app.HSTS.MaxAge
}

// EnableRequest is the body of an enable.
type EnableRequest struct {
	// Force enables even if the preflight fails (it is not run).
	Force bool `json:"force"`
	// Ramp ramps HSTS up from now: 300 s, 1 week, 1 month, then max_age.
	Ramp bool `json:"ramp"`
}

// Enable turns Force HTTPS on for app name after a preflight of its
// domains, unless req.Force. On a failed preflight it returns the report
// and an error wrapping [ErrPreflight].
func (a *Admin) Enable(ctx context.Context, name string, req EnableRequest) (*Preflight, error) {
	a.audit(ctx, "enable", name, req)
	var report *Preflight
	if !req.Force {
		raw := a.edge.Config()
		app, ok := a.findApp(raw, a.state.Load(), name)
		if !ok {
			return nil, ErrUnknownApp
		}
		report = a.Preflight(ctx, app)
		if !report.OK {
			return report, ErrPreflight
		}
	}
	err := a.change(ctx, name, func(_ *config.Config, eff *config.App, s *AppState) error {
		on := true
		if !eff.ForceHTTPS || s.EnabledAt.IsZero() {
			s.EnabledAt = a.now()
		}
		s.ForceHTTPS = &on
		s.Ramp = req.Ramp
		s.DisabledAt, s.DrainUntil = time.Time{}, time.Time{}
		return nil
	})
	if err != nil {
		return report, err
	}
	a.log.Info("admin: Force HTTPS enabled", "app", name, "ramp", req.Ramp, "forced", req.Force)
	return report, nil
}

// DisableRequest is the body of a disable.
type DisableRequest struct {
	// Drain is how long max-age=0 is sent, such as "720h". Empty: the
	// longest max-age sent.
	Drain string `json:"drain"`
}

// Disable turns Force HTTPS off for app name: no more redirects, HTTPS
// still served, and max-age=0 sent for the drain if HSTS was ever sent.
func (a *Admin) Disable(ctx context.Context, name string, req DisableRequest) error {
	a.audit(ctx, "disable", name, req)
	drain, given, err := parseDrain(req.Drain)
	if err != nil {
		return err
	}
	err = a.change(ctx, name, func(_ *config.Config, _ *config.App, s *AppState) error {
		off := false
		now := a.now()
		s.ForceHTTPS = &off
		s.Ramp = false
		s.EnabledAt = time.Time{}
		s.DisabledAt = now
		d := drain
		if !given {
			d = time.Duration(s.MaxAgeSent) * time.Second
		}
		s.DrainUntil = time.Time{}
		if s.MaxAgeSent > 0 && d > 0 {
			s.DrainUntil = now.Add(d)
		}
		return nil
	})
	if err != nil {
		return err
	}
	a.log.Info("admin: Force HTTPS disabled", "app", name)
	a.warnDrain(name)
	return nil
}

// PatchRequest is the body of a policy change; absent fields are left.
type PatchRequest struct {
	Redirect *RedirectOverride `json:"redirect"`
	HSTS     *HSTSOverride     `json:"hsts"`
}

// Patch changes the redirect and HSTS policy of app name.
func (a *Admin) Patch(ctx context.Context, name string, req PatchRequest) error {
	a.audit(ctx, "patch", name, req)
	err := a.change(ctx, name, func(_ *config.Config, _ *config.App, s *AppState) error {
		if r := req.Redirect; r != nil {
			if s.Redirect == nil {
				s.Redirect = &RedirectOverride{}
			}
			if r.Status != nil {
				s.Redirect.Status = r.Status
			}
			if r.UnsafeStatus != nil {
				s.Redirect.UnsafeStatus = r.UnsafeStatus
			}
			if r.Temporary != nil {
				s.Redirect.Temporary = r.Temporary
			}
		}
		if h := req.HSTS; h != nil {
			if s.HSTS == nil {
				s.HSTS = &HSTSOverride{}
			}
			if h.MaxAge != nil {
				s.HSTS.MaxAge = h.MaxAge
			}
			if h.IncludeSubdomains != nil {
				s.HSTS.IncludeSubdomains = h.IncludeSubdomains
			}
			if h.Preload != nil {
				s.HSTS.Preload = h.Preload
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	a.log.Info("admin: policy changed", "app", name)
	return nil
}

// ParseRoots returns the certificates of PEM data, for Options.Roots.
func ParseRoots(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("admin: roots: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("admin: roots: no PEM certificate found")
	}
	return out, nil
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// fields.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
)

// ACME configures automatic certificates (RFC 8555) through certmagic.
type ACME struct {
	// Email is the ACME account's contact address; empty means an account
	// without contact (the CA cannot warn about problems).
	Email string

	// Directory is the URL of the CA's ACME directory; it must be https.
	// Empty means Let's Encrypt production
	// (https://acme-v02.api.letsencrypt.org/directory).
	Directory string

	// Storage is the directory holding the ACME account, certificates,
	// keys, challenge tokens and locks. Replicas that share it (a shared
	// file system) form one cluster: one of them obtains each certificate
	// while the others wait on its lock, and any of them can answer the
	// validation request of the CA. A relative path is resolved against the
	// working directory once, by New. Empty means
	// $XDG_DATA_HOME/forcehttps/acme, or ~/.local/share/forcehttps/acme.
	// Losing it means new orders at the next start, which the CA's rate
	// limits punish: persist it. Ignored when SharedStorage is set.
	Storage string

	// SharedStorage, when set, holds everything Storage would (account,
	// certificates, keys, challenge tokens, locks) instead of a directory:
	// for example PostgreSQL (package pgcerts), shared by the replicas of
	// a cluster, which then order each certificate once and answer each
	// other's challenges. Its locks must expire when their holder dies.
	// The Manager does not close it. Nil means the directory Storage.
	SharedStorage certmagic.Storage

	// LocalCache, with SharedStorage, is a directory on local disk that
	// keeps a copy of the certificates and keys this replica serves, read
	// before SharedStorage: a replica then starts with its certificates
	// while the shared storage is unreachable, and faster when it is
	// reachable. Orders, renewals and locks still go to SharedStorage,
	// and a certificate renewed by another replica replaces the local
	// copy. It holds private keys: keep it as private as Storage. Empty
	// means no local copy.
	LocalCache string

	// CARootFile is a PEM file of root certificates to trust for the ACME
	// server's own HTTPS, for a private or test CA. Empty means the system
	// roots, and then the CA is taken for a public one: names no public CA
	// will certify (localhost, *.local, *.internal, *.home.arpa) are not
	// ordered.
	CARootFile string

	// DisableHTTPChallenge turns off HTTP-01, which needs the CA to reach
	// port 80 and the HTTP server to call [Manager.HandleHTTPChallenge].
	DisableHTTPChallenge bool

	// DisableTLSALPNChallenge turns off TLS-ALPN-01, which needs the CA to
	// reach port 443 and the TLS server to use [Manager.TLSConfig].
	DisableTLSALPNChallenge bool

	// RenewalWindowRatio is the fraction of a certificate's lifetime left
	// when renewal starts, in (0, 1). 0 means certmagic's default, 1/3.
	// ACME Renewal Information from the CA, when offered, can start it
	// earlier.
	RenewalWindowRatio float64

	// RenewCheckInterval is how often certificates are checked for
	// renewal. 0 means certmagic's default, 10 minutes.
	RenewCheckInterval time.Duration

	// OnDemand orders the certificate of a managed name at the first TLS
	// handshake that names it, instead of when [Manager.ManageDomains]
	// adds it: a platform with many domains, most of them never visited
	// over HTTPS or not yet pointed at the edge, orders only those in use.
	// Only the names given to ManageDomains (the apps' domains) are ever
	// ordered; a handshake for any other name gets the default
	// certificate, as without OnDemand. One order runs per name at a
	// time, every handshake for it waiting on that one; new orders are
	// limited per hour (OnDemandOrdersPerHour); after a failed order the
	// name is not ordered again for OnDemandBackoff, doubling at each
	// failure up to OnDemandMaxBackoff, and its handshakes fail at once
	// meanwhile. A handshake waits OnDemandTimeout at most, then fails
	// (the order goes on, for the next handshake). Certificates obtained
	// are renewed like the others until their name is removed.
	OnDemand bool

	// OnDemandOrdersPerHour caps the on-demand orders started in any
	// hour by this Manager; a handshake that would start one more fails.
	// 0 means DefaultOnDemandOrdersPerHour (50): Let's Encrypt allows 300
	// new orders per account per 3 hours, refilled at 100 an hour, which
	// renewals without ARI and other replicas share.
	OnDemandOrdersPerHour int

	// OnDemandTimeout bounds how long a handshake waits for an on-demand
	// order. 0 means DefaultOnDemandTimeout (8s): orders usually take a
	// few seconds, and the server's own handshake deadline (the edge's
	// timeouts.read_header, 10s by default) must leave time to finish
	// the handshake after the wait.
	OnDemandTimeout time.Duration

	// OnDemandBackoff and OnDemandMaxBackoff bound the wait after a failed
	// on-demand order before the name is ordered again: the first,
	// doubled at each consecutive failure, up to the second. 0 means
	// DefaultOnDemandBackoff (1 minute) and DefaultOnDemandMaxBackoff (1
	// hour). Let's Encrypt allows 5 failed validations per name per hour.
	OnDemandBackoff, OnDemandMaxBackoff time.Duration
}

// acmeState is the ACME side of a Manager.
type acmeState struct {
	opts     ACME
	storage  string // absolute; empty with SharedStorage
	publicCA bool
	log      *slog.Logger

	cache  *certmagic.Cache
	cfg    *certmagic.Config
	issuer *certmagic.ACMEIssuer

	park     net.Listener
	parkDone chan struct{}

	root   context.Context // lives until close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// managed is the set of names under management, replaced as a whole by
	// ManageDomains and read by handshakes.
	managed atomic.Pointer[map[string]struct{}]

	// domains holds a *domain per managed name: its state, read per
	// request, and its on-demand order. Entries are added and removed one
	// by one by manage, with Manager.mu held.
	domains sync.Map

	now   func() time.Time
	limit orderLimit    // on-demand orders per hour
	stats onDemandStats // for metrics

	// Guarded by Manager.mu.
	stops map[string]context.CancelFunc // per managed name: cancels its order
	known map[string]bool               // every name ever managed
}

// newACME validates opts and builds the certmagic configuration. Nothing
// talks to the CA yet.
func newACME(_ context.Context, m *Manager, opts ACME) (*acmeState, error) {
	if opts.DisableHTTPChallenge && opts.DisableTLSALPNChallenge {
		return nil, errors.New("acme: both HTTP-01 and TLS-ALPN-01 challenges are disabled")
	}
	if opts.RenewalWindowRatio < 0 || opts.RenewalWindowRatio >= 1 {
		return nil, fmt.Errorf("acme: renewal window ratio %v is not in [0, 1)", opts.RenewalWindowRatio)
	}
	if opts.RenewCheckInterval < 0 {
		return nil, fmt.Errorf("acme: negative renewal check interval %v", opts.RenewCheckInterval)
	}
	if opts.OnDemandOrdersPerHour < 0 || opts.OnDemandTimeout < 0 || opts.OnDemandBackoff < 0 || opts.OnDemandMaxBackoff < 0 {
		return nil, errors.New("acme: negative on-demand limit")
	}
	setDefault(&opts.OnDemandOrdersPerHour, DefaultOnDemandOrdersPerHour)
	setDefault(&opts.OnDemandTimeout, DefaultOnDemandTimeout)
	setDefault(&opts.OnDemandBackoff, DefaultOnDemandBackoff)
	setDefault(&opts.OnDemandMaxBackoff, DefaultOnDemandMaxBackoff)
	if opts.Email != "" && !strings.Contains(opts.Email, "@") {
		return nil, fmt.Errorf("acme: email %q is not an address", opts.Email)
	}
	dir := opts.Directory
	if dir == "" {
		dir = certmagic.LetsEncryptProductionCA
	}
	if u, err := url.Parse(dir); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("acme: directory %q is not an https URL", dir)
	}
	store, storage, err := openStorage(opts)
	if err != nil {
		return nil, err
	}
	var localCache certmagic.Storage
	if opts.LocalCache != "" {
		if opts.SharedStorage == nil {
			return nil, errors.New("acme: a local cache needs a shared storage (it is a copy of one)")
		}
		dir, err := makeDir(opts.LocalCache)
		if err != nil {
			return nil, fmt.Errorf("acme: local cache %q: %w", opts.LocalCache, err)
		}
		localCache = &certmagic.FileStorage{Path: dir}
	}
	var roots *x509.CertPool
	if opts.CARootFile != "" {
		pem, err := readFile("CA root", opts.CARootFile)
		if err != nil {
			return nil, fmt.Errorf("acme: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("acme: CA root file %q: %w", opts.CARootFile, ErrNoCertificate)
		}
	}

	// certmagic's HTTP-01 and TLS-ALPN-01 solvers try to listen on the
	// challenge ports themselves, and stand down without a word when the
	// port is taken and answers (assuming that whoever holds it solves
	// challenges through certmagic, as our servers do). Pointing them at a
	// loopback port we hold makes that always the case: certmagic never
	// binds :80 or :443 against the edge's listeners, nor anything else.
	park, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("acme: %w", err)
	}
	parkPort := park.Addr().(*net.TCPAddr).Port

	a := &acmeState{
		opts:     opts,
		storage:  storage,
		publicCA: opts.CARootFile == "",
		log:      m.log,
		park:     park,
		parkDone: make(chan struct{}),
		stops:    map[string]context.CancelFunc{},
		known:    map[string]bool{},
		now:      m.now,
		limit:    orderLimit{max: opts.OnDemandOrdersPerHour},
	}
	a.managed.Store(&map[string]struct{}{})
	go a.serveParking()

	zl := newZapLogger(m.log.Handler())
	var cfgp atomic.Pointer[certmagic.Config]
	a.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) {
			return cfgp.Load(), nil
		},
		RenewCheckInterval: opts.RenewCheckInterval,
		Logger:             zl,
	})
	a.cfg = certmagic.New(a.cache, certmagic.Config{
		RenewalWindowRatio: opts.RenewalWindowRatio,
		Storage:            store,
		LocalCache:         localCache,
		Logger:             zl,
		OnEvent:            a.onEvent,
		ShouldEmitFunc: func(event string) bool {
			return event == eventCachedManaged || event == eventFailed
		},
	})
	// New fills unset fields from certmagic.Default: make sure that never
	// turns on certmagic's own on-demand issuance, whatever the process
	// did to Default (ACME.OnDemand is ours: see ondemand.go).
	a.cfg.OnDemand = nil
	a.issuer = certmagic.NewACMEIssuer(a.cfg, certmagic.ACMEIssuer{
		CA:                      dir,
		Email:                   opts.Email,
		Agreed:                  true,
		DisableHTTPChallenge:    opts.DisableHTTPChallenge,
		DisableTLSALPNChallenge: opts.DisableTLSALPNChallenge,
		ListenHost:              "127.0.0.1",
		AltHTTPPort:             parkPort,
		AltTLSALPNPort:          parkPort,
		TrustedRoots:            roots,
		Logger:                  zl,
	})
	a.cfg.Issuers = []certmagic.Issuer{a.issuer}
	cfgp.Store(a.cfg)
	a.root, a.cancel = context.WithCancel(context.Background())
	return a, nil
}

// setDefault sets *v to def if it is zero.
func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// openStorage returns opts.SharedStorage, or else a FileStorage on the
// directory opts.Storage (or the default one), created if missing, with
// its absolute path.
func openStorage(opts ACME) (certmagic.Storage, string, error) {
	if opts.SharedStorage != nil {
		return opts.SharedStorage, "", nil
	}
	storage := opts.Storage
	if storage == "" {
		var err error
		if storage, err = defaultStorage(); err != nil {
			return nil, "", err
		}
	}
	storage, err := makeDir(storage)
	if err != nil {
		return nil, "", fmt.Errorf("acme: storage %q: %w", opts.Storage, err)
	}
	return &certmagic.FileStorage{Path: storage}, storage, nil
}

// makeDir makes dir absolute (against the working directory, once) and
// creates it, private, if missing.
func makeDir(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}

// defaultStorage is the storage directory used when none is configured.
func defaultStorage() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "forcehttps", "acme"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("acme: no storage directory configured and none by default: %w", err)
	}
	return filepath.Join(home, ".local", "share", "forcehttps", "acme"), nil
}

// serveParking accepts and closes connections on the parking listener
// (certmagic dials it to check that it answers).
func (a *acmeState) serveParking() {
	defer close(a.parkDone)
	for {
		c, err := a.park.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		c.Close()
	}
}

// certmagic's events: a managed certificate loaded into its cache, and a
// failed order or renewal.
const (
	eventCachedManaged = "cached_managed_cert"
	eventFailed        = "cert_failed"
)

// onEvent keeps the domains' states, and drops from the cache a
// certificate whose names are no longer managed: an order started before
// ManageDomains removed its name can still finish afterwards, and the
// cache would then renew it forever.
func (a *acmeState) onEvent(ctx context.Context, event string, data map[string]any) error {
	switch event {
	case eventCachedManaged:
		sans, _ := data["sans"].([]string)
		managed := *a.managed.Load()
		kept := false
		for _, s := range sans {
			if _, ok := managed[s]; ok {
				kept = true
				if d := a.domain(s); d != nil {
					d.set(State{Status: StatusIssued})
				}
			}
		}
		if !kept {
			a.removeFromCache(sans)
		}
	case eventFailed:
		err, _ := data["error"].(error)
		if err == nil {
			err = errors.New("unknown error")
		}
		if fl, ok := ctx.Value(flightKey{}).(*flight); ok {
			// An on-demand order: one try only (see obtainOnDemand).
			fl.caErr.Store(&err)
			if fl.cancel != nil {
				fl.cancel()
			}
			return nil
		}
		name, _ := data["identifier"].(string)
		d := a.domain(name)
		if d == nil || d.st.Load().Status == StatusIssued {
			return nil // a failed renewal: the certificate in use stays
		}
		d.set(State{Status: StatusFailed, Error: caReason(err), NextTry: a.now().Add(certmagicRetry(attemptOf(ctx) + 1))})
	}
	return nil
}

func (a *acmeState) removeFromCache(names []string) {
	subjects := make([]certmagic.SubjectIssuer, len(names))
	for i, n := range names {
		subjects[i] = certmagic.SubjectIssuer{Subject: n}
	}
	a.cache.RemoveManaged(subjects)
}

// ManageDomains sets the exact list of names that get ACME certificates:
// the domains of the apps. Call it at start and after each configuration
// reload with the full new list. It never issues for any other name.
//
// Names are normalized like hosts (case, trailing dot, IDNA). A name that
// is invalid makes the whole call fail and change nothing. These names are
// skipped: names covered by a certificate file; wildcards and IP addresses
// (HTTP-01 and TLS-ALPN-01 cannot validate them: a file must cover them),
// with a warning; names no public CA certifies when the CA is public (see
// [ACME.CARootFile]), with a warning.
//
// For each new name, a certificate already in storage is loaded before
// ManageDomains returns, so a new Manager serves at once what a previous
// one obtained (no new order); it is renewed in the background if due.
// Otherwise the certificate is obtained in the background, retried with
// certmagic's backoff (from 1 minute up to a day, for 30 days) until it
// succeeds or the name is removed; meanwhile handshakes for the name get
// the default certificate. With [ACME.OnDemand], nothing is ordered here:
// the first handshake naming the name orders it. Every name gets a
// [State] ([Manager.DomainState]). Removed names stop being served and
// renewed (their files stay in storage). ctx bounds the loading from
// storage only.
// Without ACME, ManageDomains only validates the names.
func (m *Manager) ManageDomains(ctx context.Context, domains []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	want := map[string]struct{}{}
	var errs []error
	files := m.files.Load()
	for _, d := range domains {
		name, ok, err := m.acmeName(d, files)
		if err != nil {
			errs = append(errs, err)
		} else if ok {
			want[name] = struct{}{}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if m.acme == nil {
		return nil
	}
	m.acme.manage(ctx, want)
	return nil
}

// manage applies a new set of managed names. Called with Manager.mu held.
func (a *acmeState) manage(ctx context.Context, want map[string]struct{}) {
	a.managed.Store(&want)

	var removed, added []string
	for name := range a.stops {
		if _, ok := want[name]; !ok {
			a.drop(name)
			removed = append(removed, name)
		}
	}
	// Also sweep names removed earlier: a renewal in flight at removal
	// time puts its new certificate back in the cache.
	for name := range a.known {
		if _, ok := want[name]; !ok {
			removed = append(removed, name)
		}
	}
	if len(removed) > 0 {
		a.removeFromCache(removed)
	}
	for name := range want {
		if _, ok := a.stops[name]; !ok {
			added = append(added, name)
		}
	}
	slices.Sort(added)

	renewNow := false
	for _, name := range added {
		renewNow = a.add(ctx, name) || renewNow
	}
	if renewNow {
		a.renewSoon()
	}
}

// add starts managing name, which must be in the managed set already: it
// gets a state (pending), its certificate is loaded from storage if there,
// else ordered in the background, or left for the first handshake with
// OnDemand. It reports whether a certificate loaded needs renewal now
// (see renewSoon). Called with Manager.mu held; ctx bounds the loading.
func (a *acmeState) add(ctx context.Context, name string) (renewNow bool) {
	nctx, stop := context.WithCancel(a.root)
	a.stops[name] = stop
	a.known[name] = true
	a.domains.Store(name, newDomain(nctx, name, a.opts.OnDemand))
	cert, err := a.cfg.CacheManagedCertificate(ctx, name)
	switch {
	case err == nil:
		return cert.NeedsRenewal(a.cfg)
	case !errors.Is(err, fs.ErrNotExist):
		a.log.Warn("certs: loading ACME certificate from storage", "name", name, "err", err)
	}
	if a.opts.OnDemand {
		return false // ordered at the first handshake naming it
	}
	if err := a.cfg.ManageAsync(nctx, []string{name}); err != nil {
		a.log.Error("certs: managing ACME certificate", "name", name, "err", err)
	}
	return false
}

// drop stops managing name, which must be out of the managed set already:
// its order (background or on demand) is cancelled and its state
// forgotten. The caller then removes its certificate from the cache
// (removeFromCache, for many names at once). Called with Manager.mu held.
func (a *acmeState) drop(name string) {
	if stop, ok := a.stops[name]; ok {
		stop()
		delete(a.stops, name)
	}
	a.domains.Delete(name)
}

// renewSoon runs a maintenance pass now rather than at the next tick: a
// certificate loaded from storage may be due, or expired.
func (a *acmeState) renewSoon() {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.cache.RenewManagedCertificates(a.root); err != nil {
			a.log.Error("certs: renewing ACME certificates", "err", err)
		}
	}()
}

// Managed returns the names under ACME management, sorted.
func (m *Manager) Managed() []string {
	if m.acme == nil {
		return nil
	}
	managed := *m.acme.managed.Load()
	names := make([]string, 0, len(managed))
	for n := range managed {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// lookup returns the ACME certificate for a managed name, if obtained.
func (a *acmeState) lookup(hello *tls.ClientHelloInfo, name string) *tls.Certificate {
	if a == nil {
		return nil
	}
	if _, ok := (*a.managed.Load())[name]; !ok {
		return nil
	}
	choices := a.certificates(name)
	if len(choices) == 0 {
		return nil
	}
	c, err := certmagic.DefaultCertificateSelector(hello, choices)
	if err != nil {
		return nil
	}
	return &c.Certificate
}

// certificates returns the cached certificates that name name exactly.
func (a *acmeState) certificates(name string) []certmagic.Certificate {
	all := a.cache.AllMatchingCertificates(name)
	out := all[:0]
	for _, c := range all {
		if slices.Contains(c.Names, name) && c.Leaf != nil {
			out = append(out, c)
		}
	}
	return out
}

// infos describes the ACME certificates of the managed names.
func (a *acmeState) infos() []Info {
	if a == nil {
		return nil
	}
	managed := *a.managed.Load()
	names := make([]string, 0, len(managed))
	for n := range managed {
		names = append(names, n)
	}
	slices.Sort(names)
	var out []Info
	seen := map[string]bool{}
	for _, n := range names {
		for _, c := range a.certificates(n) {
			if seen[c.Hash()] {
				continue
			}
			seen[c.Hash()] = true
			out = append(out, Info{
				Names:    slices.Clone(c.Names),
				NotAfter: c.Leaf.NotAfter,
				Source:   SourceACME,
				Issuer:   c.Leaf.Issuer.CommonName,
			})
		}
	}
	return out
}

// challengeCertificate answers a TLS-ALPN-01 validation handshake.
func (m *Manager) challengeCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if m.acme == nil || m.acme.opts.DisableTLSALPNChallenge {
		return nil, errors.New("tls-alpn-01 challenges are disabled")
	}
	if hello.ServerName == "" || hello.Conn == nil {
		return nil, errors.New("tls-alpn-01 handshake without server name")
	}
	// certmagic finds the challenge in memory or, for one started by
	// another replica, in storage. It never orders anything here.
	return m.acme.cfg.GetCertificate(hello)
}

// HandleHTTPChallenge answers r if it is an ACME HTTP-01 validation request
// for a challenge in progress, started by this Manager or by another one
// sharing its storage, and reports whether it did. Call it first in the
// port 80 handler; when it returns false, r is untouched and nothing was
// written.
func (m *Manager) HandleHTTPChallenge(w http.ResponseWriter, r *http.Request) bool {
	a := m.acme
	if a == nil || a.opts.DisableHTTPChallenge || !certmagic.LooksLikeHTTPChallenge(r) {
		return false
	}
	// certmagic sets Close on the request it answers; give it a copy so
	// the caller's request is never modified.
	return a.issuer.HandleHTTPChallenge(w, r.WithContext(r.Context()))
}

// close stops everything started by newACME.
func (a *acmeState) close() error {
	a.cancel()
	a.cache.Stop()
	err := a.park.Close()
	<-a.parkDone
	a.wg.Wait()
	return err
}

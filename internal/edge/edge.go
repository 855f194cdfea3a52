package edge

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/forcehttps/forcehttps"
	"github.com/forcehttps/forcehttps/internal/accesslog"
	"github.com/forcehttps/forcehttps/internal/config"
	"github.com/forcehttps/forcehttps/internal/groupwrite"
	"github.com/forcehttps/forcehttps/internal/h1"
	"github.com/forcehttps/forcehttps/internal/h2"
)

// Certificates is what the edge needs from a certificate manager.
type Certificates interface {
	// TLSConfig returns the server TLS configuration: minimum version,
	// cipher suites, GetCertificate and ALPN protocols. The edge uses a
	// copy and makes sure "h2" and "http/1.1" are offered.
	TLSConfig() *tls.Config
	// HandleHTTPChallenge answers r if it is an ACME HTTP-01 validation
	// request and reports whether it did; otherwise it writes nothing.
	HandleHTTPChallenge(w http.ResponseWriter, r *http.Request) bool
	// ManageDomains makes the manager obtain and renew certificates for
	// exactly these domains (the apps'), at start and on every reload;
	// on every [Server.ApplyApp] too, unless the manager implements
	// [DomainUpdater].
	ManageDomains(ctx context.Context, domains []string) error
}

// CertificateInfo describes a certificate served by the edge, for the
// certificate_expiry_timestamp_seconds metric.
type CertificateInfo struct {
	Names    []string  // the DNS names and IP addresses it covers
	NotAfter time.Time // its expiry
	Source   string    // where it comes from ("file", "acme", ...)
}

// Builtin builds the handler of a "builtin:<name>" upstream. m is the
// app's policy with the edge as its one trusted proxy, so that the
// handler sees the client's scheme as the edge forwarded it. The edge
// serves the handler on a loopback port of its own and proxies to it like
// to any app.
type Builtin func(m *forcehttps.Middleware) (http.Handler, error)

// Option configures a [Server].
type Option func(*options)

type options struct {
	logger         *slog.Logger
	accessLog      *slog.Logger
	accessLogGiven bool
	configFile     string
	pollInterval   time.Duration
	certInfo       func() []CertificateInfo
	builtins       map[string]Builtin
	reloadHook     func(context.Context, *config.Config) error
	now            func() time.Time
	version        string
	collectors     []prometheus.Collector
	overlay        func(*config.Config) *config.Config
	admin          http.Handler
	noFastPath     bool          // serve plain HTTP with net/http alone (tests)
	noForward      bool          // proxy through ReverseProxy alone (tests)
	headGrace      time.Duration // a head's wait for its body, instead of headGrace (tests)
}

// WithLogger sets the logger of the server's own messages (start, reload,
// upstream errors). Default: slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithAccessLog sets the access logger, replacing the one the
// configuration's access_log describes. nil turns the access log off.
func WithAccessLog(l *slog.Logger) Option {
	return func(o *options) { o.accessLog, o.accessLogGiven = l, true }
}

// WithConfigFile names the file the configuration came from: Serve
// reloads it when its content changes, checked every interval (default 1s,
// 0 keeps the default), and [Server.ReloadFile] reads it.
func WithConfigFile(path string, interval time.Duration) Option {
	return func(o *options) { o.configFile, o.pollInterval = path, interval }
}

// WithCertificateInfo gives the function that lists the certificates in
// use, read at every scrape of /metrics.
func WithCertificateInfo(f func() []CertificateInfo) Option {
	return func(o *options) { o.certInfo = f }
}

// WithBuiltin registers the handler of "builtin:<name>" upstreams.
func WithBuiltin(name string, b Builtin) Option {
	return func(o *options) {
		if o.builtins == nil {
			o.builtins = map[string]Builtin{}
		}
		o.builtins[name] = b
	}
}

// WithReloadHook sets a function called on every reload with the new
// configuration, after it is validated and before it is used; an error
// refuses the reload. Use it to apply what the edge does not own, such as
// new certificate files.
func WithReloadHook(f func(context.Context, *config.Config) error) Option {
	return func(o *options) { o.reloadHook = f }
}

// WithClock sets the clock for X-Request-Start and durations. Default:
// time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithOverlay sets a function that derives the configuration the edge
// serves from the one it is given, at start and on every reload: the
// admin API uses it to apply its per-app changes on top of the file. It
// must return a new configuration and leave its argument alone; the
// result is validated like the original.
func WithOverlay(f func(*config.Config) *config.Config) Option {
	return func(o *options) { o.overlay = f }
}

// WithAdminHandler sets the handler of the admin listener for every path
// but /metrics. Default: 404.
func WithAdminHandler(h http.Handler) Option { return func(o *options) { o.admin = h } }

// WithCollector adds c to the metrics served on /metrics: for example the
// cluster's.
func WithCollector(c prometheus.Collector) Option {
	return func(o *options) { o.collectors = append(o.collectors, c) }
}

// WithVersion sets the version reported by the build_info metric.
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// Server is the edge: an HTTP listener, an HTTPS listener and an optional
// admin listener in front of the apps of a configuration. Build it with
// [New], start it with [Server.Serve].
type Server struct {
	o      options
	log    *slog.Logger
	access *accesslog.Logger // nil: no access log
	certs  Certificates
	base   *config.Config // the configuration at start: listeners, server limits
	raw    *config.Config // the configuration last applied, before the overlay
	m      *metrics
	now    func() time.Time

	snap atomic.Pointer[snapshot]

	mu        sync.Mutex // serializes Listen, reloads and builtin changes
	listening bool
	closed    bool
	ln        struct{ http, https, admin net.Listener }
	srv       struct{ http, https, admin *http.Server }
	fast      struct{ http, https *h1.Server }   // the fast paths, nil without
	serveLn   struct{ http, https net.Listener } // what srv.http and srv.https serve
	httpPort  string                             // the bound port of the HTTP listener
	httpsPort int                                // the bound port of the HTTPS listener
	builtins  map[string]*builtinServer
	appMetric map[string]*appMetrics
	fileHash  [32]byte       // of the configuration file last tried
	bg        sync.WaitGroup // builtin servers shutting down
	logCloser io.Closer
}

// New validates cfg and prepares a Server; nothing listens yet. certs
// provides the certificates and answers ACME challenges. A configuration
// as [config.Load] or [config.Parse] returned it, unchanged, is known
// valid ([config.Config.Checked]) and not validated again.
func New(cfg *config.Config, certs Certificates, opts ...Option) (*Server, error) {
	if cfg == nil || certs == nil {
		return nil, errors.New("edge: a configuration and a certificate manager are required")
	}
	if err := validate(cfg); err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	s := &Server{certs: certs, base: cfg, builtins: map[string]*builtinServer{}, appMetric: map[string]*appMetrics{}}
	for _, opt := range opts {
		opt(&s.o)
	}
	s.log = s.o.logger
	if s.log == nil {
		s.log = slog.Default()
	}
	s.now = s.o.now
	if s.now == nil {
		s.now = time.Now
	}
	if s.o.pollInterval <= 0 {
		s.o.pollInterval = time.Second
	}
	for i := range cfg.Apps {
		if name, ok := cfg.Apps[i].BuiltinName(); ok && s.o.builtins[name] == nil {
			return nil, fmt.Errorf("edge: apps[%d].upstream: builtin %q is not available in this program", i, name)
		}
	}
	if s.o.accessLogGiven {
		s.access = accesslog.New(s.o.accessLog)
	} else {
		l, c, err := openAccessLog(cfg.AccessLog, s.log)
		if err != nil {
			return nil, fmt.Errorf("edge: access_log: %w", err)
		}
		s.access, s.logCloser = l, c
	}
	s.m = newMetrics(s.o.version, s.o.certInfo)
	for _, c := range s.o.collectors {
		if err := s.m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("edge: metrics: %w", err)
		}
	}
	return s, nil
}

// openAccessLog opens the access log a configuration describes. Lines
// go through a groupwrite.Writer: those logged while a write is in
// progress go out in the next one, one system call for many requests
// when busy, at once when not. JSON lines are formatted by accesslog's
// appender, as slog's JSONHandler would write them; text lines by slog.
// The closer flushes the writer, then closes the file.
func openAccessLog(c config.AccessLog, errLog *slog.Logger) (*accesslog.Logger, io.Closer, error) {
	var w io.Writer
	var file io.Closer
	switch c.Output {
	case "off":
		return nil, nil, nil
	case "stderr":
		w = os.Stderr
	case "stdout":
		w = os.Stdout
	default:
		f, err := os.OpenFile(c.Output, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, nil, err
		}
		w, file = f, f
	}
	gw := groupwrite.New(w)
	gw.OnError = accessLogFailed(errLog, c.Output)
	closer := &accessLogCloser{gw: gw, file: file}
	if c.Format == "text" {
		return accesslog.New(slog.New(slog.NewTextHandler(gw, nil))), closer, nil
	}
	return accesslog.NewJSON(gw), closer, nil
}

// accessLogFailed returns what the access log's writer calls when a write
// fails (a full disk, a closed pipe): the lines of that write are lost,
// which the edge's log says, at most once a minute. It is called from the
// writer's one goroutine only.
func accessLogFailed(log *slog.Logger, output string) func(error) {
	var last time.Time
	lost := 0
	return func(err error) {
		lost++
		if now := time.Now(); now.Sub(last) >= time.Minute {
			last = now
			log.Error("edge: access log write failed: its lines are lost", "output", output, "failed_writes", lost, "error", err)
			lost = 0
		}
	}
}

// accessLogCloser flushes the access log's lines, then closes its file
// (none for stderr and stdout), once.
type accessLogCloser struct {
	gw   *groupwrite.Writer
	file io.Closer
	once sync.Once
	err  error
}

func (c *accessLogCloser) Close() error {
	c.once.Do(func() {
		c.err = c.gw.Close()
		if c.file != nil {
			c.err = errors.Join(c.err, c.file.Close())
		}
	})
	return c.err
}

// Addrs are the addresses the server listens on.
type Addrs struct {
	HTTP, HTTPS string
	Admin       string // "" without an admin listener
}

// Addrs returns the bound addresses, once [Server.Listen] has run.
func (s *Server) Addrs() Addrs {
	s.mu.Lock()
	defer s.mu.Unlock()
	var a Addrs
	if s.ln.http != nil {
		a.HTTP = s.ln.http.Addr().String()
		a.HTTPS = s.ln.https.Addr().String()
	}
	if s.ln.admin != nil {
		a.Admin = s.ln.admin.Addr().String()
	}
	return a
}

// Listen binds the listeners, starts the builtin upstreams and builds the
// routing table, without serving yet; Serve calls it if needed. Call it
// first to learn the addresses of ":0" listeners.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return http.ErrServerClosed
	}
	if s.listening {
		return nil
	}
	if s.o.configFile != "" && s.fileHash == ([32]byte{}) {
		// The content served from now on: a change made once the edge
		// says it listens is reloaded, however late watch starts.
		if data, err := os.ReadFile(s.o.configFile); err == nil {
			s.fileHash = sha256.Sum256(data)
		}
	}
	var lc net.ListenConfig
	var opened []net.Listener
	// The helpers below return errors without the package's prefix:
	// fail adds it, once.
	fail := func(err error) error {
		for _, l := range opened {
			l.Close()
		}
		return fmt.Errorf("edge: %w", err)
	}
	listen := func(what, addr string) (net.Listener, error) {
		l, err := lc.Listen(context.Background(), "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("%s listener: %w", what, err)
		}
		opened = append(opened, l)
		return l, nil
	}
	var err error
	if s.ln.http, err = listen("http", s.base.Listen.HTTP); err != nil {
		return fail(err)
	}
	if s.ln.https, err = listen("https", s.base.Listen.HTTPS); err != nil {
		return fail(err)
	}
	if s.base.Admin.Listen != "" {
		if s.ln.admin, err = listen("admin", s.base.Admin.Listen); err != nil {
			return fail(err)
		}
		if t := s.base.Admin.TLS; t != nil {
			tc, err := s.adminTLS(t)
			if err != nil {
				return fail(fmt.Errorf("admin listener: %w", err))
			}
			s.ln.admin = tls.NewListener(s.ln.admin, tc)
		}
	}
	s.httpPort = portOf(s.ln.http.Addr())
	s.httpsPort, _ = strconv.Atoi(portOf(s.ln.https.Addr()))

	cfg, err := s.applyOverlay(s.base)
	if err != nil {
		return fail(err)
	}
	snap, err := s.build(cfg)
	if err != nil {
		s.stopBuiltins(nil)
		return fail(err)
	}
	s.install(snap)
	s.raw = s.base
	releaseBuildGarbage(len(cfg.Apps))
	s.srv.http = s.newServer(http.HandlerFunc(s.serveHTTP))
	s.srv.https = s.newServer(http.HandlerFunc(s.serveHTTPS))
	tc := s.certs.TLSConfig().Clone()
	tc.NextProtos = nextProtos(tc.NextProtos)
	if tc.MinVersion < tls.VersionTLS12 {
		tc.MinVersion = tls.VersionTLS12
	}
	s.srv.https.TLSConfig = tc
	s.serveLn.http, s.serveLn.https = s.ln.http, s.ln.https
	if !s.o.noFastPath {
		if err := s.startFastPaths(tc.Clone()); err != nil {
			return fail(err)
		}
	}
	if s.ln.admin != nil {
		var h http.Handler = s.m.handler()
		if s.o.admin != nil {
			mux := http.NewServeMux()
			mux.Handle("/metrics", h)
			mux.Handle("/", s.o.admin)
			h = mux
		}
		s.srv.admin = s.newServer(h)
		// The admin listener's answers are short (the dashboard, the
		// API, a scrape): whole bounds suit it.
		s.srv.admin.ReadTimeout = s.base.Timeouts.ClientIdle
		s.srv.admin.WriteTimeout = s.base.Timeouts.ClientIdle
	}
	s.listening = true
	admin := ""
	if s.ln.admin != nil {
		admin = s.ln.admin.Addr().String()
	}
	s.log.Info("edge: listening", "http", s.ln.http.Addr().String(), "https", s.ln.https.Addr().String(), "admin", admin, "apps", snap.apps.len())
	return nil
}

// applyOverlay returns cfg with the overlay of [WithOverlay] applied and
// validated, or cfg itself without one or when the overlay changes
// nothing. cfg is one its callers have validated (New, reload): it is
// not validated again, which for a large table costs as much as the
// build; nor is a result known valid (see validate). Its errors are for
// the caller to prefix.
func (s *Server) applyOverlay(cfg *config.Config) (*config.Config, error) {
	if s.o.overlay == nil {
		return cfg, nil
	}
	out := s.o.overlay(cfg)
	if out == nil {
		return nil, errors.New("the overlay returned no configuration")
	}
	if out == cfg {
		return cfg, nil
	}
	if err := validate(out); err != nil {
		return nil, fmt.Errorf("overlay: %w", err)
	}
	return out, nil
}

// validate validates cfg unless it is known valid: as config.Load or
// config.Parse returned it, or a copy equal to it in every field (the
// overlay's, when it changes nothing). For 100 000 domains, checking
// that takes a few milliseconds and validating a hundred or more.
func validate(cfg *config.Config) error {
	if cfg.Checked() {
		return nil
	}
	return cfg.Validate()
}

// Config returns the configuration last applied, before the overlay of
// [WithOverlay], or nil before [Server.Listen]. The caller must not
// modify it.
func (s *Server) Config() *config.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw
}

// Rebuild reloads the configuration last applied ([Server.Reload]), so
// that a change of what the overlay returns takes effect.
func (s *Server) Rebuild(ctx context.Context) error {
	raw := s.Config()
	if raw == nil {
		return errors.New("edge: rebuild: the server is not running")
	}
	return s.Reload(ctx, raw)
}

// nextProtos puts h2 and http/1.1 first, keeping the other protocols
// (acme-tls/1 for TLS-ALPN-01) after them.
func nextProtos(in []string) []string {
	out := []string{"h2", "http/1.1"}
	for _, p := range in {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func portOf(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	return port
}

// newServer returns an http.Server with the configured limits.
func (s *Server) newServer(h http.Handler) *http.Server {
	t := s.base.Timeouts
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		// No ReadTimeout or WriteTimeout: they bound whole exchanges, and
		// would cut a slow upload, a long download or an event stream
		// that is making progress. serve and the exchange's watchdog
		// bound waits on the client instead (client_idle).
		IdleTimeout:    cmp.Or(t.Idle, t.ReadHeader),
		MaxHeaderBytes: s.base.Limits.MaxHeaderBytes,
		// An HTTP/2 connection on which nothing can be written for that
		// long is closed (the client stopped reading altogether).
		HTTP2: h2Config(t.ClientIdle), // h2guard.go
		// Handshake failures from scanners and clients that distrust the
		// certificate are routine: debug level.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// Serve serves until ctx is done, then shuts down gracefully: the
// listeners close at once, and in-flight requests get up to
// timeouts.shutdown to finish before their connections are closed. It
// tells the certificate manager the apps' domains first, and reloads the
// configuration file on change when [WithConfigFile] is set. It returns
// nil after a shutdown that ctx asked for, or the first serving error.
func (s *Server) Serve(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	snap := s.snap.Load()
	if err := s.certs.ManageDomains(ctx, snap.domains()); err != nil {
		s.shutdown(context.Background())
		return fmt.Errorf("edge: certificates: %w", err)
	}
	errc := make(chan error, 3)
	serve := func(name string, f func() error) {
		if err := f(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("edge: %s server: %w", name, err)
		}
	}
	go serve("http", func() error { return s.srv.http.Serve(s.serveLn.http) })
	if s.fast.https != nil {
		// The fast path terminates TLS and hands connections over.
		go serve("https", func() error { return s.srv.https.Serve(s.serveLn.https) })
	} else {
		go serve("https", func() error { return s.srv.https.ServeTLS(s.ln.https, "", "") })
	}
	if s.srv.admin != nil {
		go serve("admin", func() error { return s.srv.admin.Serve(s.ln.admin) })
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	var watching sync.WaitGroup
	if s.o.configFile != "" {
		watching.Add(1)
		go func() {
			defer watching.Done()
			s.watch(watchCtx)
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stopWatch()
	watching.Wait()
	s.log.Info("edge: shutting down", "deadline", s.base.Timeouts.Shutdown.String())
	if serr := s.shutdown(context.Background()); err == nil {
		err = serr
	}
	return err
}

// shutdown stops the servers, draining in-flight requests for at most
// timeouts.shutdown, then the builtin upstreams, which the draining
// requests may still need.
func (s *Server) shutdown(parent context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(parent, s.base.Timeouts.Shutdown)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, srv := range []*http.Server{s.srv.http, s.srv.https, s.srv.admin} {
		if srv == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Shutdown closes the listeners Serve tracks; an error that
			// only says a listener was closed already is not a failure.
			if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
				srv.Close()
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	for _, f := range []*h1.Server{s.fast.http, s.fast.https} {
		if f == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.Shutdown(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Listeners that never reached Serve (a failed start) are not closed
	// by Shutdown; closing the others again is harmless.
	for _, l := range []net.Listener{s.ln.http, s.ln.https, s.ln.admin} {
		if l != nil {
			l.Close()
		}
	}
	s.mu.Lock()
	s.stopBuiltins(nil)
	s.mu.Unlock()
	s.bg.Wait()
	if snap := s.snap.Load(); snap != nil {
		snap.lean.CloseIdleConnections()
		for _, t := range []*http.Transport{snap.transport, snap.h2c, snap.h2} {
			if t != nil {
				t.CloseIdleConnections()
			}
		}
	}
	if s.logCloser != nil {
		s.logCloser.Close()
	}
	if len(errs) > 0 {
		if ctx.Err() != nil {
			return fmt.Errorf("edge: shutdown: in-flight requests did not finish within %s: %w", s.base.Timeouts.Shutdown, errors.Join(errs...))
		}
		return fmt.Errorf("edge: shutdown: %w", errors.Join(errs...))
	}
	return nil
}

// Close closes the listeners and connections at once, without draining,
// for a server that is not serving (Listen without Serve) or must stop
// now.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, srv := range []*http.Server{s.srv.http, s.srv.https, s.srv.admin} {
		if srv != nil {
			srv.Close()
		}
	}
	for _, l := range []net.Listener{s.ln.http, s.ln.https, s.ln.admin} {
		if l != nil {
			l.Close()
		}
	}
	for _, f := range []*h1.Server{s.fast.http, s.fast.https} {
		if f != nil {
			f.Close()
		}
	}
	s.stopBuiltins(nil)
	s.mu.Unlock()
	if s.logCloser != nil {
		s.logCloser.Close()
	}
	return nil
}

// startFastPaths puts the fast paths (package h1) in front of both
// listeners: they answer redirects, refusals and static answers, and on
// HTTPS the proxied requests without a body, and hand the other
// connections to srv.http and srv.https.
// tc is the fast HTTPS path's own TLS configuration: net/http writes to
// srv.https's when it sets up HTTP/2.
func (s *Server) startFastPaths(tc *tls.Config) error {
	t := s.base.Timeouts
	newFast := func(answer func(http.ResponseWriter, *http.Request) bool) *h1.Server {
		return &h1.Server{
			Answer:            answer,
			ReadHeaderTimeout: t.ReadHeader,
			IdleTimeout:       cmp.Or(t.Idle, t.ReadHeader),
			// A write of the edge's own answers that waits
			// client_idle means the client stopped reading; a proxied
			// exchange sets its own deadlines (see exchange).
			WriteTimeout: t.ClientIdle,
			Logger:       s.log,
		}
	}
	fh, fs := newFast(s.answerHTTP), newFast(s.answerHTTPS)
	fs.TLSConfig = tc
	// The requests served on the fast paths' connections run under the
	// net/http servers behind, as those handed over do.
	fh.BaseContext = context.WithValue(context.Background(), http.ServerContextKey, s.srv.http)
	fs.BaseContext = context.WithValue(context.Background(), http.ServerContextKey, s.srv.https)
	lh, err := fh.Listen(s.ln.http)
	if err != nil {
		return fmt.Errorf("http fast path: %w", err)
	}
	ls, err := fs.Listen(s.ln.https)
	if err != nil {
		fh.Close()
		return fmt.Errorf("https fast path: %w", err)
	}
	s.fast.http, s.fast.https = fh, fs
	s.serveLn.http, s.serveLn.https = lh, ls
	// Connections handed over in their middle reach net/http as plain
	// net.Conns: their requests get r.TLS back from the connection.
	s.srv.https.ConnContext = h1.ConnContext
	s.srv.https.Handler = h1.RestoreTLS(s.srv.https.Handler)
	if s.base.Listen.HTTP2Server != config.HTTP2NetHTTP {
		fs.HTTP2 = s.newH2(fs.BaseContext)
	}
	return nil
}

// newH2 returns the HTTP/2 server of the HTTPS fast path, with the
// limits and handler of srv.https (see newServer and h2Config).
func (s *Server) newH2(base context.Context) *h2.Server {
	hs := h2.New(s.srv.https)
	hs.BaseContext = base
	hs.ConnContext = nil // h1.ConnContext: for connections handed over only
	// Handler panics at error level, as on the fast path; the
	// http.Server's ErrorLog logs at debug level.
	hs.ErrorLog, hs.Logger = nil, s.log
	return hs
}

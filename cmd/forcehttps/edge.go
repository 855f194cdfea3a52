package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/forcehttps/forcehttps"
	"github.com/forcehttps/forcehttps/internal/admin"
	"github.com/forcehttps/forcehttps/internal/certs"
	"github.com/forcehttps/forcehttps/internal/config"
	"github.com/forcehttps/forcehttps/internal/edge"
	"github.com/forcehttps/forcehttps/internal/gcfloor"
	"github.com/forcehttps/forcehttps/internal/inspect"
	"github.com/forcehttps/forcehttps/internal/pgcerts"
	"github.com/forcehttps/forcehttps/internal/pgstate"
)

func init() {
	register("edge", "run the TLS-terminating front-end with per-app Force HTTPS", runEdge)
}

const edgeUsage = `Usage: forcehttps edge [--config FILE] [--http ADDR] [--https ADDR] [--watch-interval D]
       forcehttps edge --check-config FILE
       forcehttps edge --print-default

Runs the edge: plain HTTP (ACME challenges, redirects to HTTPS), HTTPS
(TLS, HTTP/2, proxy to the apps with HSTS) and /metrics on the admin
listener. Without --config, the embedded default: 127.0.0.1:8080 and
127.0.0.1:8443 with a self-signed certificate, in front of the built-in
header inspector, Force HTTPS on even for localhost. --http and --https
(or $FORCEHTTPS_LISTEN_HTTP and $FORCEHTTPS_LISTEN_HTTPS) replace the
listen addresses of the embedded default or of the file, reloads included.

--check-config reports every problem at once, the files it names
included: unreadable certificates, a key that belongs to another
certificate, an expired certificate, and a domain Force HTTPS would
redirect to while no certificate covers it.

SIGHUP, or saving the configuration file, reloads it; a configuration with
errors is refused and the running one stays. SIGTERM or SIGINT drains the
requests in flight (timeouts.shutdown) and exits.

--gc-floor lets the heap grow to that many MiB before the garbage
collector runs (16 by default): a small edge then collects several times
less often under load, for at most that much memory more. GOGC, when set,
decides alone.

Exit status: 0 after a clean shutdown or a valid --check-config, 1 on
errors, 2 on usage errors.

Flags:
`

// runEdge is the edge subcommand.
func runEdge(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, edgeUsage)
		fs.PrintDefaults()
	}
	configFile := fs.String("config", "", "the configuration `file` (YAML, or JSON if it ends in .json); default: the embedded default")
	checkFile := fs.String("check-config", "", "validate the configuration `file`, print OK or every error, and exit")
	printDefault := fs.Bool("print-default", false, "print the embedded default configuration and exit")
	watch := fs.Duration("watch-interval", time.Second, "how often to check the configuration file for changes; 0 disables the check (SIGHUP still reloads)")
	httpAddr := fs.String("http", os.Getenv("FORCEHTTPS_LISTEN_HTTP"), "listen `address` (host:port) of plain HTTP, instead of the configuration's listen.http ($FORCEHTTPS_LISTEN_HTTP)")
	httpsAddr := fs.String("https", os.Getenv("FORCEHTTPS_LISTEN_HTTPS"), "listen `address` (host:port) of HTTPS, instead of the configuration's listen.https ($FORCEHTTPS_LISTEN_HTTPS)")
	gcFloor := fs.Int("gc-floor", 16, "the heap, in `MiB`, below which the garbage collector does not run (see package gcfloor); 0: GOGC alone. Ignored when GOGC is set")
	logOpts := addLogFlags(fs, nil)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "forcehttps edge: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	set := 0
	for _, b := range []bool{*configFile != "", *checkFile != "", *printDefault} {
		if b {
			set++
		}
	}
	if set > 1 {
		fmt.Fprintln(stderr, "forcehttps edge: --config, --check-config and --print-default do not go together")
		return 2
	}
	if *watch < 0 {
		fmt.Fprintln(stderr, "forcehttps edge: --watch-interval must not be negative")
		return 2
	}
	switch {
	case *printDefault:
		stdout.Write(config.DefaultYAML())
		return 0
	case *checkFile != "":
		c, err := config.Load(*checkFile)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "OK: %s: %d %s\n", *checkFile, len(c.Apps), plural(len(c.Apps), "app", "apps"))
		return 0
	}

	logger, err := logOpts.logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "forcehttps edge: %v\n", err)
		return 2
	}
	listen := listenOverride{http: *httpAddr, https: *httpsAddr}
	if *gcFloor < 0 {
		fmt.Fprintln(stderr, "forcehttps edge: --gc-floor must not be negative")
		return 2
	}
	startDone := startGC()
	defer startDone()
	stopFloor := func() {}
	defer func() { stopFloor() }()
	started := func() {
		// The floor starts from the percent startGC restores.
		startDone()
		stopFloor = gcfloor.Keep(uint64(*gcFloor) << 20)
	}
	cfg := config.Default()
	if *configFile != "" {
		if cfg, err = config.Load(*configFile); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	if cfg, err = listen.apply(cfg); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if err := serveEdge(ctx, cfg, *configFile, *watch, listen, started, logger, stdout, stderr); err != nil {
		// err carries its own context ("edge: http listener: ...",
		// "certificates: ..."): no prefix is added to it.
		logger.Error("forcehttps edge: exiting on an error", "error", err.Error())
		return 1
	}
	return 0
}

// listenOverride holds the addresses of --http and --https; "" keeps the
// configuration's.
type listenOverride struct{ http, https string }

// apply returns cfg with the listen addresses replaced, validated as a
// whole, or cfg itself when nothing is replaced.
func (o listenOverride) apply(cfg *config.Config) (*config.Config, error) {
	c := o.overlay(cfg)
	if c == cfg {
		return cfg, nil
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("forcehttps edge: --http, --https: %w", err)
	}
	return c, nil
}

// overlay applies the override to every configuration the edge builds,
// so that a reload of the file keeps the addresses of the flags.
func (o listenOverride) overlay(cfg *config.Config) *config.Config {
	if o.http == "" && o.https == "" {
		return cfg
	}
	c := *cfg
	if o.http != "" {
		c.Listen.HTTP = o.http
	}
	if o.https != "" {
		c.Listen.HTTPS = o.https
	}
	return &c
}

// serveEdge runs the edge until ctx is done; it calls started once the
// routing table is built.
func serveEdge(ctx context.Context, cfg *config.Config, file string, watch time.Duration, listen listenOverride, started func(), logger *slog.Logger, stdout, stderr io.Writer) error {
	var cluster *pgstate.Store // nil: a single node, with files
	copts := certOptions(cfg, logger)
	if cfg.Cluster != nil {
		var err error
		if cluster, err = openCluster(ctx, cfg, file, logger); err != nil {
			return err
		}
		defer cluster.Close(context.WithoutCancel(ctx))
		if copts.ACME != nil {
			storage, err := pgcerts.New(cluster.Pool(), pgcerts.Options{Logger: logger})
			if err != nil {
				return err
			}
			defer storage.Close(context.WithoutCancel(ctx))
			copts.ACME.SharedStorage = storage
			// The single node's directory becomes the local copy, so that a
			// replica starts with its certificates while the database is
			// down.
			copts.ACME.LocalCache = copts.ACME.Storage
		}
	}
	mgr, err := certs.New(ctx, copts)
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	defer mgr.Close()

	opts := []edge.Option{
		edge.WithLogger(logger),
		edge.WithCertificateInfo(func() []edge.CertificateInfo {
			var out []edge.CertificateInfo
			for _, c := range mgr.Certificates() {
				out = append(out, edge.CertificateInfo{Names: c.Names, NotAfter: c.NotAfter, Source: c.Source})
			}
			return out
		}),
		edge.WithBuiltin("inspector", func(m *forcehttps.Middleware) (http.Handler, error) {
			ins, err := inspect.New(inspect.Options{Middleware: m, Logger: logger})
			if err != nil {
				return nil, err
			}
			return m.Handler(ins), nil
		}),
		edge.WithReloadHook(reloadCertificates(mgr, cfg, logger)),
		edge.WithCollector(mgr.Collector()),
	}
	// The access log on the standard streams goes to the command's; the
	// edge opens a file itself.
	for name, w := range map[string]io.Writer{"stdout": stdout, "stderr": stderr} {
		if cfg.AccessLog.Output == name {
			var h slog.Handler = slog.NewJSONHandler(w, nil)
			if cfg.AccessLog.Format == "text" {
				h = slog.NewTextHandler(w, nil)
			}
			opts = append(opts, edge.WithAccessLog(slog.New(h)))
		}
	}
	if file != "" && watch > 0 {
		opts = append(opts, edge.WithConfigFile(file, watch))
	} else if file != "" {
		// No polling, but SIGHUP reloads the file.
		opts = append(opts, edge.WithConfigFile(file, 100*365*24*time.Hour))
	}
	adm, err := newAdmin(cfg, file, mgr, logger, cluster)
	if err != nil {
		return err
	}
	overlay := listen.overlay
	if adm == nil && cluster != nil {
		// No admin listener, but the cluster's state applies all the same.
		if adm, err = admin.New(admin.Options{Store: cluster, Token: admin.RandomToken(), Logger: logger}); err != nil {
			return err
		}
	} else if adm != nil {
		opts = append(opts, edge.WithAdminHandler(adm.Handler()))
	}
	if adm != nil {
		overlay = func(c *config.Config) *config.Config { return listen.overlay(adm.Overlay(c)) }
	}
	opts = append(opts, edge.WithOverlay(overlay))
	if cluster != nil {
		opts = append(opts, edge.WithCollector(cluster))
	}
	srv, err := edge.New(cfg, mgr, opts...)
	if err != nil {
		return err
	}
	if adm != nil {
		adm.Attach(srv)
		go adm.Run(ctx)
	}
	// SIGHUP is caught before the listeners open, so that an early one
	// reloads rather than kills the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := srv.Listen(); err != nil {
		return err
	}
	started()
	if cluster != nil {
		a := srv.Addrs()
		cluster.SetAddresses([]string{a.HTTP, a.HTTPS})
		cluster.Start(ctx, adm.Version)
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if file == "" {
					logger.Warn("edge: SIGHUP ignored: running the embedded default, there is no file to reload")
					continue
				}
				logger.Info("edge: SIGHUP: reloading the configuration", "file", file)
				srv.ReloadFile(ctx) // logs its outcome
			}
		}
	}()
	for _, hint := range tryHints(cfg, srv.Addrs()) {
		logger.Info("edge: try", "command", hint)
	}
	return srv.Serve(ctx)
}

// certOptions translates the tls block for the certificate manager.
func certOptions(cfg *config.Config, logger *slog.Logger) certs.Options {
	opts := certs.Options{SelfSigned: cfg.TLS.SelfSigned, Logger: logger, Files: certPairs(cfg)}
	if a := cfg.TLS.ACME; a != nil {
		opts.ACME = &certs.ACME{
			Email:                   a.Email,
			Directory:               a.Directory,
			Storage:                 a.Storage,
			CARootFile:              a.CARoot,
			DisableHTTPChallenge:    !a.Challenges.HTTP,
			DisableTLSALPNChallenge: !a.Challenges.TLSALPN,
			RenewalWindowRatio:      a.RenewalWindowRatio,
			OnDemand:                a.OnDemand,
			OnDemandOrdersPerHour:   a.OnDemandOrdersPerHour,
			OnDemandTimeout:         a.OnDemandTimeout,
		}
	}
	return opts
}

func certPairs(cfg *config.Config) []certs.Pair {
	var out []certs.Pair
	for _, c := range cfg.TLS.Certificates {
		out = append(out, certs.Pair{CertFile: c.CertFile, KeyFile: c.KeyFile})
	}
	return out
}

// reloadCertificates returns the reload hook: certificate files are
// reloaded (the same files too, since they may have been renewed on
// disk); a changed self_signed or acme block needs a restart.
func reloadCertificates(mgr *certs.Manager, start *config.Config, logger *slog.Logger) func(context.Context, *config.Config) error {
	return func(_ context.Context, cfg *config.Config) error {
		if err := mgr.SetFiles(certPairs(cfg)); err != nil {
			return fmt.Errorf("tls.certificates: %w", err)
		}
		if !reflect.DeepEqual(start.TLS.SelfSigned, cfg.TLS.SelfSigned) || !reflect.DeepEqual(start.TLS.ACME, cfg.TLS.ACME) {
			logger.Warn("edge: tls.self_signed and tls.acme changes apply only after a restart")
		}
		return nil
	}
}

// tryHints returns curl commands that show Force HTTPS at work on the
// first app's first exact domain. A name other than localhost may not
// resolve to this machine (or not yet: DNS is often switched last), so
// its commands carry curl's --resolve host:port:ip, which connects to
// the edge's listener whatever DNS says.
func tryHints(cfg *config.Config, a edge.Addrs) []string {
	if len(cfg.Apps) == 0 {
		return nil
	}
	app := cfg.Apps[0]
	host := ""
	for _, d := range app.Domains {
		if !strings.HasPrefix(d, "*.") {
			host = d
			break
		}
	}
	if host == "" {
		return nil
	}
	path := "/"
	if name, ok := app.BuiltinName(); ok && name == "inspector" {
		path = "/headers"
	}
	_, ipErr := netip.ParseAddr(host)
	needResolve := ipErr != nil && host != "localhost" && !strings.HasSuffix(host, ".localhost")
	hint := func(flags, scheme, addr, defPort string) string {
		ip, port, _ := net.SplitHostPort(addr)
		h := host
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		if port != defPort {
			h = net.JoinHostPort(strings.Trim(h, "[]"), port)
		}
		cmd := "curl " + flags + " "
		if needResolve {
			cmd += "--resolve " + host + ":" + port + ":" + resolveIP(ip) + " "
		}
		return cmd + scheme + "://" + h + path
	}
	httpsAddr := a.HTTPS
	if p := cfg.Listen.HTTPSPublicPort; p != 0 {
		ip, _, _ := net.SplitHostPort(a.HTTPS)
		httpsAddr = net.JoinHostPort(ip, fmt.Sprint(p))
	}
	k := ""
	if len(cfg.TLS.SelfSigned) > 0 {
		k = "k" // curl does not trust a self-signed certificate
	}
	return []string{
		hint("-sI", "http", a.HTTP, "80"),
		hint("-s"+k+"I", "https", httpsAddr, "443"),
	}
}

// resolveIP is the address curl --resolve should connect to for a
// listener bound to ip: ip itself, or loopback for every interface.
func resolveIP(ip string) string {
	a, err := netip.ParseAddr(ip)
	switch {
	case err != nil || a.IsUnspecified():
		return "127.0.0.1"
	case a.Is6() && !a.Is4In6():
		return "[" + a.String() + "]"
	}
	return a.Unmap().String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// startGCPercent is the garbage collector's percent while the edge
// starts, from reading the configuration to a built routing table:
// loading 100 000 domains makes 130 MB of garbage, and a collection
// every doubling of the heap (GOGC=100) costs about 40-70 ms more on one
// core than one every tripling, for a peak that stays under 100 MiB
// (91-95 MiB against 90-91), since the configuration package collects the
// node tree of a large file as soon as it is decoded.
const startGCPercent = 200

// gcStart counts the edges starting in this process (one, but for
// tests), so that the first saves the percent and the last restores it.
var gcStart struct {
	sync.Mutex
	n    int
	prev int
}

// startGC raises the GC percent to startGCPercent, unless GOGC is set, and
// returns the function that restores it (once; later calls do nothing).
func startGC() func() {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	gcStart.Lock()
	if gcStart.n == 0 {
		gcStart.prev = debug.SetGCPercent(startGCPercent)
	}
	gcStart.n++
	gcStart.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			gcStart.Lock()
			defer gcStart.Unlock()
			if gcStart.n--; gcStart.n == 0 {
				debug.SetGCPercent(gcStart.prev)
			}
		})
	}
}

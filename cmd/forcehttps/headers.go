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
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/forcehttps/forcehttps"
	"github.com/forcehttps/forcehttps/internal/inspect"
)

func init() {
	register("headers", "serve the request header inspector (containers: listens on $PORT)", runHeaders)
}

// shutdownGrace bounds how long in-flight requests may take to finish once
// the process is told to stop. Cloud Run sends SIGTERM and kills the
// container 10 seconds later.
const shutdownGrace = 10 * time.Second

const headersUsage = `Usage: forcehttps headers [flags]

Serves the header inspector: GET /headers shows the request as it reached
the app (request line, peer, TLS, every header) and what the forcehttps
middleware decided about it; /headers.json is the same as JSON; /healthz
answers "ok" and is exempt from the redirect, for health checks.

The inspector runs behind the middleware, so a plain-HTTP request for an
allowed host is redirected to https, as an app's would be. localhost and
IP-address hosts are never redirected (so that a browser is not pinned to
HTTPS for them).

It listens on ":$PORT" ($PORT defaults to 8080): every interface, as a
container must. On your own machine, prefer --listen 127.0.0.1:8080.

Trust: with the default "none", no peer is trusted and forwarding headers
such as X-Forwarded-Proto are shown but ignored. --trust cloudrun believes
X-Forwarded-Proto from any peer: that is safe on Cloud Run only because
Google's front end is the only way to reach the container. Anywhere else,
anyone who can connect could claim https: list your proxies with
--trusted-proxies instead.

Each flag's default can be set with the environment variable named in its
description; a flag on the command line wins.

Flags:
`

// headersDeps are what headersMain takes from the process, so tests can
// replace them.
type headersDeps struct {
	getenv func(string) string
	// ready, if set, is called with the listener's address once the
	// server accepts connections.
	ready func(net.Addr)
}

func runHeaders(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return headersMain(ctx, args, stdout, stderr, headersDeps{getenv: os.Getenv})
}

func headersMain(ctx context.Context, args []string, _, stderr io.Writer, deps headersDeps) int {
	fs := flag.NewFlagSet("headers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, headersUsage)
		fs.PrintDefaults()
	}
	env := deps.getenv
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "forcehttps headers: "+format+"\n", a...)
		return 2
	}

	// Booleans from the environment are parsed before the flags, so that a
	// bad value is reported instead of silently ignored.
	envBool := func(name string) (bool, error) {
		v := env(name)
		if v == "" {
			return false, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("invalid $%s %q: want true or false", name, v)
		}
		return b, nil
	}
	anyHostEnv, err := envBool("FORCEHTTPS_ANY_HOST")
	if err != nil {
		return usageErr("%v", err)
	}
	temporaryEnv, err := envBool("FORCEHTTPS_TEMPORARY")
	if err != nil {
		return usageErr("%v", err)
	}
	httpsPortEnv := 0
	if v := env("FORCEHTTPS_HTTPS_PORT"); v != "" {
		if httpsPortEnv, err = strconv.Atoi(v); err != nil {
			return usageErr("invalid $FORCEHTTPS_HTTPS_PORT %q: want a port number", v)
		}
	}
	trustDefault := env("FORCEHTTPS_TRUST")
	if trustDefault == "" {
		trustDefault = string(forcehttps.PresetNone)
	}
	var (
		listen    = fs.String("listen", "", "`address` to listen on (default \":$PORT\", every interface; $PORT defaults to 8080)")
		trust     = fs.String("trust", trustDefault, "platform `preset` whose proxies are trusted: "+presetNames()+" ($FORCEHTTPS_TRUST)")
		proxies   = fs.String("trusted-proxies", env("FORCEHTTPS_TRUSTED_PROXIES"), "comma-separated `CIDRs` of proxies whose forwarding headers are believed ($FORCEHTTPS_TRUSTED_PROXIES)")
		hosts     = fs.String("allowed-hosts", env("FORCEHTTPS_ALLOWED_HOSTS"), "comma-separated `hosts` the redirect may point to, \"*.example.com\" wildcards allowed; without them plain-HTTP requests are refused with 400 ($FORCEHTTPS_ALLOWED_HOSTS)")
		anyHost   = fs.Bool("any-host", anyHostEnv, "redirect to whatever valid Host the client sent; dangerous where a shared cache sits in front (it may store a redirect to a host an attacker chose): use only where the platform validates Host ($FORCEHTTPS_ANY_HOST)")
		temporary = fs.Bool("temporary", temporaryEnv, "redirect with 302/307, which browsers do not cache, instead of 301/308: use it while testing ($FORCEHTTPS_TEMPORARY)")
		httpsPort = fs.Int("https-port", httpsPortEnv, "`port` the redirect points to (default 443) ($FORCEHTTPS_HTTPS_PORT)")
		showCreds = fs.Bool("show-credentials", false, "show Authorization, Cookie and other credential headers as they are instead of redacted")
		logOpts   = addLogFlags(fs, env)
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q (this command takes only flags)", fs.Arg(0))
	}
	logger, err := logOpts.logger(stderr)
	if err != nil {
		return usageErr("%v", err)
	}
	addr, err := listenAddr(*listen, env)
	if err != nil {
		return usageErr("%v", err)
	}
	allowed := splitList(*hosts)
	if *anyHost && len(allowed) > 0 {
		return usageErr("--any-host and --allowed-hosts exclude each other: list the hosts, or allow any")
	}

	m, err := forcehttps.New(forcehttps.Config{
		Trust:          forcehttps.Preset(*trust),
		TrustedProxies: splitList(*proxies),
		AllowedHosts:   allowed,
		AllowAnyHost:   *anyHost,
		Temporary:      *temporary,
		HTTPSPort:      *httpsPort,
		ExemptPaths:    []string{"/healthz"},
		Logger:         logger,
	})
	if err != nil {
		return usageErr("%v", err)
	}
	insp, err := inspect.New(inspect.Options{Middleware: m, Logger: logger, ShowCredentials: *showCreds})
	if err != nil {
		return usageErr("%v", err)
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		logger.Error("forcehttps headers: cannot listen", slog.String("addr", addr), slog.Any("error", err))
		return 1
	}
	srv := inspect.NewServer(m.Handler(insp), logger)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("forcehttps headers: listening",
		slog.String("addr", ln.Addr().String()),
		slog.String("trust", string(m.Config().Trust)),
		slog.String("allowed_hosts", strings.Join(allowed, ",")),
		slog.Bool("temporary", *temporary))
	if deps.ready != nil {
		deps.ready(ln.Addr())
	}

	select {
	case err := <-errc:
		logger.Error("forcehttps headers: server failed", slog.Any("error", err))
		return 1
	case <-ctx.Done():
	}
	logger.Info("forcehttps headers: shutting down", slog.Duration("grace", shutdownGrace))
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Error("forcehttps headers: requests still running after the grace period; closing", slog.Any("error", err))
		srv.Close()
		<-errc
		return 1
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("forcehttps headers: server failed", slog.Any("error", err))
		return 1
	}
	logger.Info("forcehttps headers: stopped")
	return 0
}

// listenAddr returns the address to listen on: the --listen flag if set,
// else ":" + $PORT, else ":8080".
func listenAddr(flagValue string, getenv func(string) string) (string, error) {
	if flagValue != "" {
		if _, _, err := net.SplitHostPort(flagValue); err != nil {
			return "", fmt.Errorf("invalid --listen %q: want host:port or :port", flagValue)
		}
		return flagValue, nil
	}
	p := getenv("PORT")
	if p == "" {
		return ":8080", nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
		return "", fmt.Errorf("invalid $PORT %q: want a port number from 1 to 65535", p)
	}
	return ":" + p, nil
}

// splitList splits a comma-separated list, trimming spaces and dropping
// empty entries.
func splitList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// presetNames lists the platform presets for the help text.
func presetNames() string {
	var names []string
	for _, p := range forcehttps.Presets() {
		names = append(names, string(p))
	}
	return strings.Join(names, ", ")
}

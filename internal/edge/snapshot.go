package edge

import (
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/forcehttps/forcehttps"
	"github.com/forcehttps/forcehttps/internal/config"
	"github.com/forcehttps/forcehttps/internal/upstream"
)

// snapshot is an immutable routing table built from one configuration.
// Requests load the current one once and use it to the end, so a reload
// never changes a request midway. A change of one app
// ([Server.ApplyApp]) makes a new snapshot that shares every other app,
// and every shard of its indexes the change does not touch, with the
// previous one.
type snapshot struct {
	// cfg holds the settings of the last full build (timeouts, limits,
	// trusted proxies, public port). Its Apps are those of that build:
	// the apps served are in apps.
	cfg       *config.Config
	env       *appEnv
	apps      index[*app]         // lower-cased name -> app
	exact     index[*app]         // normalized host -> app
	wildcard  index[*app]         // parent of a "*." domain -> app
	transport *http.Transport     // HTTP/1.1, to http and https upstreams
	lean      *upstream.Transport // HTTP/1.1 to http upstreams: the plainest requests, the others to transport
	h2c       *http.Transport     // HTTP/2 without TLS, to h2c upstreams; nil without
	h2        *http.Transport     // HTTP/2 over TLS, to https upstreams with http2; nil without
	maxBody   int64
	// builtins are the handlers to install in the builtin servers when
	// the snapshot goes live, by app name.
	builtins map[string]http.Handler
	// shared holds the static answers made during a full build, for
	// apps with the same ones to share; nil once built.
	shared map[staticKey]*staticAnswer
}

// appEnv is what the apps of the snapshots that follow one full build
// share: the settings of that build, and the way to the live table.
type appEnv struct {
	s          *Server
	cfg        *config.Config // the configuration of that build, for its settings
	publicPort int
	httpsPort  string // the public HTTPS port, for X-Forwarded-Port
	httpPort   string // the bound HTTP port, for X-Forwarded-Port
	maxBody    int64
	errorLog   *log.Logger // the reverse proxies' error log, one for all apps
}

// route returns the app serving a Host value in the live table. Apps are
// shared by several snapshots, so they ask the current one.
func (e *appEnv) route(hostport string) *app { return e.s.snap.Load().route(hostport) }

// app is one app of a snapshot.
type app struct {
	name      string
	cfg       *config.App
	snap      *appEnv // what the snapshots sharing the app share (named when an app had one snapshot)
	mw        *forcehttps.Middleware
	proxy     http.Handler                          // the reverse proxy, served through mw.Serve: an *appProxy
	rp        atomic.Pointer[httputil.ReverseProxy] // made at the first proxied request
	rt        http.RoundTripper                     // rp's transport
	lean      *upstream.Transport                   // rt when it is the lean transport, for forward
	static    staticSet                             // the "respond" list, by path
	target    *url.URL
	transport *http.Transport // the one of target's protocol
	force     bool
	m         *appMetrics
	s         *Server
	builtin   http.Handler // the handler of a "builtin:" upstream; nil for others
}

// route returns the app serving a Host value (host[:port]), or nil. The
// value is parsed as strictly as the middleware parses it
// ([forcehttps.ParseHost]).
func (sn *snapshot) route(hostport string) *app {
	host, _, err := forcehttps.ParseHost(hostport)
	if err != nil {
		return nil
	}
	return sn.lookup(host)
}

// lookup returns the app serving a normalized host (no port), or nil.
func (sn *snapshot) lookup(host string) *app {
	if a, _ := sn.exact.get(host); a != nil {
		return a
	}
	if i := strings.IndexByte(host, '.'); i > 0 && sn.wildcard.len() > 0 {
		a, _ := sn.wildcard.get(host[i+1:])
		return a
	}
	return nil
}

// app returns the app called name, or nil.
func (sn *snapshot) app(name string) *app {
	a, _ := sn.apps.get(strings.ToLower(name))
	return a
}

// domains returns the domains of every app, for the certificate
// manager.
func (sn *snapshot) domains() []string {
	var out []string
	sn.apps.all(func(_ string, a *app) bool {
		out = append(out, a.cfg.Domains...)
		return true
	})
	return out
}

// domainEdits returns the edits of the exact and wildcard indexes that
// make a's domains point to to (nil: remove them).
func domainEdits(a *app, to *app, exact, wild []indexEdit[*app]) ([]indexEdit[*app], []indexEdit[*app]) {
	for _, d := range a.cfg.Domains {
		h, w, err := forcehttps.ParseHostPattern(d)
		if err != nil {
			continue // refused by validation
		}
		e := indexEdit[*app]{key: h, v: to, delete: to == nil}
		if w {
			wild = append(wild, e)
		} else {
			exact = append(exact, e)
		}
	}
	return exact, wild
}

// build makes a snapshot of cfg. It starts the builtin servers cfg needs
// (they serve the previous handlers, or nothing, until install). Called
// with s.mu held. Its errors are for the caller to prefix.
func (s *Server) build(cfg *config.Config) (*snapshot, error) {
	publicPort := cfg.PublicHTTPSPort()
	if publicPort == 0 {
		publicPort = s.httpsPort
	}
	sn := &snapshot{
		cfg: cfg,
		env: &appEnv{
			s:          s,
			cfg:        cfg,
			publicPort: publicPort,
			httpsPort:  strconv.Itoa(publicPort),
			httpPort:   s.httpPort,
			maxBody:    cfg.Limits.MaxBodyBytes,
			errorLog:   slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		},
		apps:     newIndex[*app](),
		exact:    newIndex[*app](),
		wildcard: newIndex[*app](),
		maxBody:  cfg.Limits.MaxBodyBytes,
		builtins: map[string]http.Handler{},
		shared:   map[staticKey]*staticAnswer{},
	}
	old := s.snap.Load()
	if old != nil && old.cfg.Timeouts.UpstreamDial == cfg.Timeouts.UpstreamDial &&
		old.cfg.Timeouts.UpstreamResponseHeader == cfg.Timeouts.UpstreamResponseHeader {
		// Keep the warm connections.
		sn.transport, sn.lean, sn.h2c, sn.h2 = old.transport, old.lean, old.h2c, old.h2
	} else {
		sn.transport = newTransport(cfg.Timeouts)
		sn.lean = newLeanTransport(cfg.Timeouts, sn.transport)
	}
	n := 0
	for i := range cfg.Apps {
		n += len(cfg.Apps[i].Domains)
	}
	// Sized for the whole table, which would otherwise be copied as
	// the lists grow: most domains are exact names.
	names := make([]indexEdit[*app], 0, len(cfg.Apps))
	exact := make([]indexEdit[*app], 0, n)
	var wild []indexEdit[*app]
	for i := range cfg.Apps {
		ac := &cfg.Apps[i]
		a, err := s.newApp(sn, ac)
		if err != nil {
			return nil, fmt.Errorf("apps[%d]%w", i, err)
		}
		if a.builtin != nil {
			sn.builtins[ac.Name] = a.builtin
		}
		names = append(names, indexEdit[*app]{key: strings.ToLower(ac.Name), v: a})
		exact, wild = domainEdits(a, a, exact, wild)
	}
	sn.shared = nil
	sn.apps = sn.apps.with(names)
	sn.exact = sn.exact.with(exact)
	sn.wildcard = sn.wildcard.with(wild)
	return sn, nil
}

// newApp builds app ac for snapshot sn, whose transports it may add to.
// Its errors start with the key they are about (".upstream: ...", or
// ": ..." for the app), for the caller to prefix with the app's path.
func (s *Server) newApp(sn *snapshot, ac *config.App) (*app, error) {
	cfg := sn.cfg
	fc := cfg.Policy(ac, sn.env.publicPort)
	fc.Logger = s.log
	fc.Now = s.now
	mw, err := forcehttps.New(fc)
	if err != nil {
		return nil, fmt.Errorf(": %w", err)
	}
	a := &app{name: ac.Name, cfg: ac, snap: sn.env, mw: mw, force: ac.ForceHTTPS, s: s, m: s.metricsFor(ac.Name), static: staticAnswers(ac.Respond, sn.shared)}
	if name, ok := ac.BuiltinName(); ok {
		if s.o.builtins[name] == nil {
			return nil, fmt.Errorf(".upstream: builtin %q is not available in this program", name)
		}
		// The builtin trusts the edge, its only client, as a proxy.
		bc := fc
		bc.TrustedProxies = []string{"127.0.0.1/32", "::1/128"}
		bc.DisableSecurityHeaders = false
		bc.DisableSecureCookies = false
		bc.Logger = slog.New(slog.DiscardHandler)
		bm, err := forcehttps.New(bc)
		if err != nil {
			return nil, fmt.Errorf(": builtin %q: %w", name, err)
		}
		h, err := s.o.builtins[name](bm)
		if err != nil {
			return nil, fmt.Errorf(": builtin %q: %w", name, err)
		}
		addr, err := s.startBuiltin(ac.Name)
		if err != nil {
			return nil, fmt.Errorf(": builtin %q: %w", name, err)
		}
		a.builtin = h
		a.target = &url.URL{Scheme: "http", Host: addr}
	} else {
		u, err := url.Parse(ac.Upstream)
		if err != nil {
			return nil, fmt.Errorf(".upstream: %w", err)
		}
		a.target = &url.URL{Scheme: u.Scheme, Host: u.Host}
	}
	transport := sn.transport
	switch {
	case a.target.Scheme == "h2c":
		if sn.h2c == nil {
			sn.h2c = newHTTP2Transport(cfg.Timeouts, false)
		}
		transport = sn.h2c
		a.target.Scheme = "http" // h2c is HTTP/2 over plain TCP
	case ac.HTTP2:
		if sn.h2 == nil {
			sn.h2 = newHTTP2Transport(cfg.Timeouts, true)
		}
		transport = sn.h2
	}
	a.transport = transport
	a.rt = transport
	if transport == sn.transport && a.target.Scheme == "http" {
		a.rt, a.lean = sn.lean, sn.lean
	}
	a.proxy = (*appProxy)(a)
	return a, nil
}

// largeTable is the number of apps from which a full build is followed
// by releaseBuildGarbage.
const largeTable = 1000

// releaseBuildGarbage returns to the system the memory a full build of
// apps apps left as garbage (the parsed document, the previous table),
// when the table is large: parsing and building 10 000 apps takes about
// three times the memory the table keeps, which the runtime would
// otherwise hold for minutes. It costs one collection, a few tens of
// milliseconds at that size, once per full build.
func releaseBuildGarbage(apps int) {
	if apps >= largeTable {
		debug.FreeOSMemory()
	}
}

// install makes sn the live snapshot. Called with s.mu held.
func (s *Server) install(sn *snapshot) *snapshot {
	for name, h := range sn.builtins {
		s.builtins[name].set(h)
	}
	old := s.snap.Swap(sn)
	s.stopBuiltins(sn)
	s.dropStaleMetrics(sn)
	if old != nil && old.transport != sn.transport {
		// Requests in flight keep their connections; idle ones go.
		old.lean.CloseIdleConnections() // and old.transport's
		for _, t := range []*http.Transport{old.h2c, old.h2} {
			if t != nil {
				t.CloseIdleConnections()
			}
		}
	}
	return old
}

// newTransport returns the transport to the apps: HTTP/1.1 keep-alive
// with many idle connections per app (the default of two makes every
// burst open new connections), bounded dial and response-header waits,
// bodies passed through as they are (no transparent gzip), and no proxy
// from the environment.
func newTransport(t config.Timeouts) *http.Transport {
	d := &net.Dialer{Timeout: t.UpstreamDial, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		MaxIdleConns:           4096,
		MaxIdleConnsPerHost:    256,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    t.UpstreamDial,
		ResponseHeaderTimeout:  t.UpstreamResponseHeader,
		ExpectContinueTimeout:  time.Second,
		ForceAttemptHTTP2:      false,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 1 << 20,
	}
}

// newLeanTransport returns the transport to http:// HTTP/1.1 apps: the
// plainest requests (no body, no upgrade) over package upstream's pool,
// with the same bounds as newTransport, which carries the others.
func newLeanTransport(t config.Timeouts, fallback *http.Transport) *upstream.Transport {
	return &upstream.Transport{
		Fallback:               fallback,
		DialContext:            fallback.DialContext,
		ResponseHeaderTimeout:  t.UpstreamResponseHeader,
		IdleConnTimeout:        fallback.IdleConnTimeout,
		MaxIdleConnsPerHost:    fallback.MaxIdleConnsPerHost,
		MaxResponseHeaderBytes: int(fallback.MaxResponseHeaderBytes),
		Interim:                interim,
	}
}

// newHTTP2Transport returns the transport to HTTP/2 apps (gRPC): over
// TLS (https upstreams with http2) or without (h2c), HTTP/2 only, with
// the same bounds as newTransport. Streams of one app share a
// connection, as HTTP/2 intends; the response-header wait starts once
// the request body is sent, so a client stream is not cut by it.
func newHTTP2Transport(t config.Timeouts, overTLS bool) *http.Transport {
	tr := newTransport(t)
	var p http.Protocols
	if overTLS {
		p.SetHTTP2(true)
	} else {
		p.SetUnencryptedHTTP2(true)
	}
	tr.Protocols = &p
	return tr
}

package edge

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/forcehttps/forcehttps"
)

// metrics are the edge's Prometheus metrics, in a registry of their own.
type metrics struct {
	reg            *prometheus.Registry
	requests       *prometheus.CounterVec
	redirects      *prometheus.CounterVec
	hsts           *prometheus.CounterVec
	upstreamErrors *prometheus.CounterVec
	cuts           *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	reloads        *prometheus.CounterVec
	apply          prometheus.Histogram
	unknown        *appMetrics // requests for hosts no app serves
}

const namespace = "forcehttps_edge"

func newMetrics(version string, certs func() []CertificateInfo) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "requests_total",
			Help: "Requests answered, by app (_unknown: no app serves the host), listener scheme and status code.",
		}, []string{"app", "scheme", "code"}),
		redirects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "redirects_total",
			Help: "Redirects to HTTPS, by app and by how the scheme was learned (plain-http, untrusted-peer: the client sent forwarding headers that were ignored, trusted-proxy:<header>).",
		}, []string{"app", "reason"}),
		hsts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "hsts_injected_total",
			Help: "HTTPS responses that got the edge's Strict-Transport-Security header because the app sent none.",
		}, []string{"app"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "upstream_errors_total",
			Help: "Requests the app could not answer, by kind: connect, timeout, response, body-too-large.",
		}, []string{"app", "kind"}),
		cuts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "cuts_total",
			Help: "Proxied exchanges cut before their end, by app and reason: client_idle, client_gone, upstream_read_idle, upstream_reset, stream_idle, max_duration.",
		}, []string{"app", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "request_duration_seconds",
			Help:    "Time from the request headers to the end of the response, by app and listener scheme.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"app", "scheme"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "config_reloads_total",
			Help: "Configuration reloads, by result: success or failure (the previous configuration kept serving).",
		}, []string{"result"}),
		apply: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "apply_seconds",
			Help:    "Time the edge took to apply a change of one app (validation, table, certificate manager), for the changes applied.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}),
	}
	if version == "" {
		version = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			version = bi.Main.Version
		}
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "forcehttps", Name: "build_info",
		Help: "Always 1; the labels say which build is running.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(version, runtime.Version()).Set(1)
	m.reg.MustRegister(m.requests, m.redirects, m.apply, m.hsts, m.upstreamErrors, m.cuts, m.duration, m.reloads, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if certs != nil {
		m.reg.MustRegister(&certCollector{certs: certs, desc: prometheus.NewDesc(
			namespace+"_certificate_expiry_timestamp_seconds",
			"When each certificate name expires, as a Unix time, by name and source (file, acme, self-signed).",
			[]string{"name", "source"}, nil)})
	}
	for _, r := range []string{"success", "failure"} {
		m.reloads.WithLabelValues(r) // so that rates start at 0, not at the first event
	}
	// Requests for unknown hosts are counted and timed, nothing else.
	m.unknown = &appMetrics{m: m, name: unknownApp}
	unknown := &appSeries{}
	unknown.duration[0] = m.duration.WithLabelValues(unknownApp, "http")
	unknown.duration[1] = m.duration.WithLabelValues(unknownApp, "https")
	m.unknown.series.Store(unknown)
	return m
}

// handler serves /metrics; other paths get 404.
func (m *metrics) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	return mux
}

// appMetrics are one app's metrics. Its series are created at the app's
// first request, not when the app is built: a table of many apps, most
// of them idle, costs a few words per app instead of some forty series
// (and the time to make them) each.
type appMetrics struct {
	m      *metrics
	name   string
	series atomic.Pointer[appSeries] // nil until the first request

	mu   sync.Mutex
	lazy []lazyLabel // series created on first use, to delete with the app
	// gone is set when the app's series are deleted: a request of the
	// app still in flight then creates no new one.
	gone atomic.Bool
}

// appSeries are the series of an app, resolved once so that a request
// costs no label lookup; status codes are resolved on first use.
type appSeries struct {
	codes    [2][500]atomic.Pointer[prometheus.Counter] // by scheme (http, https), code-100
	duration [2]prometheus.Observer
	hsts     prometheus.Counter
	redirs   [len(redirectReasons)]prometheus.Counter // by index in redirectReasons
	upstream map[string]prometheus.Counter
	cuts     map[string]prometheus.Counter
}

// get returns the app's series, creating them on first use, or nil once
// the app's series are deleted.
func (am *appMetrics) get() *appSeries {
	if sr := am.series.Load(); sr != nil {
		return sr
	}
	am.mu.Lock()
	defer am.mu.Unlock()
	if am.gone.Load() {
		return nil
	}
	sr := am.series.Load()
	if sr == nil {
		sr = am.m.newSeries(am.name)
		am.series.Store(sr)
	}
	return sr
}

// lazyLabel is a series of an app created on first use: its vector and
// its label besides the app's name.
type lazyLabel struct {
	vec   *prometheus.CounterVec
	value string
}

// remember records a series created on first use.
func (am *appMetrics) remember(vec *prometheus.CounterVec, value string) {
	am.mu.Lock()
	defer am.mu.Unlock()
	for _, l := range am.lazy {
		if l.vec == vec && l.value == value {
			return
		}
	}
	am.lazy = append(am.lazy, lazyLabel{vec, value})
}

// The sources of a redirect decision (Decision.Source) counted without a
// lookup; others are resolved when they occur.
var redirectReasons = [...]forcehttps.Reason{
	forcehttps.ReasonPlainHTTP, forcehttps.ReasonUntrustedPeer,
	"trusted-proxy:x-forwarded-proto", "trusted-proxy:forwarded",
}

var upstreamKinds = []string{kindConnect, kindTimeout, kindResponse, kindBodyTooLarge}

// newSeries creates the series of app name that a request may use,
// so that their rates start at 0.
func (m *metrics) newSeries(name string) *appSeries {
	sr := &appSeries{
		hsts:     m.hsts.WithLabelValues(name),
		upstream: make(map[string]prometheus.Counter, len(upstreamKinds)),
		cuts:     make(map[string]prometheus.Counter, len(cutReasons)),
	}
	for _, r := range cutReasons {
		sr.cuts[r] = m.cuts.WithLabelValues(name, r)
	}
	sr.duration[0] = m.duration.WithLabelValues(name, "http")
	sr.duration[1] = m.duration.WithLabelValues(name, "https")
	for i, r := range redirectReasons {
		sr.redirs[i] = m.redirects.WithLabelValues(name, string(r))
	}
	for _, k := range upstreamKinds {
		sr.upstream[k] = m.upstreamErrors.WithLabelValues(name, k)
	}
	return sr
}

// metricsFor returns the metrics of an app, kept across reloads. Called
// with s.mu held.
func (s *Server) metricsFor(name string) *appMetrics {
	am := s.appMetric[name]
	if am == nil {
		am = &appMetrics{m: s.m, name: name}
		s.appMetric[name] = am
	}
	return am
}

// observe counts a finished request.
func (am *appMetrics) observe(overTLS bool, status int, elapsed time.Duration) {
	sr := am.get()
	if sr == nil {
		return
	}
	i := 0
	if overTLS {
		i = 1
	}
	sr.duration[i].Observe(elapsed.Seconds())
	if status < 100 || status > 599 {
		status = 599 // never happens with net/http; keeps the index valid
	}
	slot := &sr.codes[i][status-100]
	c := slot.Load()
	if c == nil {
		if am.gone.Load() {
			return
		}
		scheme := "http"
		if overTLS {
			scheme = "https"
		}
		counter := am.m.requests.WithLabelValues(am.name, scheme, strconv.Itoa(status))
		slot.CompareAndSwap(nil, &counter)
		c = slot.Load()
	}
	(*c).Inc()
}

// redirect counts a redirect by the source of the decision.
func (am *appMetrics) redirect(source forcehttps.Reason) {
	sr := am.get()
	if sr == nil {
		return
	}
	// A few comparisons, most often one, cost less than a map lookup.
	for i, r := range redirectReasons {
		if r == source {
			sr.redirs[i].Inc()
			return
		}
	}
	if am.gone.Load() {
		return
	}
	am.remember(am.m.redirects, string(source))
	am.m.redirects.WithLabelValues(am.name, string(source)).Inc()
}

// upstreamError counts an upstream failure.
func (am *appMetrics) upstreamError(kind string) {
	sr := am.get()
	if sr == nil {
		return
	}
	if c, ok := sr.upstream[kind]; ok {
		c.Inc()
		return
	}
	if am.gone.Load() {
		return
	}
	am.remember(am.m.upstreamErrors, kind)
	am.m.upstreamErrors.WithLabelValues(am.name, kind).Inc()
}

// cutCount counts an exchange cut for one of cutReasons.
func (am *appMetrics) cutCount(reason string) {
	if sr := am.get(); sr != nil {
		if c, ok := sr.cuts[reason]; ok {
			c.Inc()
		}
	}
}

// hstsInjected counts a response that got the edge's HSTS header.
func (am *appMetrics) hstsInjected() {
	if sr := am.get(); sr != nil {
		sr.hsts.Inc()
	}
}

// reload counts a reload.
func (m *metrics) reload(ok bool) {
	if ok {
		m.reloads.WithLabelValues("success").Inc()
	} else {
		m.reloads.WithLabelValues("failure").Inc()
	}
}

// certCollector reports certificate expiry, read at each scrape.
type certCollector struct {
	certs func() []CertificateInfo
	desc  *prometheus.Desc
}

func (c *certCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect emits one series per name and source; when several
// certificates of one source cover a name, the one expiring last counts,
// since it is the one that keeps the name served.
func (c *certCollector) Collect(ch chan<- prometheus.Metric) {
	type key struct{ name, source string }
	latest := map[key]time.Time{}
	var order []key
	for _, info := range c.certs() {
		for _, n := range info.Names {
			k := key{n, info.Source}
			t, seen := latest[k]
			if !seen {
				order = append(order, k)
			}
			if !seen || info.NotAfter.After(t) {
				latest[k] = info.NotAfter
			}
		}
	}
	for _, k := range order {
		// An error means a label that is not UTF-8: a broken certificate
		// name, left out rather than failing the scrape.
		if m, err := prometheus.NewConstMetric(c.desc, prometheus.GaugeValue, float64(latest[k].Unix()), k.name, k.source); err == nil {
			ch <- m
		}
	}
}

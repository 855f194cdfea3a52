package config

import (
	"net"
	"strconv"
	"time"
)

// Config is an edge configuration: what [Parse] and [Load] return, with
// every default filled in and every value validated. Each field's comment
// gives its YAML key and what it is when the key is absent.
type Config struct {
	// Listen is where the edge accepts connections ("listen").
	Listen Listen `yaml:"listen"`

	// TrustedProxies lists the peers in front of the edge, as CIDR
	// prefixes or single addresses ("trusted_proxies"). Their
	// X-Forwarded-*, Forwarded and X-Real-IP headers are kept and
	// believed; everyone else's are removed. Absent: no peer trusted.
	TrustedProxies []string `yaml:"trusted_proxies"`

	// TLS says where certificates come from ("tls"). At least one source
	// is required.
	TLS TLS `yaml:"tls"`

	// Apps are the applications behind the edge ("apps"), at least one.
	Apps []App `yaml:"apps"`

	// Timeouts of the servers and of the connections to the apps
	// ("timeouts").
	Timeouts Timeouts `yaml:"timeouts"`

	// Limits on requests ("limits").
	Limits Limits `yaml:"limits"`

	// AccessLog is where the one-line-per-request log goes ("access_log").
	AccessLog AccessLog `yaml:"access_log"`

	// Admin is the administration listener, which serves /metrics
	// ("admin").
	Admin Admin `yaml:"admin"`

	// Cluster makes this edge one replica of several that share their
	// certificates and Force HTTPS state through PostgreSQL ("cluster").
	// Absent: a single node, with files.
	Cluster *Cluster `yaml:"cluster"`

	// checked is the fingerprint of the Config that Load or Parse
	// validated; 0: none (see Checked).
	checked uint64
}

// Listen holds the listener addresses.
type Listen struct {
	// HTTP is the plain-HTTP address, host:port ("http"). Absent: ":80".
	HTTP string `yaml:"http"`

	// HTTPS is the TLS address, host:port ("https"). Absent: ":443".
	HTTPS string `yaml:"https"`

	// HTTPSPublicPort is the port clients reach the HTTPS listener on,
	// which redirects point to; it differs from the HTTPS listener's port
	// behind a port mapping ("https_public_port"). Absent: the port of
	// HTTPS. Port 443 is left out of redirect URLs.
	HTTPSPublicPort int `yaml:"https_public_port"`

	// HTTP2Server picks the server of the HTTPS listener's HTTP/2
	// connections ("http2_server"): "builtin", the edge's own, which
	// writes each response with fewer system calls and goroutines, or
	// "net/http", Go's. Absent or empty: "builtin".
	HTTP2Server string `yaml:"http2_server"`
}

// The values of Listen.HTTP2Server.
const (
	HTTP2Builtin = "builtin"
	HTTP2NetHTTP = "net/http"
)

// TLS configures the certificate sources. Several may be combined: files
// are preferred for the names they cover, then ACME certificates, then the
// self-signed one.
type TLS struct {
	// Certificates are PEM certificate and key files ("certificates"),
	// chosen by SNI among all of them. Absent: none.
	Certificates []CertificateFile `yaml:"certificates"`

	// SelfSigned lists the names (host names, "*." wildcards, IP
	// addresses) of a self-signed certificate generated at start
	// ("self_signed"); for development. Absent: none.
	SelfSigned []string `yaml:"self_signed"`

	// ACME enables automatic certificates for the domains of the apps
	// ("acme"). Absent: no ACME.
	ACME *ACME `yaml:"acme"`
}

// CertificateFile is a certificate and its private key on disk, in PEM.
type CertificateFile struct {
	// CertFile holds the certificate, optionally followed by its chain
	// ("cert_file"). Required.
	CertFile string `yaml:"cert_file"`
	// KeyFile holds the private key ("key_file"). Required.
	KeyFile string `yaml:"key_file"`
}

// ACME configures automatic certificates. They are ordered only for the
// domains of the apps, never for an arbitrary name a client asks for.
type ACME struct {
	// Email is the account's contact address ("email"). Absent: an
	// account without contact, which the CA cannot warn before expiry.
	Email string `yaml:"email"`

	// Directory is the CA's ACME directory URL, https ("directory").
	// Absent: Let's Encrypt production ([LetsEncrypt]).
	Directory string `yaml:"directory"`

	// Storage is the directory holding the account, certificates and
	// locks; replicas sharing it share certificates ("storage"). Absent:
	// the certificate manager's default location.
	Storage string `yaml:"storage"`

	// CARoot is a PEM file of roots to trust for the CA's own HTTPS, for a
	// private or test CA ("ca_root"). Absent: the system roots.
	CARoot string `yaml:"ca_root"`

	// Challenges says which validation methods may be used
	// ("challenges"). Absent: both.
	Challenges Challenges `yaml:"challenges"`

	// RenewalWindowRatio is the fraction of a certificate's lifetime left
	// when renewal starts, in (0, 1) ("renewal_window_ratio"). Absent: the
	// manager's default (one third).
	RenewalWindowRatio float64 `yaml:"renewal_window_ratio"`

	// OnDemand orders a domain's certificate at the first TLS handshake
	// that names it, instead of when the domain is added ("on_demand").
	// Only the apps' domains are ever ordered. Absent: false.
	OnDemand bool `yaml:"on_demand"`

	// OnDemandOrdersPerHour caps the on-demand orders a replica starts in
	// any hour ("on_demand_orders_per_hour"). Absent: 50, half of what
	// Let's Encrypt refills per account per hour (300 per 3 hours).
	OnDemandOrdersPerHour int `yaml:"on_demand_orders_per_hour"`

	// OnDemandTimeout bounds how long a handshake waits for an on-demand
	// order before it fails; the order goes on ("on_demand_timeout").
	// It must be shorter than timeouts.read_header, which bounds the
	// whole handshake. Absent: 8s.
	OnDemandTimeout time.Duration `yaml:"on_demand_timeout"`
}

// LetsEncrypt is the default ACME directory: Let's Encrypt production.
const LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

// Challenges enables ACME validation methods.
type Challenges struct {
	// HTTP enables HTTP-01, answered on the plain-HTTP listener before any
	// redirect ("http"). Absent: true.
	HTTP bool `yaml:"http"`
	// TLSALPN enables TLS-ALPN-01, answered on the HTTPS listener
	// ("tls_alpn"). Absent: true.
	TLSALPN bool `yaml:"tls_alpn"`
}

// App is one application behind the edge.
type App struct {
	// Name identifies the app in logs and metrics ("name"): letters,
	// digits, ".", "_" and "-", 63 at most, unique. Required.
	Name string `yaml:"name"`

	// Domains are the hosts the app serves ("domains"): exact names, "*."
	// wildcards covering one label, IP addresses. No two apps may share
	// one (compared after normalisation: case, trailing dot, punycode).
	// Required.
	Domains []string `yaml:"domains"`

	// Upstream is where requests go ("upstream"): an absolute http,
	// https or h2c URL with a host and no path, or "builtin:<name>" for a
	// handler built into the edge ([Builtin]). http and https speak
	// HTTP/1.1 (https with HTTP2 set speaks HTTP/2); h2c speaks HTTP/2
	// without TLS (gRPC servers on a private network). Required.
	Upstream string `yaml:"upstream"`

	// HTTP2 makes the edge speak HTTP/2 to an https upstream, for gRPC
	// apps ("http2"); the app must offer h2 in its TLS handshake. Only
	// for https upstreams: h2c is always HTTP/2, http always HTTP/1.1.
	// Absent: false.
	HTTP2 bool `yaml:"http2"`

	// Timeouts are the app's own bounds ("timeouts").
	Timeouts AppTimeouts `yaml:"timeouts"`

	// ForceHTTPS redirects plain HTTP to HTTPS and sends HSTS on HTTPS
	// ("force_https"). Absent: true. When false, requests are proxied on
	// both listeners and no HSTS is sent, unless HSTS.Revoke is set.
	ForceHTTPS bool `yaml:"force_https"`

	// IncludeDevHosts applies Force HTTPS to localhost, *.localhost and
	// IP-address hosts too ("include_dev_hosts"). Absent: false, so that
	// a developer's browser is never pinned to HTTPS for localhost.
	IncludeDevHosts bool `yaml:"include_dev_hosts"`

	// Redirect sets the redirect statuses ("redirect").
	Redirect Redirect `yaml:"redirect"`

	// HSTS is the Strict-Transport-Security policy ("hsts").
	HSTS HSTS `yaml:"hsts"`

	// ExemptPaths are path prefixes served over plain HTTP without
	// redirect, such as health checks ("exempt_paths"). The ACME challenge
	// path is always exempt. Absent: none.
	ExemptPaths []string `yaml:"exempt_paths"`

	// SecurityHeaders opts in to security headers added to the app's
	// responses ("security_headers"). Absent: none added.
	SecurityHeaders SecurityHeaders `yaml:"security_headers"`

	// SecureCookies adds the Secure attribute to cookies the app sets
	// over HTTPS ("secure_cookies"). Absent: false; the edge leaves the
	// app's cookies alone.
	SecureCookies bool `yaml:"secure_cookies"`

	// Respond lists static answers the edge serves itself, without the
	// upstream: health checks, robots.txt, a maintenance text
	// ("respond"). At most 256, each for a different path. Absent: none.
	Respond []Response `yaml:"respond"`
}

// Response is a static answer of the edge to one exact request path.
type Response struct {
	// Path is the request path answered, compared byte for byte with the
	// decoded path of the request (r.URL.Path) ("path"). Required, and
	// unique within the app. It starts with "/", is at most 1024 bytes
	// of printable ASCII without space, "?", "#", "%", backslash or ";",
	// has no empty segment ("//") and no "." or ".." segment, and is not
	// under the ACME challenge path ([forcehttps.ACMEChallengePrefix]),
	// which the certificate manager answers. Percent-encoding is refused
	// because the comparison is made after decoding: "/a%20b" would only
	// match a request for "/a%2520b".
	Path string `yaml:"path"`

	// Status is the response status, 200 to 599 ("status"); 1xx statuses
	// are not final responses. Absent or 0: 200, which [Parse] and [Load]
	// fill in. 204, 205 and 304 require an empty Body.
	Status int `yaml:"status"`

	// Body is the response body, at most 64 KiB ("body"). Absent: empty.
	Body string `yaml:"body"`

	// ContentType is the Content-Type of a non-empty Body
	// ("content_type"): a type/subtype media type, parameters allowed,
	// that [mime.ParseMediaType] accepts, without control characters. It
	// is checked but not sent when Body is empty. Absent or "":
	// [DefaultContentType], which [Parse] and [Load] fill in.
	ContentType string `yaml:"content_type"`
}

// DefaultContentType is the Content-Type of a [Response] that does not
// set one.
const DefaultContentType = "text/plain; charset=utf-8"

// Limits of the static responses of an app.
const (
	maxResponses    = 256
	maxResponsePath = 1024
	maxResponseBody = 64 << 10
	defaultStatus   = 200
)

// Redirect configures the status of redirects to HTTPS.
type Redirect struct {
	// Status is the status for GET and HEAD: 301, 302, 307 or 308
	// ("status"). Absent: 301, or 302 with Temporary.
	Status int `yaml:"status"`
	// UnsafeStatus is the status for other methods: 307 or 308, which keep
	// the method and body, or 403 or 426 to refuse them ("unsafe_status").
	// Absent: 308, or 307 with Temporary.
	UnsafeStatus int `yaml:"unsafe_status"`
	// Temporary makes the default statuses 302 and 307, which browsers do
	// not cache; for trying Force HTTPS out ("temporary"). Absent: false.
	Temporary bool `yaml:"temporary"`
}

// HSTS configures Strict-Transport-Security.
type HSTS struct {
	// MaxAge is max-age in seconds, at least 1 ("max_age"). Absent:
	// 31536000 (one year). To send max-age=0, use Revoke.
	MaxAge int64 `yaml:"max_age"`
	// IncludeSubdomains adds includeSubDomains ("include_subdomains").
	// Absent: false.
	IncludeSubdomains bool `yaml:"include_subdomains"`
	// Preload adds preload; it needs MaxAge ≥ 31536000 and
	// IncludeSubdomains ("preload"). Absent: false.
	Preload bool `yaml:"preload"`
	// Revoke sends max-age=0, which makes browsers forget the policy
	// ("revoke"). It applies with ForceHTTPS false too: that is how Force
	// HTTPS is turned off safely. Absent: false.
	Revoke bool `yaml:"revoke"`
	// RampFrom, when set, ramps max-age up from that time (see
	// forcehttps.Config.HSTSRampFrom). Not a key of the file: the admin
	// API sets it when it enables Force HTTPS with a ramp.
	RampFrom time.Time `yaml:"-"`
	// Disable sends no HSTS at all while still redirecting ("disable").
	// Absent: false.
	Disable bool `yaml:"disable"`
}

// SecurityHeaders configures the security headers the edge adds to an
// app's HTTPS and HTTP responses, only where the app did not set them.
type SecurityHeaders struct {
	// Defaults adds forcehttps.DefaultSecurityHeaders ("defaults").
	// Absent: false.
	Defaults bool `yaml:"defaults"`
	// Headers adds or replaces headers; an empty value removes one of the
	// defaults ("headers"). Strict-Transport-Security is not allowed here.
	// Absent: none.
	Headers map[string]string `yaml:"headers"`
}

// Timeouts are durations written like "10s" or "1m30s". Apart from
// ReadHeader and Shutdown, they bound idle time, not whole exchanges: a
// transfer that makes progress is never cut, however long it lasts (see
// package edge).
type Timeouts struct {
	// ReadHeader bounds reading a request's headers, and the TLS
	// handshake before the first one ("read_header"). Absent: 10s. Must
	// be positive: it is what stops slow-header clients. nginx:
	// client_header_timeout.
	ReadHeader time.Duration `yaml:"read_header"`
	// ClientIdle is the longest the edge waits on a client that sends
	// nothing while it is reading a request body, or takes nothing while
	// a response is being written to it ("client_idle"); every byte
	// renews it. Absent: 60s. Must be positive. nginx:
	// client_body_timeout and send_timeout.
	ClientIdle time.Duration `yaml:"client_idle"`
	// StreamIdle replaces ClientIdle and UpstreamReadIdle for streams:
	// WebSocket tunnels (no byte either way for that long), server-sent
	// events (text/event-stream responses: no event from the app) and
	// gRPC calls ("stream_idle"). Absent: 1h. Must be positive.
	StreamIdle time.Duration `yaml:"stream_idle"`
	// Idle bounds keep-alive connections waiting for the next request
	// ("idle"); 0 means ReadHeader. Absent: 120s. nginx:
	// keepalive_timeout.
	Idle time.Duration `yaml:"idle"`
	// UpstreamDial bounds connecting to an app ("upstream_dial"). Absent:
	// 5s. nginx: proxy_connect_timeout.
	UpstreamDial time.Duration `yaml:"upstream_dial"`
	// UpstreamResponseHeader bounds waiting for an app's response headers
	// once the request is sent ("upstream_response_header"); past it the
	// client gets 504. Absent: 30s.
	UpstreamResponseHeader time.Duration `yaml:"upstream_response_header"`
	// UpstreamReadIdle is the longest an app may send nothing in the
	// middle of a response body, or take nothing of the request body
	// before it answers ("upstream_read_idle"); past it the exchange is
	// cut: a response that started ends abnormally for the client, else
	// the client gets 504. Absent: 60s. Must be positive. nginx:
	// proxy_read_timeout and proxy_send_timeout.
	UpstreamReadIdle time.Duration `yaml:"upstream_read_idle"`
	// Shutdown bounds the draining of in-flight requests at shutdown
	// ("shutdown"). Absent: 20s.
	Shutdown time.Duration `yaml:"shutdown"`
}

// AppTimeouts are an app's own bounds.
type AppTimeouts struct {
	// MaxDuration cuts any exchange with the app, a WebSocket tunnel
	// included, that lasts longer, however much it progresses
	// ("max_duration"); 0 means no cap. Absent: 0.
	MaxDuration time.Duration `yaml:"max_duration"`
}

// Limits bound requests.
type Limits struct {
	// MaxHeaderBytes bounds the request line and headers ("max_header_bytes");
	// larger requests get 431. Absent: 65536.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// MaxBodyBytes bounds request bodies ("max_body_bytes"); larger ones
	// get 413. 0 means no limit. Absent: 0.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// AccessLog configures the access log.
type AccessLog struct {
	// Format is "json" or "text" ("format"). Absent: "json".
	Format string `yaml:"format"`
	// Output is "stderr", "stdout", "off", or a file path, appended to
	// ("output"). Absent: "stderr".
	Output string `yaml:"output"`
}

// Admin configures the administration listener.
type Admin struct {
	// Listen is its address, host:port ("listen"); it serves /metrics.
	// Keep it on loopback or a private network. Absent: no admin listener.
	Listen string `yaml:"listen"`

	// TokenFile holds the bearer token of the admin API and dashboard,
	// surrounding white space trimmed ("token_file"). Absent: a random
	// token is generated at start and written next to the state file.
	TokenFile string `yaml:"token_file"`

	// StateFile is where the admin API keeps the changes it makes to the
	// apps (Force HTTPS, HSTS, redirects), a JSON file written atomically
	// ("state_file"). Absent: the configuration file's path followed by
	// ".state.json"; with the embedded default, changes are not kept.
	StateFile string `yaml:"state_file"`

	// AllowedHosts are extra Host values (host or host:port) the admin
	// listener answers to, besides its own address and localhost
	// ("allowed_hosts"); other hosts are refused, against DNS rebinding.
	// Absent: none.
	AllowedHosts []string `yaml:"allowed_hosts"`

	// PreflightCAFile is a PEM file of CA certificates the preflight of
	// an enable trusts besides the system roots ("preflight_ca_file"),
	// for certificates of a private CA the browsers of the site's users
	// trust. Absent: the system roots, tls.acme.ca_root, and the edge's
	// own self-signed certificate when it covers loopback names only.
	PreflightCAFile string `yaml:"preflight_ca_file"`

	// TLS serves the admin listener over HTTPS with a certificate file
	// pair ("tls"), TLS 1.2 or later; the files are read again when they
	// change. Absent: plain HTTP, allowed on a loopback address only
	// unless InsecurePlainHTTP.
	TLS *AdminTLS `yaml:"tls"`

	// InsecurePlainHTTP allows plain HTTP on an address beyond loopback
	// ("insecure_plain_http"): the bearer token then crosses the network
	// in clear, readable by anyone on the path. Absent: false.
	InsecurePlainHTTP bool `yaml:"insecure_plain_http"`

	// TokensFile holds several named tokens, one "name: token" a line
	// ("tokens_file"), read again within seconds of a change: a removed
	// token stops working, a new one works, without a restart. The name
	// is who the audit log says made a change. Used besides TokenFile,
	// whose token is named "default". Absent: TokenFile's token only.
	TokensFile string `yaml:"tokens_file"`

	// AuditLog is a file the changes made through the API and the
	// dashboard are appended to as JSON lines (mode 0600), besides the
	// log ("audit_log"). Absent: the log only.
	AuditLog string `yaml:"audit_log"`
}

// AdminTLS is the certificate pair of the admin listener.
type AdminTLS struct {
	// CertFile is the PEM certificate chain, leaf first ("cert_file").
	// Required.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key ("key_file"). Required.
	KeyFile string `yaml:"key_file"`
}

// Cluster configures cluster mode: the replicas that name the same
// database are one cluster.
type Cluster struct {
	// Postgres is the connection URL of the database, such as
	// "postgres://forcehttps@db.internal/forcehttps?sslmode=verify-full"
	// ("postgres"). It is never logged. Give it or PostgresFile.
	Postgres string `yaml:"postgres"`

	// PostgresFile is a file holding the connection URL, surrounding
	// white space trimmed, for when the URL carries a password
	// ("postgres_file"). Give it or Postgres.
	PostgresFile string `yaml:"postgres_file"`

	// Replica is this replica's name in logs, metrics, the dashboard and
	// the members table; two live replicas cannot share it ("replica").
	// Letters, digits, '.', '_' and '-', at most 63. Absent: the host
	// name.
	Replica string `yaml:"replica"`

	// MemberTimeout is how long a replica may stay silent before it is
	// shown as gone and its name may be taken by another process
	// ("member_timeout"). Replicas write a heartbeat every sixth of it, at
	// most every 5s. Absent: 30s.
	MemberTimeout time.Duration `yaml:"member_timeout"`

	// Resync is how often the state is read again even without a
	// notification from the database, a backstop for a missed one
	// ("resync"). Absent: 10s.
	Resync time.Duration `yaml:"resync"`
}

// setDefaults fills in the values of absent keys of the cluster block.
func (c *Cluster) setDefaults() {
	c.MemberTimeout = 30 * time.Second
	c.Resync = 10 * time.Second
}

// Builtin is the upstream scheme of handlers built into the edge:
// "builtin:inspector" is the header inspector.
const Builtin = "builtin:"

// BuiltinName returns the name of a builtin upstream ("inspector" for
// "builtin:inspector") and whether the upstream is one.
func (a *App) BuiltinName() (string, bool) {
	if len(a.Upstream) > len(Builtin) && a.Upstream[:len(Builtin)] == Builtin {
		return a.Upstream[len(Builtin):], true
	}
	return "", false
}

// PublicHTTPSPort returns the port redirects point to:
// Listen.HTTPSPublicPort if set, else the port of Listen.HTTPS, or 0 when
// that is 0 (a port chosen by the system, which only the running server
// knows).
func (c *Config) PublicHTTPSPort() int {
	if c.Listen.HTTPSPublicPort != 0 {
		return c.Listen.HTTPSPublicPort
	}
	_, port, err := net.SplitHostPort(c.Listen.HTTPS)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(port)
	return n
}

// setDefaults fills in the values of absent keys.
func (c *Config) setDefaults() {
	c.Listen = Listen{HTTP: ":80", HTTPS: ":443"}
	c.Timeouts = Timeouts{
		ReadHeader:             10 * time.Second,
		ClientIdle:             60 * time.Second,
		StreamIdle:             time.Hour,
		Idle:                   120 * time.Second,
		UpstreamDial:           5 * time.Second,
		UpstreamResponseHeader: 30 * time.Second,
		UpstreamReadIdle:       60 * time.Second,
		Shutdown:               20 * time.Second,
	}
	c.Limits = Limits{MaxHeaderBytes: 64 << 10}
	c.Listen.HTTP2Server = HTTP2Builtin
	c.AccessLog = AccessLog{Format: "json", Output: "stderr"}
}

// normalize replaces the zero values that stand for a default, whether
// the key is absent or written out ("status: 0", `content_type: ""`), with
// that default, so that the edge reads the values it sends.
func (c *Config) normalize() {
	if c.Listen.HTTP2Server == "" {
		c.Listen.HTTP2Server = HTTP2Builtin
	}
	for i := range c.Apps {
		for j := range c.Apps[i].Respond {
			r := &c.Apps[i].Respond[j]
			if r.Status == 0 {
				r.Status = defaultStatus
			}
			if r.ContentType == "" {
				r.ContentType = DefaultContentType
			}
		}
	}
}

// setDefaults fills in the values of absent keys of an app.
func (a *App) setDefaults() {
	a.ForceHTTPS = true
	a.HSTS.MaxAge = 31536000
}

// setDefaults fills in the values of absent keys of the ACME block.
func (a *ACME) setDefaults() {
	a.Directory = LetsEncrypt
	a.Challenges = Challenges{HTTP: true, TLSALPN: true}
	a.OnDemandOrdersPerHour = 50
	a.OnDemandTimeout = 8 * time.Second
}

// defaulter is implemented by the types whose zero value is not their
// default; the decoder calls it on every new value before filling it.
type defaulter interface{ setDefaults() }

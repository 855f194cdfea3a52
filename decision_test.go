package forcehttps

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// outcome is the part of a Decision the tables check.
type outcome struct {
	Secure   bool
	Source   Reason
	Action   Action
	Reason   Reason
	Status   int
	Location string
	HSTS     string
}

func outcomeOf(d Decision) outcome {
	return outcome{d.Secure, d.Source, d.Action, d.Reason, d.Status, d.Location, d.HSTS}
}

const year = "max-age=31536000"

// Shorthands for the common outcomes.
var (
	served       = outcome{Secure: true, Source: ReasonTLS, Action: Serve, Reason: ReasonSecure, HSTS: year}
	proxyServed  = outcome{Secure: true, Source: "trusted-proxy:x-forwarded-proto", Action: Serve, Reason: ReasonSecure, HSTS: year}
	redirectRoot = outcome{Source: ReasonPlainHTTP, Action: Redirect, Reason: ReasonRedirect, Status: 301, Location: "https://example.com/"}
)

func redirectTo(loc string, status int) outcome {
	return outcome{Source: ReasonPlainHTTP, Action: Redirect, Reason: ReasonRedirect, Status: status, Location: loc}
}

func refused(source, reason Reason, status int) outcome {
	return outcome{Source: source, Action: Refuse, Reason: reason, Status: status}
}

func TestCheckScheme(t *testing.T) {
	t.Parallel()
	proxies := Config{AllowedHosts: hosts, TrustedProxies: []string{"10.0.0.0/8", "fd00::/8"}}
	forwardedOnly := proxies
	forwardedOnly.ProtoHeaders = []string{"forwarded"}
	xfssl := proxies
	xfssl.ProtoHeaders = []string{"X-Forwarded-SSL"}
	untrustedXFP := redirectRoot
	untrustedXFP.Source = ReasonUntrustedPeer
	fromProxy := func(o outcome, src Reason) outcome { o.Source = src; return o }

	tests := []struct {
		name string
		cfg  Config
		req  request
		want outcome
	}{
		{"direct TLS", Config{AllowedHosts: hosts}, request{tls: true}, served},
		{"plain HTTP", Config{AllowedHosts: hosts}, request{}, redirectRoot},
		{"untrusted peer claims https", Config{AllowedHosts: hosts}, request{header: []string{"X-Forwarded-Proto", "https"}}, untrustedXFP},
		{"untrusted peer with trusted ranges", proxies, request{remote: "198.51.100.1:5", header: []string{"X-Forwarded-Proto", "https"}}, untrustedXFP},
		{"untrusted peer Forwarded", proxies, request{header: []string{"Forwarded", "proto=https"}}, untrustedXFP},
		{"trusted IPv4 peer https", proxies, request{remote: "10.1.2.3:443", header: []string{"X-Forwarded-Proto", "https"}}, proxyServed},
		{"trusted peer http", proxies, request{remote: "10.1.2.3:443", header: []string{"X-Forwarded-Proto", "http"}}, fromProxy(redirectRoot, "trusted-proxy:x-forwarded-proto")},
		{"trusted peer, no header", proxies, request{remote: "10.1.2.3:443"}, redirectRoot},
		{"trusted IPv6 peer", proxies, request{remote: "[fd00::1]:443", header: []string{"X-Forwarded-Proto", "https"}}, proxyServed},
		{"untrusted IPv6 peer", proxies, request{remote: "[2001:db8::9]:443", header: []string{"X-Forwarded-Proto", "https"}}, untrustedXFP},
		{"IPv4-mapped trusted peer", proxies, request{remote: "[::ffff:10.1.2.3]:443", header: []string{"X-Forwarded-Proto", "https"}}, proxyServed},
		{"peer without port", proxies, request{remote: "10.1.2.3", header: []string{"X-Forwarded-Proto", "https"}}, proxyServed},
		{"unix socket peer", proxies, request{remote: "@", header: []string{"X-Forwarded-Proto", "https"}}, untrustedXFP},
		{"mixed case value", proxies, request{remote: "10.1.2.3:1", header: []string{"X-Forwarded-Proto", "HTTPS"}}, proxyServed},
		{"wss folds to https", proxies, request{remote: "10.1.2.3:1", header: []string{"X-Forwarded-Proto", "wss"}}, proxyServed},
		{"ws folds to http", proxies, request{remote: "10.1.2.3:1", header: []string{"X-Forwarded-Proto", "ws"}}, fromProxy(redirectRoot, "trusted-proxy:x-forwarded-proto")},
		{"client-sent https before proxy's http", proxies, request{remote: "10.1.2.3:1", header: []string{
			"X-Forwarded-Proto", "https, http", "X-Forwarded-For", "198.51.100.7"}}, fromProxy(redirectRoot, "trusted-proxy:x-forwarded-proto")},
		{"list stepping over trusted CDN hop", proxies, request{remote: "10.1.2.3:1", header: []string{
			"X-Forwarded-Proto", "https, http", "X-Forwarded-For", "198.51.100.7, 10.9.9.9"}}, proxyServed},
		{"repeated lines merged", proxies, request{remote: "10.1.2.3:1", header: []string{
			"X-Forwarded-Proto", "https", "X-Forwarded-Proto", "http", "X-Forwarded-For", "198.51.100.7"}}, fromProxy(redirectRoot, "trusted-proxy:x-forwarded-proto")},
		{"repeated lines stepping", proxies, request{remote: "10.1.2.3:1", header: []string{
			"X-Forwarded-Proto", "https", "X-Forwarded-Proto", "http", "X-Forwarded-For", "198.51.100.7", "X-Forwarded-For", "10.9.9.9"}}, proxyServed},
		{"spaces around list members", proxies, request{remote: "10.1.2.3:1", header: []string{"X-Forwarded-Proto", " http ,\thttps "}}, proxyServed},
		{"empty value", proxies, request{remote: "10.1.2.3:1", header: []string{"X-Forwarded-Proto", ""}}, refused(ReasonProxyMalformed, ReasonProxyMalformed, 400)},
		{"trailing empty member", proxies, request{remote: "10.1.2.3:1", header: []string{"X-Forwarded-Proto", "https,"}}, refused(ReasonProxyMalformed, ReasonProxyMalformed, 400)},
		{"unknown scheme", proxies, request{remote: "10.1.2.3:1", header: []string{"X-Forwarded-Proto", "ftp"}}, refused(ReasonProxyMalformed, ReasonProxyMalformed, 400)},
		{"quoted value is not a scheme", proxies, request{remote: "10.1.2.3:1", header: []string{"X-Forwarded-Proto", `"https"`}}, refused(ReasonProxyMalformed, ReasonProxyMalformed, 400)},
		{"Forwarded https", forwardedOnly, request{remote: "10.1.2.3:1", header: []string{"Forwarded", "for=198.51.100.7;proto=https"}},
			fromProxy(proxyServed, "trusted-proxy:forwarded")},
		{"Forwarded mixed-case names", forwardedOnly, request{remote: "10.1.2.3:1", header: []string{"Forwarded", "For=198.51.100.7;PROTO=HTTPS"}},
			fromProxy(proxyServed, "trusted-proxy:forwarded")},
		{"Forwarded quoted IPv6", forwardedOnly, request{remote: "10.1.2.3:1", header: []string{"Forwarded", `for="[2001:db8:cafe::17]:4711";proto=https`}},
			fromProxy(proxyServed, "trusted-proxy:forwarded")},
		{"Forwarded obfuscated node", forwardedOnly, request{remote: "10.1.2.3:1", header: []string{"Forwarded", "for=_hidden;proto=https"}},
			fromProxy(proxyServed, "trusted-proxy:forwarded")},
		{"Forwarded unknown node", forwardedOnly, request{remote: "10.1.2.3:1", header: []string{"Forwarded", "for=unknown;proto=http"}}, fromProxy(redirectRoot, "trusted-proxy:forwarded")},
		{"Forwarded steps over trusted hop", forwardedOnly, request{remote: "10.1.2.3:1", header: []string{
			"Forwarded", "for=198.51.100.7;proto=https, for=10.0.0.9;proto=http"}}, fromProxy(proxyServed, "trusted-proxy:forwarded")},
		{"Forwarded does not step over client", forwardedOnly, request{remote: "10.1.2.3:1", header: []string{
			"Forwarded", "for=10.0.0.9;proto=https, for=198.51.100.7;proto=http"}}, fromProxy(redirectRoot, "trusted-proxy:forwarded")},
		{"Forwarded two lines", forwardedOnly, request{remote: "10.1.2.3:1", header: []string{
			"Forwarded", "for=198.51.100.7;proto=https", "Forwarded", "for=10.0.0.9;proto=http"}}, fromProxy(proxyServed, "trusted-proxy:forwarded")},
		{"Forwarded without proto", forwardedOnly, request{remote: "10.1.2.3:1", header: []string{"Forwarded", "for=198.51.100.7"}}, redirectRoot},
		{"Forwarded semicolon smuggled in quotes", forwardedOnly, request{remote: "10.1.2.3:1", header: []string{"Forwarded", `for="198.51.100.7;proto=https"`}},
			refused(ReasonProxyMalformed, ReasonProxyMalformed, 400)},
		{"Forwarded duplicate proto", forwardedOnly, request{remote: "10.1.2.3:1", header: []string{"Forwarded", "proto=http;proto=https"}},
			refused(ReasonProxyMalformed, ReasonProxyMalformed, 400)},
		{"Forwarded unquoted IPv6", forwardedOnly, request{remote: "10.1.2.3:1", header: []string{"Forwarded", "for=2001:db8::1;proto=https"}},
			refused(ReasonProxyMalformed, ReasonProxyMalformed, 400)},
		{"headers agree", proxies, request{remote: "10.1.2.3:1", header: []string{"X-Forwarded-Proto", "https", "Forwarded", "proto=https"}}, proxyServed},
		{"headers conflict", proxies, request{remote: "10.1.2.3:1", header: []string{"X-Forwarded-Proto", "http", "Forwarded", "proto=https"}},
			refused(ReasonProxyConflict, ReasonProxyConflict, 400)},
		{"X-Forwarded-Ssl on", xfssl, request{remote: "10.1.2.3:1", header: []string{"X-Forwarded-Ssl", "On"}}, fromProxy(proxyServed, "trusted-proxy:x-forwarded-ssl")},
		{"X-Forwarded-Ssl off", xfssl, request{remote: "10.1.2.3:1", header: []string{"X-Forwarded-Ssl", "off"}}, fromProxy(redirectRoot, "trusted-proxy:x-forwarded-ssl")},
		{"X-Forwarded-Ssl junk", xfssl, request{remote: "10.1.2.3:1", header: []string{"X-Forwarded-Ssl", "yes"}}, refused(ReasonProxyMalformed, ReasonProxyMalformed, 400)},
		{"cloudfront", Config{Trust: PresetCloudFront, TrustedProxies: []string{"130.176.0.0/16"}, AllowedHosts: hosts},
			request{remote: "130.176.1.1:1", header: []string{"CloudFront-Forwarded-Proto", "https"}}, fromProxy(proxyServed, "trusted-proxy:cloudfront-forwarded-proto")},
		{"cloudflare visitor", Config{Trust: PresetCloudflare, AllowedHosts: hosts},
			request{remote: "173.245.48.5:1", header: []string{"CF-Visitor", `{"scheme":"https"}`}}, fromProxy(proxyServed, "trusted-proxy:cf-visitor")},
		{"cloudflare visitor junk", Config{Trust: PresetCloudflare, AllowedHosts: hosts},
			request{remote: "173.245.48.5:1", header: []string{"CF-Visitor", `{"scheme":`}}, refused(ReasonProxyMalformed, ReasonProxyMalformed, 400)},
		{"cloudflare from elsewhere", Config{Trust: PresetCloudflare, AllowedHosts: hosts},
			request{remote: "198.51.100.1:1", header: []string{"CF-Visitor", `{"scheme":"https"}`}}, untrustedXFP},
		{"azure ARR", Config{Trust: PresetAzure, AllowedHosts: hosts},
			request{header: []string{"X-ARR-SSL", "2048|256|CN=issuer|CN=site"}}, fromProxy(proxyServed, "trusted-proxy:x-arr-ssl")},
		{"azure plain", Config{Trust: PresetAzure, AllowedHosts: hosts},
			request{header: []string{"X-Forwarded-Proto", "http"}}, fromProxy(redirectRoot, "trusted-proxy:x-forwarded-proto")},
		{"cloudrun any peer", Config{Trust: PresetCloudRun, AllowedHosts: hosts},
			request{remote: "169.254.1.1:1", header: []string{"X-Forwarded-Proto", "https"}}, proxyServed},
		{"heroku http", Config{Trust: PresetHeroku, AllowedHosts: hosts},
			request{header: []string{"X-Forwarded-Proto", "http"}}, fromProxy(redirectRoot, "trusted-proxy:x-forwarded-proto")},
		{"aws-alb private peer", Config{Trust: PresetAWSALB, AllowedHosts: hosts},
			request{remote: "172.31.5.5:1", header: []string{"X-Forwarded-Proto", "https"}}, proxyServed},
		{"aws-alb public peer", Config{Trust: PresetAWSALB, AllowedHosts: hosts},
			request{remote: "198.51.100.1:1", header: []string{"X-Forwarded-Proto", "https"}}, untrustedXFP},
		{"loop: proxy says http over TLS", proxies, request{tls: true, remote: "10.1.2.3:1", header: []string{"X-Forwarded-Proto", "http"}},
			refused("trusted-proxy:x-forwarded-proto", ReasonLoop, 508)},
		{"TLS and proxy agree", proxies, request{tls: true, remote: "10.1.2.3:1", header: []string{"X-Forwarded-Proto", "https"}}, proxyServed},
		{"TLS wins over untrusted claim", proxies, request{tls: true, header: []string{"X-Forwarded-Proto", "http"}}, served},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := mustNew(t, tt.cfg)
			got := outcomeOf(m.Check(tt.req.build(t)))
			if got.Action != Redirect && tt.want.Location == "" {
				got.Location = ""
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Check() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckRedirect(t *testing.T) {
	t.Parallel()
	base := Config{AllowedHosts: hosts}
	with := func(f func(*Config)) Config { c := base; f(&c); return c }
	dev := with(func(c *Config) { c.IncludeDevHosts = true; c.AllowedHosts = append(c.AllowedHosts, "localhost") })
	exempt := with(func(c *Config) {
		c.ExemptPaths = []string{"/healthz", "/status/"}
		c.ExemptUserAgents = []string{"kube-probe/", "GoogleHC/"}
		c.ExemptLoopback = true
	})
	serve := func(r Reason) outcome { return outcome{Source: ReasonPlainHTTP, Action: Serve, Reason: r} }

	tests := []struct {
		name string
		cfg  Config
		req  request
		want outcome
	}{
		{"path and query kept", base, request{target: "/cart?id=7&x=%2F%E2%9C%93&y=a+b"}, redirectTo("https://example.com/cart?id=7&x=%2F%E2%9C%93&y=a+b", 301)},
		{"encoded slash kept", base, request{target: "/a%2Fb/c"}, redirectTo("https://example.com/a%2Fb/c", 301)},
		{"double-slash path stays on host", base, request{target: "//evil.com/x"}, redirectTo("https://example.com//evil.com/x", 301)},
		{"backslash path stays on host", base, request{target: `/\evil.com`}, redirectTo("https://example.com/%5Cevil.com", 301)},
		{"port dropped", base, request{host: "example.com:8080"}, redirectRoot},
		{"port :80 dropped", base, request{host: "example.com:80"}, redirectRoot},
		{"empty port", base, request{host: "example.com:"}, redirectRoot},
		{"configured https port", with(func(c *Config) { c.HTTPSPort = 8443 }), request{host: "example.com:8080"}, redirectTo("https://example.com:8443/", 301)},
		{"port 443 omitted", with(func(c *Config) { c.HTTPSPort = 443 }), request{}, redirectRoot},
		{"trailing dot", base, request{host: "example.com."}, redirectRoot},
		{"upper case", base, request{host: "EXAMPLE.Com"}, redirectRoot},
		{"wildcard", base, request{host: "Shop.Example.com:80", target: "/p"}, redirectTo("https://shop.example.com/p", 301)},
		{"wildcard is one label", base, request{host: "a.b.example.com"}, refused(ReasonPlainHTTP, ReasonUnknownHost, 400)},
		{"unknown host", base, request{host: "evil.com"}, refused(ReasonPlainHTTP, ReasonUnknownHost, 400)},
		{"suffix trick", base, request{host: "example.com.evil.com"}, refused(ReasonPlainHTTP, ReasonUnknownHost, 400)},
		{"prefix trick", base, request{host: "evilexample.com"}, refused(ReasonPlainHTTP, ReasonUnknownHost, 400)},
		{"punycode", base, request{host: "xn--bcher-kva.example"}, redirectTo("https://xn--bcher-kva.example/", 301)},
		{"punycode upper case", base, request{host: "XN--BCHER-KVA.example"}, redirectTo("https://xn--bcher-kva.example/", 301)},
		{"unicode host", base, request{host: "bücher.example"}, redirectTo("https://xn--bcher-kva.example/", 301)},
		{"bad punycode", base, request{host: "xn--.example"}, refused(ReasonPlainHTTP, ReasonInvalidHost, 400)},
		{"IPv6 literal", dev, request{host: "[2001:db8::1]:8080"}, redirectTo("https://[2001:db8::1]/", 301)},
		{"IPv6 literal with https port", with(func(c *Config) { c.IncludeDevHosts = true; c.HTTPSPort = 8443 }), request{host: "[2001:DB8:0::1]"}, redirectTo("https://[2001:db8::1]:8443/", 301)},
		{"IPv4 literal", dev, request{host: "192.0.2.10:80"}, redirectTo("https://192.0.2.10/", 301)},
		{"IPv6 unbracketed", dev, request{host: "2001:db8::1"}, refused(ReasonPlainHTTP, ReasonInvalidHost, 400)},
		{"IPv6 zone", dev, request{host: "[fe80::1%25eth0]"}, refused(ReasonPlainHTTP, ReasonInvalidHost, 400)},
		{"bad port", base, request{host: "example.com:99999"}, refused(ReasonPlainHTTP, ReasonInvalidHost, 400)},
		{"non-numeric port", base, request{host: "example.com:8o"}, refused(ReasonPlainHTTP, ReasonInvalidHost, 400)},
		{"userinfo in host", base, request{host: "evil.com@example.com"}, refused(ReasonPlainHTTP, ReasonInvalidHost, 400)},
		{"slash in host", base, request{host: "example.com/evil"}, refused(ReasonPlainHTTP, ReasonInvalidHost, 400)},
		{"empty host", base, request{host: ":80"}, refused(ReasonPlainHTTP, ReasonInvalidHost, 400)},
		{"numeric-looking name", base, request{host: "1.2.3"}, refused(ReasonPlainHTTP, ReasonInvalidHost, 400)},
		{"absolute-form target", base, request{target: "http://example.com/p?q=1", host: "example.com"}, redirectTo("https://example.com/p?q=1", 301)},
		{"absolute-form to another host", base, request{target: "http://evil.com/p"}, refused(ReasonPlainHTTP, ReasonUnknownHost, 400)},
		{"OPTIONS *", base, request{method: "OPTIONS", target: "*"}, redirectTo("https://example.com/", 308)},
		{"HEAD", base, request{method: "HEAD"}, redirectRoot},
		{"POST", base, request{method: "POST", target: "/form"}, redirectTo("https://example.com/form", 308)},
		{"PUT", base, request{method: "PUT"}, redirectTo("https://example.com/", 308)},
		{"PATCH", base, request{method: "PATCH"}, redirectTo("https://example.com/", 308)},
		{"DELETE", base, request{method: "DELETE"}, redirectTo("https://example.com/", 308)},
		{"OPTIONS", base, request{method: "OPTIONS"}, redirectTo("https://example.com/", 308)},
		{"TRACE", base, request{method: "TRACE"}, redirectTo("https://example.com/", 308)},
		{"extension method", base, request{method: "PROPFIND"}, redirectTo("https://example.com/", 308)},
		{"temporary GET", with(func(c *Config) { c.Temporary = true }), request{}, redirectTo("https://example.com/", 302)},
		{"temporary POST", with(func(c *Config) { c.Temporary = true }), request{method: "POST"}, redirectTo("https://example.com/", 307)},
		{"308 for GET", with(func(c *Config) { c.RedirectStatus = 308 }), request{}, redirectTo("https://example.com/", 308)},
		{"307 for GET", with(func(c *Config) { c.RedirectStatus = 307 }), request{method: "HEAD"}, redirectTo("https://example.com/", 307)},
		{"unsafe refused 403", with(func(c *Config) { c.UnsafeMethodStatus = 403 }), request{method: "POST"}, refused(ReasonPlainHTTP, ReasonRefusedMethod, 403)},
		{"unsafe refused 426", with(func(c *Config) { c.UnsafeMethodStatus = 426 }), request{method: "DELETE"}, refused(ReasonPlainHTTP, ReasonRefusedMethod, 426)},
		{"GET not refused", with(func(c *Config) { c.UnsafeMethodStatus = 403 }), request{}, redirectRoot},
		{"credentials: Authorization", with(func(c *Config) { c.RefuseCredentialsStatus = 403 }),
			request{method: "POST", header: []string{"Authorization", "Bearer x"}}, refused(ReasonPlainHTTP, ReasonCredentials, 403)},
		{"credentials: cookie", with(func(c *Config) { c.RefuseCredentialsStatus = 426 }),
			request{method: "PUT", header: []string{"Cookie", "sid=1"}}, refused(ReasonPlainHTTP, ReasonCredentials, 426)},
		{"credentials: GET still redirected", with(func(c *Config) { c.RefuseCredentialsStatus = 403 }),
			request{header: []string{"Cookie", "sid=1"}}, redirectRoot},
		{"credentials: off by default", base, request{method: "POST", header: []string{"Authorization", "Bearer x"}}, redirectTo("https://example.com/", 308)},
		{"websocket", base, request{header: []string{"Connection", "keep-alive, Upgrade", "Upgrade", "websocket"}}, refused(ReasonPlainHTTP, ReasonWebSocket, 403)},
		{"soft: no header", with(func(c *Config) { c.SoftUpgrade = true }), request{}, serve(ReasonSoftNoUpgrade)},
		{"soft: upgrade", with(func(c *Config) { c.SoftUpgrade = true }), request{header: []string{"Upgrade-Insecure-Requests", "1"}}, redirectRoot},
		{"ACME exempt", base, request{host: "unknown.test", target: "/.well-known/acme-challenge/tok_EN-1"}, serve(ReasonExemptACME)},
		{"ACME exemption off", with(func(c *Config) { c.DisableACMEExemption = true }),
			request{target: "/.well-known/acme-challenge/tok"}, redirectTo("https://example.com/.well-known/acme-challenge/tok", 301)},
		{"ACME dot segments", base, request{target: "/.well-known/acme-challenge/../../admin"}, redirectTo("https://example.com/.well-known/acme-challenge/../../admin", 301)},
		{"exempt path", exempt, request{target: "/healthz"}, serve(ReasonExemptPath)},
		{"exempt path below", exempt, request{target: "/healthz/db", host: "10.0.0.7:8080"}, serve(ReasonExemptPath)},
		{"exempt prefix with slash", exempt, request{target: "/status/x"}, serve(ReasonExemptPath)},
		{"not a segment match", exempt, request{target: "/healthzx"}, redirectTo("https://example.com/healthzx", 301)},
		{"dot segments not exempt", exempt, request{target: "/healthz/../admin"}, redirectTo("https://example.com/healthz/../admin", 301)},
		{"double slash not exempt", exempt, request{target: "/healthz//admin"}, redirectTo("https://example.com/healthz//admin", 301)},
		{"probe user agent", exempt, request{header: []string{"User-Agent", "kube-probe/1.31"}}, serve(ReasonExemptUserAgent)},
		{"other user agent", exempt, request{header: []string{"User-Agent", "Mozilla/5.0 kube-probe/1.31"}}, redirectRoot},
		{"loopback peer", exempt, request{remote: "127.0.0.1:5555"}, serve(ReasonExemptLoopback)},
		{"loopback IPv6 peer", exempt, request{remote: "[::1]:5555"}, serve(ReasonExemptLoopback)},
		{"loopback not exempt by default", base, request{remote: "127.0.0.1:5555"}, redirectRoot},
		{"localhost", base, request{host: "localhost:8080"}, serve(ReasonDevHost)},
		{"sub.localhost", base, request{host: "app.LOCALHOST."}, serve(ReasonDevHost)},
		{"IPv4 literal is dev", base, request{host: "127.0.0.1:8080"}, serve(ReasonDevHost)},
		{"IPv6 literal is dev", base, request{host: "[::1]:8080"}, serve(ReasonDevHost)},
		{"localhost forced", dev, request{host: "localhost:8080", target: "/headers"}, redirectTo("https://localhost/headers", 301)},
		{"no hosts configured", Config{}, request{}, refused(ReasonPlainHTTP, ReasonUnknownHost, 400)},
		{"any host", Config{AllowAnyHost: true}, request{host: "Whatever.Test:81"}, redirectTo("https://whatever.test/", 301)},
		{"any host still validated", Config{AllowAnyHost: true}, request{host: "a b"}, refused(ReasonPlainHTTP, ReasonInvalidHost, 400)},
		{"redirect disabled", with(func(c *Config) { c.DisableRedirect = true }), request{}, serve(ReasonRedirectOff)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := mustNew(t, tt.cfg)
			got := outcomeOf(m.Check(tt.req.build(t)))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Check() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckHSTS(t *testing.T) {
	t.Parallel()
	enabled := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) func() time.Time { return func() time.Time { return enabled.Add(d) } }
	tests := []struct {
		name string
		cfg  Config
		req  request
		want string
	}{
		{"default", Config{}, request{tls: true}, year},
		{"plain HTTP gets none", Config{AllowAnyHost: true}, request{}, ""},
		{"exempt plain HTTP gets none", Config{}, request{target: "/.well-known/acme-challenge/x"}, ""},
		{"localhost gets none", Config{}, request{tls: true, host: "localhost:8443"}, ""},
		{"IP literal gets none", Config{}, request{tls: true, host: "[2001:db8::1]"}, ""},
		{"localhost forced", Config{IncludeDevHosts: true}, request{tls: true, host: "localhost:8443"}, year},
		{"invalid host still gets it", Config{}, request{tls: true, host: "bad host"}, year},
		{"two years", Config{HSTSMaxAge: 2 * DefaultHSTSMaxAge}, request{tls: true}, "max-age=63072000"},
		{"subdomains", Config{HSTSIncludeSubDomains: true}, request{tls: true}, year + "; includeSubDomains"},
		{"preload", Config{HSTSIncludeSubDomains: true, HSTSPreload: true}, request{tls: true}, year + "; includeSubDomains; preload"},
		{"revoke", Config{HSTSRevoke: true}, request{tls: true}, "max-age=0"},
		{"disabled", Config{DisableHSTS: true}, request{tls: true}, ""},
		{"ramp first hour", Config{HSTSRampFrom: enabled, Now: at(time.Hour)}, request{tls: true}, "max-age=300"},
		{"ramp day 2", Config{HSTSRampFrom: enabled, Now: at(25 * time.Hour)}, request{tls: true}, "max-age=604800"},
		{"ramp day 9", Config{HSTSRampFrom: enabled, HSTSIncludeSubDomains: true, HSTSPreload: true, Now: at(9 * 24 * time.Hour)},
			request{tls: true}, "max-age=2592000; includeSubDomains"},
		{"ramp done", Config{HSTSRampFrom: enabled, HSTSIncludeSubDomains: true, HSTSPreload: true, Now: at(40 * 24 * time.Hour)},
			request{tls: true}, year + "; includeSubDomains; preload"},
		{"ramp never exceeds target", Config{HSTSRampFrom: enabled, HSTSMaxAge: 600 * time.Second, Now: at(3 * 24 * time.Hour)}, request{tls: true}, "max-age=600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := mustNew(t, tt.cfg)
			if got := m.Check(tt.req.build(t)).HSTS; got != tt.want {
				t.Errorf("Check().HSTS = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckClientIP(t *testing.T) {
	t.Parallel()
	m := mustNew(t, Config{AllowedHosts: hosts, TrustedProxies: []string{"10.0.0.0/8"}})
	cr := mustNew(t, Config{AllowedHosts: hosts, Trust: PresetCloudRun})
	tests := []struct {
		name string
		m    *Middleware
		req  request
		want string
	}{
		{"direct client", m, request{remote: "198.51.100.1:1", header: []string{"X-Forwarded-For", "1.2.3.4"}}, "198.51.100.1"},
		{"via trusted proxy", m, request{remote: "10.0.0.1:1", header: []string{"X-Forwarded-Proto", "https", "X-Forwarded-For", "6.6.6.6, 198.51.100.2, 10.0.0.3"}}, "198.51.100.2"},
		{"via Forwarded", m, request{remote: "10.0.0.1:1", header: []string{"Forwarded", `for="[2001:db8::7]:1";proto=https`}}, "2001:db8::7"},
		{"any-peer preset takes rightmost", cr, request{remote: "169.254.8.1:1", header: []string{"X-Forwarded-Proto", "https", "X-Forwarded-For", "6.6.6.6, 198.51.100.3"}}, "198.51.100.3"},
		{"garbage XFF falls back to peer", m, request{remote: "10.0.0.1:1", header: []string{"X-Forwarded-Proto", "https", "X-Forwarded-For", "nope"}}, "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.m.Check(tt.req.build(t)).ClientIP.String(); got != tt.want {
				t.Errorf("ClientIP = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestCheckDoesNotMutate checks that Check leaves the request as it was.
func TestCheckDoesNotMutate(t *testing.T) {
	t.Parallel()
	m := mustNew(t, Config{AllowedHosts: hosts, TrustedProxies: []string{"10.0.0.0/8"}})
	r := request{target: "/a%2Fb?x=1", host: "EXAMPLE.com:8080", remote: "10.0.0.1:9", header: []string{"X-Forwarded-Proto", "http"}}.build(t)
	before := r.Clone(r.Context())
	m.Check(r)
	if r.Host != before.Host || r.URL.String() != before.URL.String() || r.RemoteAddr != before.RemoteAddr || !cmp.Equal(r.Header, before.Header) {
		t.Errorf("Check changed the request: %v %v", r.Host, r.URL)
	}
}

func TestActionString(t *testing.T) {
	t.Parallel()
	for a, want := range map[Action]string{Serve: "serve", Redirect: "redirect", Refuse: "refuse", 9: "unknown"} {
		if got := a.String(); got != want {
			t.Errorf("Action(%d).String() = %q, want %q", a, got, want)
		}
	}
}

var _ = http.MethodGet

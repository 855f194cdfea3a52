package audit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps"
	"github.com/forcehttps/forcehttps/internal/testutil"
)

// ports are a test site's listening ports, for handlers that redirect.
type ports struct{ https, http int }

func (p ports) httpsURL(host, path string) string {
	return "https://" + net.JoinHostPort(host, strconv.Itoa(p.https)) + path
}

func (p ports) httpURL(host, path string) string {
	return "http://" + net.JoinHostPort(host, strconv.Itoa(p.http)) + path
}

// build adapts a ports-based builder to siteSpec.build.
func build(f func(p ports) (https, http http.Handler)) func(int, int) (http.Handler, http.Handler) {
	return func(httpsPort, httpPort int) (http.Handler, http.Handler) {
		return f(ports{https: httpsPort, http: httpPort})
	}
}

// middleware returns forcehttps' handler for cfg (AllowedHosts and
// HTTPSPort filled in) in front of next.
func middleware(t testing.TB, cfg forcehttps.Config, httpsPort int, next http.Handler) http.Handler {
	t.Helper()
	if cfg.AllowedHosts == nil {
		cfg.AllowedHosts = []string{"example.test"}
	}
	cfg.HTTPSPort = httpsPort
	cfg.Logger = slog.New(slog.DiscardHandler)
	m, err := forcehttps.New(cfg)
	if err != nil {
		t.Fatalf("forcehttps.New: %v", err)
	}
	return m.Handler(next)
}

// defaultsSite is a site configured with forcehttps' defaults: the
// middleware on both the HTTPS and the plain-HTTP listener.
func defaultsSite(t testing.TB) siteSpec {
	return siteSpec{build: build(func(p ports) (http.Handler, http.Handler) {
		h := middleware(t, forcehttps.Config{}, p.https, hello)
		return h, h
	})}
}

// page returns a handler that sends forcehttps' default security headers
// and a one-year HSTS, changed by mod.
func page(mod func(h http.Header)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range forcehttps.DefaultSecurityHeaders() {
			h[k] = v
		}
		h.Set("Strict-Transport-Security", "max-age=31536000")
		if mod != nil {
			mod(h)
		}
		io.WriteString(w, "hello\n")
	})
}

// withRedirect is a site whose plain-HTTP listener redirects to the HTTPS
// page, which mod changes.
func withRedirect(mod func(h http.Header)) siteSpec {
	return siteSpec{build: build(func(p ports) (http.Handler, http.Handler) {
		return page(mod), redirectTo(http.StatusMovedPermanently, p.httpsURL("example.test", "/"))
	})}
}

// checkIDs fails unless every ID of want is among the report's findings
// and none of not is.
func checkIDs(t *testing.T, rep *Report, want, not []string) {
	t.Helper()
	got := findIDs(rep)
	var ids []string
	for _, f := range rep.Findings {
		ids = append(ids, f.ID)
	}
	for _, id := range want {
		if _, ok := got[id]; !ok {
			t.Errorf("finding %q missing; got %v", id, ids)
		}
	}
	for _, id := range not {
		if _, ok := got[id]; ok {
			t.Errorf("finding %q present, want it absent: %s", id, got[id].Message)
		}
	}
}

func TestGradeDefaultsAndHelloWorld(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		spec      siteSpec
		atLeast   Grade // the grade must be this or better
		atMost    Grade // and this or worse
		wantScore int
	}{
		{"forcehttps defaults", defaultsSite(t), GradeA, GradeAPlus, 125},
		{"hello world, https only", siteSpec{https: hello}, GradeF, GradeF, 20},
		{"hello world, http and https", siteSpec{https: hello, http: hello}, GradeF, GradeF, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep := serve(t, tt.spec).run(t)
			if !rep.Grade.AtLeast(tt.atLeast) || !tt.atMost.AtLeast(rep.Grade) || rep.Score != tt.wantScore {
				var b strings.Builder
				WriteText(&b, rep, false)
				t.Errorf("grade %s score %d, want between %s and %s with score %d\n%s", rep.Grade, rep.Score, tt.atMost, tt.atLeast, tt.wantScore, b.String())
			}
		})
	}
}

func TestRunRedirects(t *testing.T) {
	t.Parallel()
	ok := page(nil)
	dead := closedPort(t)
	tests := []struct {
		name      string
		build     func(p ports) (https, http http.Handler)
		want, not []string
	}{
		{
			name: "permanent redirect to the same host",
			build: func(p ports) (http.Handler, http.Handler) {
				return ok, redirectTo(http.StatusMovedPermanently, p.httpsURL("example.test", "/"))
			},
			want: []string{"redirect-ok"},
			not:  []string{"redirect-temporary", "redirect-308", "redirect-missing"},
		},
		{
			name: "no redirect",
			build: func(p ports) (http.Handler, http.Handler) {
				return ok, hello
			},
			want: []string{"redirect-missing"},
			not:  []string{"redirect-ok"},
		},
		{
			name: "off-host first hop",
			build: func(p ports) (http.Handler, http.Handler) {
				return ok, redirectTo(http.StatusMovedPermanently, p.httpsURL("www.example.test", "/"))
			},
			want: []string{"redirect-off-host"},
		},
		{
			name: "first hop to plain HTTP",
			build: func(p ports) (http.Handler, http.Handler) {
				return ok, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Host == "www.example.test:"+strconv.Itoa(p.http) {
						http.Redirect(w, r, p.httpsURL("www.example.test", "/"), http.StatusMovedPermanently)
						return
					}
					http.Redirect(w, r, p.httpURL("www.example.test", "/"), http.StatusMovedPermanently)
				})
			},
			want: []string{"redirect-first-not-https"},
		},
		{
			name: "302 chain",
			build: func(p ports) (http.Handler, http.Handler) {
				return ok, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/" {
						http.Redirect(w, r, "/step", http.StatusFound)
						return
					}
					http.Redirect(w, r, p.httpsURL("example.test", "/"), http.StatusTemporaryRedirect)
				})
			},
			want: []string{"redirect-temporary", "redirect-first-not-https"},
		},
		{
			name: "308 for GET",
			build: func(p ports) (http.Handler, http.Handler) {
				return ok, redirectTo(http.StatusPermanentRedirect, p.httpsURL("example.test", "/"))
			},
			want: []string{"redirect-ok", "redirect-308"},
		},
		{
			name: "loop over plain HTTP",
			build: func(p ports) (http.Handler, http.Handler) {
				return ok, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					next := map[string]string{"/": "/a", "/a": "/"}[r.URL.Path]
					http.Redirect(w, r, next, http.StatusMovedPermanently)
				})
			},
			want: []string{"redirect-loop"},
		},
		{
			name: "ends on plain HTTP",
			build: func(p ports) (http.Handler, http.Handler) {
				return ok, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/" {
						http.Redirect(w, r, "/home", http.StatusMovedPermanently)
						return
					}
					io.WriteString(w, "plain\n")
				})
			},
			want: []string{"redirect-final-http"},
		},
		{
			name: "redirect to a port where nothing listens",
			build: func(p ports) (http.Handler, http.Handler) {
				return ok, redirectTo(http.StatusMovedPermanently, "https://example.test:"+strconv.Itoa(dead)+"/")
			},
			want: []string{"redirect-unreachable"},
			not:  []string{"redirect-ok"},
		},
		{
			name: "unusable Location",
			build: func(p ports) (http.Handler, http.Handler) {
				return ok, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Location", "javascript:alert(1)")
					w.WriteHeader(http.StatusMovedPermanently)
				})
			},
			want: []string{"redirect-missing"},
		},
		{
			name: "many hops",
			build: func(p ports) (http.Handler, http.Handler) {
				https := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/")); n > 0 && n < 4 {
						http.Redirect(w, r, "/"+strconv.Itoa(n+1), http.StatusMovedPermanently)
						return
					}
					ok.ServeHTTP(w, r)
				})
				return https, redirectTo(http.StatusMovedPermanently, p.httpsURL("example.test", "/1"))
			},
			want: []string{"redirect-ok", "redirect-many-hops"},
		},
		{
			name: "HTTPS redirects back to plain HTTP",
			build: func(p ports) (http.Handler, http.Handler) {
				return redirectTo(http.StatusMovedPermanently, p.httpURL("example.test", "/plain")), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/plain" {
						io.WriteString(w, "plain\n")
						return
					}
					http.Redirect(w, r, p.httpsURL("example.test", "/"), http.StatusMovedPermanently)
				})
			},
			want: []string{"redirect-https-to-http", "hsts-missing"},
		},
		{
			name: "forcehttps temporary mode",
			build: func(p ports) (http.Handler, http.Handler) {
				h := middleware(t, forcehttps.Config{Temporary: true}, p.https, hello)
				return h, h
			},
			want: []string{"redirect-ok", "redirect-temporary"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep := serve(t, siteSpec{build: build(tt.build)}).run(t)
			checkIDs(t, rep, tt.want, tt.not)
		})
	}
}

// TestRunRedirectInvalidCert follows a redirect to another host whose
// certificate does not name it.
func TestRunRedirectInvalidCert(t *testing.T) {
	t.Parallel()
	wrong := getCA(t).Issue(t, testutil.LeafOptions{Names: []string{"wrong.test"}, NotBefore: defaultLeaf.NotBefore, NotAfter: defaultLeaf.NotAfter}).TLSCertificate()
	other := serve(t, siteSpec{https: page(nil), cert: &wrong})
	s := serve(t, siteSpec{build: build(func(p ports) (http.Handler, http.Handler) {
		return redirectTo(http.StatusMovedPermanently, other.httpsURL("other.test", "/")), redirectTo(http.StatusMovedPermanently, p.httpsURL("example.test", "/"))
	})})
	rep := s.run(t)
	checkIDs(t, rep, []string{"redirect-invalid-cert", "hsts-redirect-missing"}, []string{"tls-cert-name-mismatch"})
}

func TestRunHSTS(t *testing.T) {
	t.Parallel()
	set := func(vals ...string) func(h http.Header) {
		return func(h http.Header) { h["Strict-Transport-Security"] = vals }
	}
	tests := []struct {
		name      string
		spec      siteSpec
		want, not []string
	}{
		{"one year", withRedirect(nil), []string{"hsts-ok", "hsts-no-include-subdomains"}, []string{"hsts-missing", "hsts-preload-ready", "hsts-preload-not-ready"}},
		{"missing", withRedirect(set()), []string{"hsts-missing"}, []string{"hsts-ok"}},
		{"duplicated", withRedirect(set("max-age=31536000", "max-age=31536000")), []string{"hsts-multiple"}, nil},
		{"too short", withRedirect(set("max-age=86400")), []string{"hsts-short"}, nil},
		{"under a year", withRedirect(set("max-age=20000000; includeSubDomains")), []string{"hsts-under-one-year"}, []string{"hsts-no-include-subdomains"}},
		{"revoked", withRedirect(set("max-age=0")), []string{"hsts-revoked"}, []string{"hsts-no-include-subdomains"}},
		{"invalid", withRedirect(set("max-age=1y")), []string{"hsts-invalid"}, nil},
		{"repeated directive", withRedirect(set("max-age=31536000; max-age=31536000")), []string{"hsts-invalid"}, nil},
		{
			name: "sent over plain HTTP",
			spec: siteSpec{build: build(func(p ports) (http.Handler, http.Handler) {
				return page(nil), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Strict-Transport-Security", "max-age=31536000")
					http.Redirect(w, r, p.httpsURL("example.test", "/"), http.StatusMovedPermanently)
				})
			})},
			want: []string{"hsts-over-http", "hsts-ok"},
		},
		{
			name: "HTTPS redirect without HSTS",
			spec: siteSpec{build: build(func(p ports) (http.Handler, http.Handler) {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if r.URL.Path == "/" {
							http.Redirect(w, r, "/home", http.StatusMovedPermanently)
							return
						}
						page(nil).ServeHTTP(w, r)
					}),
					redirectTo(http.StatusMovedPermanently, p.httpsURL("example.test", "/"))
			})},
			want: []string{"hsts-redirect-missing", "hsts-ok"},
		},
		{
			name: "preload ready with forcehttps",
			spec: siteSpec{build: build(func(p ports) (http.Handler, http.Handler) {
				h := middleware(t, forcehttps.Config{HSTSIncludeSubDomains: true, HSTSPreload: true}, p.https, hello)
				return h, h
			})},
			want: []string{"hsts-ok", "hsts-preload-ready"},
			not:  []string{"hsts-no-include-subdomains", "hsts-redirect-missing"},
		},
		{
			name: "preload without its requirements",
			spec: withRedirect(set("max-age=20000000; preload")),
			want: []string{"hsts-preload-not-ready"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep := serve(t, tt.spec).run(t)
			checkIDs(t, rep, tt.want, tt.not)
		})
	}
}

func TestRunHeaders(t *testing.T) {
	t.Parallel()
	set := func(kv ...string) func(h http.Header) {
		return func(h http.Header) {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] == "" {
					h.Del(kv[i])
				} else {
					h.Add(kv[i], kv[i+1])
				}
			}
		}
	}
	replace := func(name string, vals ...string) func(h http.Header) {
		return func(h http.Header) { h[name] = vals }
	}
	tests := []struct {
		name      string
		mod       func(h http.Header)
		want, not []string
	}{
		{"defaults", nil, []string{"csp-ok", "xfo-frame-ancestors", "xcto-ok", "referrer-policy-private", "permissions-policy-ok", "coop-ok", "corp-ok"}, nil},
		{"csp missing", set("Content-Security-Policy", ""), []string{"csp-missing", "xfo-ok"}, []string{"xfo-frame-ancestors"}},
		{"csp report-only does not count", func(h http.Header) {
			h["Content-Security-Policy-Report-Only"] = h["Content-Security-Policy"]
			h.Del("Content-Security-Policy")
		}, []string{"csp-missing"}, nil},
		{"csp invalid", replace("Content-Security-Policy", "default_src 'self'"), []string{"csp-invalid"}, nil},
		{"csp unsafe-inline", replace("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'"), []string{"csp-unsafe-inline"}, []string{"csp-ok"}},
		{"csp unsafe-inline with a nonce is ignored", replace("Content-Security-Policy", "default-src 'self'; script-src 'nonce-abc123' 'unsafe-inline' 'strict-dynamic' https:; object-src 'none'"), []string{"csp-ok"}, []string{"csp-unsafe-inline", "csp-script-broad"}},
		{"csp unsafe-eval", replace("Content-Security-Policy", "default-src 'self' 'unsafe-eval'; object-src 'none'"), []string{"csp-unsafe-eval"}, nil},
		{"csp wildcard scripts", replace("Content-Security-Policy", "default-src 'self'; script-src *; object-src 'none'"), []string{"csp-script-broad"}, nil},
		{"csp https: scripts", replace("Content-Security-Policy", "default-src https:; object-src 'none'"), []string{"csp-script-broad"}, nil},
		{"csp data: scripts", replace("Content-Security-Policy", "default-src 'self'; script-src 'self' data:; object-src 'none'"), []string{"csp-script-data"}, nil},
		{"csp without default-src", replace("Content-Security-Policy", "frame-ancestors 'none'"), []string{"csp-script-unrestricted", "csp-object-unrestricted", "csp-no-default-src"}, nil},
		{"csp object-src not none", replace("Content-Security-Policy", "default-src 'self'"), []string{"csp-object-not-none", "csp-ok", "csp-no-frame-ancestors", "xfo-ok"}, nil},
		{"csp object-src wildcard", replace("Content-Security-Policy", "default-src 'self'; object-src *"), []string{"csp-object-broad"}, nil},
		{"csp http scripts", replace("Content-Security-Policy", "default-src 'self'; script-src 'self' http://cdn.example.test; object-src 'none'"), []string{"csp-insecure-scheme"}, nil},
		{"csp http images", replace("Content-Security-Policy", "default-src 'self'; img-src http://img.example.test; object-src 'none'"), []string{"csp-insecure-scheme-passive"}, []string{"csp-insecure-scheme"}},
		{"csp default-src none", replace("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"), []string{"csp-default-none"}, []string{"csp-ok"}},
		{"csp style unsafe-inline", replace("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; object-src 'none'"), []string{"csp-style-unsafe"}, []string{"csp-ok"}},
		{"csp duplicate, unknown, unquoted", replace("Content-Security-Policy", "default-src 'self'; object-src 'none'; default-src *; scirpt-src self; img-src self 'bogus'"), []string{"csp-duplicate-directive", "csp-unknown-directive", "csp-unquoted-keyword", "csp-invalid-source", "csp-ok"}, nil},
		{"csp two policies intersect", replace("Content-Security-Policy", "default-src *", "default-src 'self'; object-src 'none'"), []string{"csp-ok"}, []string{"csp-script-broad"}},
		{"xfo missing", func(h http.Header) {
			h.Del("X-Frame-Options")
			h.Set("Content-Security-Policy", "default-src 'self'; object-src 'none'")
		}, []string{"xfo-missing"}, nil},
		{"xfo invalid", func(h http.Header) {
			h.Set("X-Frame-Options", "DENY, SAMEORIGIN")
			h.Set("Content-Security-Policy", "default-src 'self'; object-src 'none'")
		}, []string{"xfo-invalid"}, nil},
		{"xfo allow-from", func(h http.Header) {
			h.Set("X-Frame-Options", "ALLOW-FROM https://a.example.test")
			h.Set("Content-Security-Policy", "default-src 'self'; object-src 'none'")
		}, []string{"xfo-allow-from"}, nil},
		{"frame-ancestors wildcard does not count", func(h http.Header) {
			h.Del("X-Frame-Options")
			h.Set("Content-Security-Policy", "default-src 'self'; object-src 'none'; frame-ancestors *")
		}, []string{"xfo-missing", "csp-no-frame-ancestors"}, nil},
		{"nosniff missing", set("X-Content-Type-Options", ""), []string{"xcto-missing"}, nil},
		{"nosniff invalid", replace("X-Content-Type-Options", "sniff"), []string{"xcto-invalid"}, nil},
		{"referrer missing", set("Referrer-Policy", ""), []string{"referrer-policy-missing"}, nil},
		{"referrer unsafe", replace("Referrer-Policy", "unsafe-url"), []string{"referrer-policy-unsafe"}, nil},
		{"referrer invalid", replace("Referrer-Policy", "never"), []string{"referrer-policy-invalid"}, nil},
		{"referrer last valid wins", replace("Referrer-Policy", "unsafe-url, bogus", "no-referrer"), []string{"referrer-policy-private"}, nil},
		{"permissions missing", set("Permissions-Policy", ""), []string{"permissions-policy-missing"}, nil},
		{"coop missing", set("Cross-Origin-Opener-Policy", ""), []string{"coop-missing"}, nil},
		{"coop invalid", replace("Cross-Origin-Opener-Policy", "same-orign"), []string{"coop-invalid"}, nil},
		{"coop unsafe-none", replace("Cross-Origin-Opener-Policy", "unsafe-none"), []string{"coop-unsafe-none"}, nil},
		{"corp missing", set("Cross-Origin-Resource-Policy", ""), []string{"corp-missing"}, nil},
		{"corp cross-origin", replace("Cross-Origin-Resource-Policy", "cross-origin"), []string{"corp-cross-origin"}, nil},
		{"corp invalid", replace("Cross-Origin-Resource-Policy", "same-origin, same-site"), []string{"corp-invalid"}, nil},
		{"cookies", set("Set-Cookie", "sessionid=1; Path=/", "Set-Cookie", "__Host-id=2; Secure; Path=/; Domain=example.test; SameSite=Lax"),
			[]string{"cookie-session-no-secure", "cookie-session-no-httponly", "cookie-prefix-invalid", "cookies-no-samesite"}, []string{"cookies-ok"}},
		{"good cookies", set("Set-Cookie", "__Host-session=1; Secure; HttpOnly; Path=/; SameSite=Strict"), []string{"cookies-ok"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep := serve(t, withRedirect(tt.mod)).run(t)
			checkIDs(t, rep, tt.want, tt.not)
		})
	}
}

// TestRunCookiesSecured checks that forcehttps' middleware adds Secure to a
// handler's cookies, as the audit sees them.
func TestRunCookiesSecured(t *testing.T) {
	t.Parallel()
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: "1", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		io.WriteString(w, "hello\n")
	})
	raw := serve(t, withRedirect(func(h http.Header) {
		h.Add("Set-Cookie", "sessionid=1; HttpOnly; SameSite=Lax")
	})).run(t)
	checkIDs(t, raw, []string{"cookie-session-no-secure"}, nil)
	secured := serve(t, siteSpec{build: build(func(p ports) (http.Handler, http.Handler) {
		h := middleware(t, forcehttps.Config{}, p.https, app)
		return h, h
	})}).run(t)
	checkIDs(t, secured, []string{"cookies-ok"}, []string{"cookie-session-no-secure"})
}

func TestRunTLS(t *testing.T) {
	t.Parallel()
	ca := getCA(t)
	issue := func(s testutil.LeafOptions) *tls.Certificate {
		c := ca.Issue(t, s).TLSCertificate()
		return &c
	}
	leaf := func(mod func(*testutil.LeafOptions)) *tls.Certificate {
		s := defaultLeaf
		mod(&s)
		return issue(s)
	}
	rsaLeaf := defaultLeaf
	rsaLeaf.RSABits = 2048
	rsaCert := issue(rsaLeaf)
	stapled := issue(defaultLeaf)
	stapled.OCSPStaple = []byte("not a real OCSP response, but stapled")
	tests := []struct {
		name      string
		cert      *tls.Certificate
		tls       func(*tls.Config)
		opts      func(*Options)
		want, not []string
		grade     Grade          // the expected grade, if not ""
		perSuite  map[string]int // how many findings of these IDs, one per suite
		suites12  []string       // the TLS 1.2 suites accepted, sorted, if not nil
	}{
		{
			// Go's defaults accept two ECDHE suites with CBC in TLS 1.2:
			// listed, as SSL Labs labels them weak, but not capped.
			name:  "TLS 1.2 and 1.3, Go's default suites",
			want:  []string{"tls-versions-ok", "tls-suite-cbc", "tls-cert-ok", "tls-ocsp-not-stapled"},
			not:   []string{"tls-cipher-ok", "tls-weak-preferred", "tls-suite-no-fs", "tls-suite-insecure"},
			grade: GradeAPlus,
		},
		{
			name: "modern suites only",
			tls: func(c *tls.Config) {
				c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}
			},
			want:  []string{"tls-cipher-ok"},
			not:   []string{"tls-suite-cbc", "tls-suite-no-fs", "tls-suite-insecure", "tls-weak-preferred", "tls-cipher-weak"},
			grade: GradeAPlus,
		},
		{
			// testssl.sh lists each weak suite; SSL Labs does not cap
			// while good clients get ECDHE with AEAD.
			name: "CBC and RSA key exchange beside GCM, TLS 1.3 on",
			cert: rsaCert,
			tls: func(c *tls.Config) {
				c.CipherSuites = []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
			},
			want:     []string{"tls-suite-no-fs", "tls-suite-cbc"},
			not:      []string{"tls-cipher-ok", "tls-weak-preferred", "tls-cipher-weak"},
			perSuite: map[string]int{"tls-suite-no-fs": 2, "tls-suite-cbc": 1},
			grade:    GradeAPlus,
			suites12: []string{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_128_GCM_SHA256"},
		},
		{
			// An nginx with TLS 1.3 whose TLS 1.2 suites give a TLS
			// 1.2 client CBC: SSL Labs' AEAD rule caps at B.
			name: "TLS 1.2 clients get CBC",
			cert: rsaCert,
			tls: func(c *tls.Config) {
				c.CipherSuites = []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}
			},
			want:     []string{"tls-weak-preferred", "tls-suite-no-fs", "tls-suite-cbc"},
			not:      []string{"tls-cipher-ok", "tls-cipher-weak"},
			perSuite: map[string]int{"tls-suite-no-fs": 1, "tls-suite-cbc": 1, "tls-weak-preferred": 1},
			grade:    GradeB,
		},
		{
			name: "TLS 1.2 only, CBC and RSA key exchange",
			cert: rsaCert,
			tls: func(c *tls.Config) {
				c.MaxVersion = tls.VersionTLS12
				c.CipherSuites = []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}
			},
			want:     []string{"tls-no-tls13", "tls-cipher-weak", "tls-suite-no-fs", "tls-suite-cbc"},
			not:      []string{"tls-cipher-ok"},
			perSuite: map[string]int{"tls-suite-no-fs": 2, "tls-suite-cbc": 1},
			grade:    GradeB,
		},
		{
			name: "RSA key exchange only",
			cert: rsaCert,
			tls: func(c *tls.Config) {
				c.MaxVersion = tls.VersionTLS12
				c.CipherSuites = []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}
			},
			want:  []string{"tls-cipher-weak", "tls-suite-no-fs"},
			grade: GradeB,
		},
		{
			name: "3DES accepted",
			cert: rsaCert,
			tls: func(c *tls.Config) {
				c.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA}
			},
			want:  []string{"tls-suite-insecure"},
			not:   []string{"tls-weak-preferred"},
			grade: GradeC,
		},
		{
			name:  "TLS 1.0 and 1.1 also offered",
			tls:   func(c *tls.Config) { c.MinVersion = tls.VersionTLS10 },
			want:  []string{"tls-legacy-version"},
			not:   []string{"tls-versions-ok", "tls-no-modern-version"},
			grade: GradeB,
		},
		{
			name: "TLS 1.1 at most",
			tls: func(c *tls.Config) {
				c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
			},
			want:  []string{"tls-legacy-version", "tls-no-modern-version", "tls-cipher-weak"},
			grade: GradeC,
		},
		{
			name: "no TLS 1.3, CBC cipher",
			tls: func(c *tls.Config) {
				c.MaxVersion = tls.VersionTLS12
				c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
			},
			want:  []string{"tls-no-tls13", "tls-cipher-weak"},
			grade: GradeB,
		},
		{
			name:  "expired",
			cert:  leaf(func(s *testutil.LeafOptions) { s.NotAfter = testNow.Add(-48 * time.Hour) }),
			want:  []string{"tls-cert-expired"},
			not:   []string{"tls-cert-untrusted", "tls-cert-ok"},
			grade: GradeF,
		},
		{
			name:  "not yet valid",
			cert:  leaf(func(s *testutil.LeafOptions) { s.NotBefore = testNow.Add(48 * time.Hour) }),
			want:  []string{"tls-cert-not-yet-valid"},
			not:   []string{"tls-cert-untrusted"},
			grade: GradeF,
		},
		{
			name:  "wrong name",
			cert:  leaf(func(s *testutil.LeafOptions) { s.Names = []string{"wrong.test"} }),
			want:  []string{"tls-cert-name-mismatch"},
			grade: GradeF,
		},
		{
			name:  "unknown authority",
			opts:  func(o *Options) { o.RootCAs = x509.NewCertPool() },
			want:  []string{"tls-cert-untrusted"},
			grade: GradeF,
		},
		{
			name:  "expired but insecure",
			cert:  leaf(func(s *testutil.LeafOptions) { s.NotAfter = testNow.Add(-48 * time.Hour) }),
			opts:  func(o *Options) { o.Insecure = true },
			want:  []string{"tls-cert-expired"},
			grade: GradeAPlus,
		},
		{
			name:  "expires soon",
			cert:  leaf(func(s *testutil.LeafOptions) { s.NotAfter = testNow.Add(5 * 24 * time.Hour) }),
			want:  []string{"tls-cert-expiring", "tls-cert-ok"},
			grade: GradeAPlus,
		},
		{
			name:  "weak key",
			cert:  leaf(func(s *testutil.LeafOptions) { s.RSABits = 1024 }),
			want:  []string{"tls-key-weak"},
			grade: GradeB,
		},
		{name: "OCSP stapled", cert: stapled, want: []string{"tls-ocsp-stapled"}, not: []string{"tls-ocsp-not-stapled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := defaultsSite(t)
			spec.cert, spec.tls = tt.cert, tt.tls
			s := serve(t, spec)
			o := s.options(t)
			if tt.opts != nil {
				tt.opts(&o)
			}
			rep, err := Run(context.Background(), o)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkIDs(t, rep, tt.want, tt.not)
			if tt.grade != "" && rep.Grade != tt.grade {
				t.Errorf("grade %s (score %d, capped by %v), want %s", rep.Grade, rep.Score, rep.CappedBy, tt.grade)
			}
			for id, n := range tt.perSuite {
				got := 0
				for _, f := range rep.Findings {
					if f.ID == id {
						got++
					}
				}
				if got != n {
					t.Errorf("%d %s findings, want %d (one per suite)", got, id, n)
				}
			}
			if tt.suites12 != nil {
				var got []string
				for _, v := range rep.TLS.Versions {
					if v.Name == "TLS 1.2" {
						got = slices.Sorted(slices.Values(v.Suites))
					}
				}
				if !slices.Equal(got, tt.suites12) {
					t.Errorf("TLS 1.2 suites %q, want %q", got, tt.suites12)
				}
			}
			for _, f := range rep.Findings {
				if f.Cap != "" && !slices.Contains(rep.CappedBy, f.ID) && !f.Cap.AtLeast(rep.ScoreGrade) {
					t.Errorf("finding %s caps at %s below %s but is not in CappedBy %v", f.ID, f.Cap, rep.ScoreGrade, rep.CappedBy)
				}
			}
		})
	}
}

// TestRunErrors checks that what cannot be audited fails quickly with a
// clear error instead of hanging.
func TestRunErrors(t *testing.T) {
	t.Parallel()
	// block is released when the test ends, before the servers close.
	block := func(t *testing.T) http.Handler {
		done := make(chan struct{})
		t.Cleanup(func() { close(done) })
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-done:
			case <-r.Context().Done():
			}
		})
	}
	huge := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Huge", strings.Repeat("a", 1<<20))
	})
	endless := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		http.Redirect(w, r, "/"+strconv.Itoa(n+1), http.StatusMovedPermanently)
	})
	loop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, map[string]string{"/": "/a", "/a": "/"}[r.URL.Path], http.StatusMovedPermanently)
	})
	tests := []struct {
		name    string
		setup   func(t *testing.T) Options
		want    error
		wantMsg string
	}{
		{
			name: "slow HTTPS response",
			setup: func(t *testing.T) Options {
				s := serve(t, siteSpec{https: block(t)})
				o := s.options(t)
				o.Timeout = 200 * time.Millisecond
				return o
			},
			want: ErrTimeout,
		},
		{
			name: "slow plain-HTTP response",
			setup: func(t *testing.T) Options {
				s := serve(t, siteSpec{https: page(nil), http: block(t)})
				o := s.options(t)
				o.Timeout = 200 * time.Millisecond
				return o
			},
			want: ErrTimeout,
		},
		{
			name: "whole audit too slow",
			setup: func(t *testing.T) Options {
				s := serve(t, siteSpec{https: block(t)})
				o := s.options(t)
				o.Timeout, o.TotalTimeout = 5*time.Second, 300*time.Millisecond
				return o
			},
			want:    ErrTimeout,
			wantMsg: "the audit took longer than 300ms",
		},
		{
			name: "silent TLS port",
			setup: func(t *testing.T) Options {
				l := silentListener(t)
				o := (&site{httpsPort: portOf(t, l), httpPort: closedPort(t)}).options(t)
				o.Timeout = 200 * time.Millisecond
				return o
			},
			want: ErrTimeout,
		},
		{
			name: "plain HTTP on the HTTPS port",
			setup: func(t *testing.T) Options {
				hs := httptest.NewServer(hello)
				t.Cleanup(hs.Close)
				return (&site{httpsPort: portOf(t, hs.Listener), httpPort: closedPort(t)}).options(t)
			},
			want:    ErrHandshake,
			wantMsg: "TLS handshake failed",
		},
		{
			name: "huge HTTPS headers",
			setup: func(t *testing.T) Options {
				return serve(t, siteSpec{https: huge}).options(t)
			},
			want:    ErrResponse,
			wantMsg: "exceeded",
		},
		{
			name: "huge plain-HTTP headers",
			setup: func(t *testing.T) Options {
				return serve(t, siteSpec{https: page(nil), http: huge}).options(t)
			},
			want: ErrResponse,
		},
		{
			name: "endless HTTPS redirects",
			setup: func(t *testing.T) Options {
				return serve(t, siteSpec{https: endless}).options(t)
			},
			want:    ErrRedirects,
			wantMsg: "more than 10 redirects",
		},
		{
			name: "endless plain-HTTP redirects",
			setup: func(t *testing.T) Options {
				o := serve(t, siteSpec{https: page(nil), http: endless}).options(t)
				o.MaxRedirects = 3
				return o
			},
			want:    ErrRedirects,
			wantMsg: "more than 3 redirects",
		},
		{
			name: "HTTPS redirect loop",
			setup: func(t *testing.T) Options {
				return serve(t, siteSpec{https: loop}).options(t)
			},
			want:    ErrRedirects,
			wantMsg: "redirect loop",
		},
		{
			name: "closed HTTPS port",
			setup: func(t *testing.T) Options {
				return (&site{httpsPort: closedPort(t), httpPort: closedPort(t)}).options(t)
			},
			want:    ErrUnreachable,
			wantMsg: "connection refused",
		},
		{
			name: "unknown host",
			setup: func(t *testing.T) Options {
				o := (&site{httpsPort: closedPort(t), httpPort: closedPort(t)}).options(t)
				o.Target.Host = "nxdomain.test"
				return o
			},
			want:    ErrUnreachable,
			wantMsg: "no such host",
		},
		{
			name:  "no host",
			setup: func(t *testing.T) Options { return Options{} },
			want:  ErrTarget,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := tt.setup(t)
			rep, err := Run(context.Background(), o)
			if !errors.Is(err, tt.want) || rep != nil {
				if rep != nil {
					var b strings.Builder
					WriteText(&b, rep, false)
					t.Log(b.String())
				}
				t.Fatalf("Run() = %v, %v; want nil, an error wrapping %v", rep != nil, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Run() error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

// silentListener accepts connections and never answers, until the test
// ends.
func silentListener(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			select {
			case conns <- c:
			default:
				c.Close()
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		for {
			select {
			case c := <-conns:
				c.Close()
			default:
				return
			}
		}
	})
	return l
}

// TestRunInterrupted checks that a cancelled context stops the audit.
func TestRunInterrupted(t *testing.T) {
	t.Parallel()
	s := serve(t, defaultsSite(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if rep, err := Run(ctx, s.options(t)); err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("Run with a cancelled context = %v, %v; want an error saying it was interrupted", rep, err)
	}
}

// TestRunResolveOnly checks that Resolve is what sends the audit to
// loopback: a host missing from it is looked up (and here not found).
func TestRunResolveOnly(t *testing.T) {
	t.Parallel()
	s := serve(t, defaultsSite(t))
	o := s.options(t)
	delete(o.Resolve, "example.test")
	_, err := Run(context.Background(), o)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Run without a Resolve entry = %v, want ErrUnreachable", err)
	}
}

// TestRunNoHTTPS: a site that answers plain HTTP and nothing on the HTTPS
// port is graded F with a finding, not an audit error.
func TestRunNoHTTPS(t *testing.T) {
	t.Parallel()
	hs := httptest.NewUnstartedServer(hello)
	hs.Config.ErrorLog = newDiscardLogger()
	hs.Start()
	t.Cleanup(hs.Close)
	o := (&site{httpsPort: closedPort(t), httpPort: portOf(t, hs.Listener)}).options(t)
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run on a plain-HTTP-only site: %v", err)
	}
	checkIDs(t, rep, []string{"tls-no-https", "redirect-missing", "hsts-missing"}, []string{"tls-cipher-ok", "tls-cert-ok"})
	f := findIDs(rep)["tls-no-https"]
	if rep.Grade != GradeF || f.Cap != GradeF {
		t.Errorf("grade %s, tls-no-https caps at %q; want F and F", rep.Grade, f.Cap)
	}
	if f.Fix == "" || !strings.Contains(f.Message, "connection refused") {
		t.Errorf("tls-no-https = %+v, want a fix and the reason", f)
	}
	if rep.TLS.Error == "" || rep.HTTPS.Error == "" || len(rep.HTTPS.Hops) != 0 {
		t.Errorf("TLS.Error %q, HTTPS chain %+v: want the reason and no hops", rep.TLS.Error, rep.HTTPS)
	}
	var b strings.Builder
	if err := WriteText(&b, rep, false); err != nil || !strings.Contains(b.String(), "no HTTPS") {
		t.Errorf("WriteText = %v:\n%s\nwant it to say there is no HTTPS", err, b.String())
	}
}

// TestRunHTTPSPortFromRedirect: without an HTTPS port in the target, the
// audit goes where the plain-HTTP redirect points on the same host, and
// says so; a redirect to another host does not move the TLS probes there.
func TestRunHTTPSPortFromRedirect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		host     string // of the redirect
		wantSrc  string
		wantPort func(s *site) int
		wantErr  bool
	}{
		{"same host", "example.test", PortRedirect, func(s *site) int { return s.httpsPort }, false},
		// The HTTPS site listens on a test port, not 443: probing the
		// audited host's 443 (closed on loopback) finds no HTTPS.
		{"other host", "www.example.test", PortDefault, func(*site) int { return 443 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := serve(t, siteSpec{build: build(func(p ports) (http.Handler, http.Handler) {
				return page(nil), redirectTo(http.StatusMovedPermanently, p.httpsURL(tt.host, "/"))
			})})
			o := s.options(t)
			o.Target.HTTPSPort = 0
			dial := o.DialContext
			var probed []string
			var mu sync.Mutex
			o.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				mu.Lock()
				probed = append(probed, addr)
				mu.Unlock()
				if strings.HasSuffix(addr, ":443") {
					return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused (test)")}
				}
				return dial(ctx, network, addr)
			}
			rep, err := Run(context.Background(), o)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := "https://example.test/"
			if p := tt.wantPort(s); p != 443 {
				want = s.httpsURL("example.test", "/")
			}
			if rep.Target != want || rep.HTTPSPortSource != tt.wantSrc {
				t.Errorf("Target %q from %q, want %q from %q", rep.Target, rep.HTTPSPortSource, want, tt.wantSrc)
			}
			if tt.wantSrc == PortRedirect {
				checkIDs(t, rep, []string{"redirect-ok", "tls-versions-ok"}, []string{"tls-no-https"})
			} else {
				checkIDs(t, rep, []string{"redirect-off-host", "tls-no-https"}, nil)
			}
		})
	}
}

// TestRunResolvePort: a host:port entry of Resolve sends that port only.
func TestRunResolvePort(t *testing.T) {
	t.Parallel()
	s := serve(t, defaultsSite(t))
	o := s.options(t)
	delete(o.Resolve, "example.test")
	lo := netip.MustParseAddr("127.0.0.1")
	o.Resolve[net.JoinHostPort("example.test", strconv.Itoa(s.httpsPort))] = lo
	if _, err := Run(context.Background(), o); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Run with only the HTTPS port resolved = %v, want ErrUnreachable (the plain-HTTP port is looked up)", err)
	}
	o.Resolve[net.JoinHostPort("example.test", strconv.Itoa(s.httpPort))] = lo
	if rep, err := Run(context.Background(), o); err != nil || rep.Grade != GradeAPlus {
		t.Fatalf("Run with both ports resolved = %v, %v; want A+", rep, err)
	}
}

func TestErrorKind(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", ErrUnreachable), "unreachable"},
		{fmt.Errorf("x: %w", ErrTimeout), "timeout"},
		{fmt.Errorf("the audit took longer: %w: %w", ErrTimeout, ErrResponse), "timeout"},
		{fmt.Errorf("audit interrupted: %w", context.Canceled), "interrupted"},
		{ErrHandshake, "handshake"},
		{ErrResponse, "response"},
		{ErrRedirects, "redirects"},
		{ErrTarget, "target"},
		{errors.New("other"), "internal"},
	} {
		if got := ErrorKind(tt.err); got != tt.want {
			t.Errorf("ErrorKind(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

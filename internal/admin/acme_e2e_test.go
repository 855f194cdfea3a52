//go:build unix

package admin

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/certs"
	"github.com/forcehttps/forcehttps/internal/config"
	"github.com/forcehttps/forcehttps/internal/edge"
	"github.com/forcehttps/forcehttps/internal/pebbletest"
	"github.com/forcehttps/forcehttps/internal/testutil"
)

// gatedCerts is a certificate manager whose HTTP-01 answers wait until
// the test opens the gate: the certificate of a domain stays pending as
// long as the test needs.
type gatedCerts struct {
	*certs.Manager
	gate atomic.Pointer[chan struct{}]
}

func (g *gatedCerts) HandleHTTPChallenge(w http.ResponseWriter, r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") {
		select {
		case <-*g.gate.Load():
		case <-r.Context().Done():
			return false
		}
	}
	return g.Manager.HandleHTTPChallenge(w, r)
}

func (g *gatedCerts) close() { close(*g.gate.Load()) }
func (g *gatedCerts) rearm() { ch := make(chan struct{}); g.gate.Store(&ch) }
func (g *gatedCerts) isOpen() bool {
	select {
	case <-*g.gate.Load():
		return true
	default:
		return false
	}
}

// acmeEdge is an edge with an admin API and ACME certificates from Pebble.
type acmeEdge struct {
	t     *testing.T
	p     *pebbletest.Pebble
	certs *gatedCerts
	addrs edge.Addrs
	token string
	http  *http.Client // dials the edge, trusts Pebble, follows no redirect
}

func startACMEEdge(t *testing.T) *acmeEdge {
	t.Helper()
	// Pebble validates HTTP-01 on the edge's HTTP port, which must be
	// known before Pebble starts.
	httpPort := pebbletest.FreePort(t)
	p := pebbletest.Start(t, pebbletest.Options{HTTPPort: httpPort, TLSPort: httpPort})
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "edge.yaml")
	testutil.WriteFile(t, cfgFile, []byte(fmt.Sprintf(`listen: {http: "127.0.0.1:%d", https: "127.0.0.1:0"}
tls:
  acme: {email: ops@example.org, directory: %q, ca_root: %q, storage: %q, challenges: {tls_alpn: false}}
admin: {listen: "127.0.0.1:0"}
access_log: {output: "off"}
timeouts: {shutdown: 5s}
`, httpPort, p.Directory, p.CAFile, filepath.Join(dir, "acme"))))
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	a := cfg.TLS.ACME
	mgr, err := certs.New(context.Background(), certs.Options{Logger: logger, ACME: &certs.ACME{
		Email: a.Email, Directory: a.Directory, CARootFile: a.CARoot, Storage: a.Storage, DisableTLSALPNChallenge: true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mgr.Close() })
	g := &gatedCerts{Manager: mgr}
	g.rearm()
	t.Cleanup(func() {
		if !g.isOpen() {
			g.close()
		}
	})
	e := &acmeEdge{t: t, p: p, certs: g, token: "test-token-0123456789"}
	adm, err := New(Options{
		StateFile: filepath.Join(dir, "state.json"), Token: e.token, Logger: logger,
		Certificates: certInfos(mgr),
		CertificateState: func(d string) edge.CertificateState {
			st := mgr.DomainState(d)
			return edge.CertificateState{State: string(st.Status), Error: st.Error, NextTry: st.NextTry, Ready: st.Ready(time.Now())}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := edge.New(cfg, g, edge.WithLogger(logger), edge.WithOverlay(adm.Overlay), edge.WithAdminHandler(adm.Handler()))
	if err != nil {
		t.Fatal(err)
	}
	adm.Attach(srv)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	e.addrs = srv.Addrs()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("log:\n%s", logs.String())
		}
	})
	e.http = &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
				target := e.addrs.HTTP
				if strings.HasSuffix(addr, ":443") {
					target = e.addrs.HTTPS
				}
				var d net.Dialer
				return d.DialContext(ctx, "tcp", target)
			},
			TLSClientConfig:   &tls.Config{RootCAs: p.Roots},
			DisableKeepAlives: true,
		},
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	waitUntil(t, "the admin listener", func() (bool, string) {
		resp, err := http.Get("http://" + e.addrs.Admin + "/static/admin.css")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return true, ""
	})
	return e
}

// api sends an API request and returns the status and body.
func (e *acmeEdge) api(method, path, body string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, "http://"+e.addrs.Admin+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// certificate returns the API's view of the certificate of a domain of
// app shop.
func (e *acmeEdge) certificate(domain string) CertificateView {
	e.t.Helper()
	status, body := e.api("GET", "/api/apps/shop", "")
	var v AppView
	if err := json.Unmarshal([]byte(body), &v); err != nil || status != http.StatusOK {
		e.t.Fatalf("GET /api/apps/shop = %d %s", status, body)
	}
	for _, cv := range v.Certificates {
		if cv.Domain == domain {
			return cv
		}
	}
	e.t.Fatalf("GET /api/apps/shop: no certificate entry for %s: %s", domain, body)
	return CertificateView{}
}

// get fetches a URL on the edge.
func (e *acmeEdge) get(url string) (*http.Response, error) {
	resp, err := e.http.Get(url)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// waitUntil polls cond for up to a minute.
func waitUntil(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s; last: %s", what, detail)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAPIDomainGetsCertificateThenRedirect: an app forcing HTTPS created
// through the API, and a domain added to it later, are served over plain
// HTTP, without a redirect, while their certificate is pending (the API
// says so); once Pebble has issued it, with no restart, they are
// redirected and served over HTTPS with HSTS.
func TestAPIDomainGetsCertificateThenRedirect(t *testing.T) {
	t.Parallel()
	e := startACMEEdge(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from "+r.Host)
	}))
	t.Cleanup(backend.Close)

	pendingThenRedirected := func(domain string, add func()) {
		t.Helper()
		e.certs.rearm()
		add()
		resp, err := e.get("http://" + domain + "/cart")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") != "" {
			t.Errorf("http://%s/cart while pending = %d (HSTS %q), want 200 without HSTS", domain, resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
		}
		if cv := e.certificate(domain); cv.State != "pending" || cv.Redirect != RedirectWaiting {
			t.Errorf("GET /api/apps/shop while %s is pending: %+v, want pending and waiting", domain, cv)
		}
		e.certs.close()
		waitUntil(t, domain+" to be redirected", func() (bool, string) {
			resp, err := e.get("http://" + domain + "/cart")
			if err != nil {
				return false, err.Error()
			}
			return resp.StatusCode == http.StatusMovedPermanently, resp.Status
		})
		resp, err = e.get("https://" + domain + "/cart")
		if err != nil {
			t.Fatalf("https://%s/cart: %v", domain, err)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") == "" {
			t.Errorf("https://%s/cart = %d (HSTS %q), want 200 with HSTS", domain, resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
		}
		if cv := e.certificate(domain); cv.State != "issued" || cv.Redirect != "" || cv.Missing {
			t.Errorf("GET /api/apps/shop once %s is issued: %+v, want issued, not waiting", domain, cv)
		}
	}

	pendingThenRedirected("shop.e2e.test", func() {
		status, body := e.api("POST", "/api/apps", `{"name": "shop", "domains": ["shop.e2e.test"], "upstream": "`+backend.URL+`", "force_https": true}`)
		if status != http.StatusCreated {
			t.Fatalf("POST /api/apps = %d %s", status, body)
		}
	})
	pendingThenRedirected("www.shop.e2e.test", func() {
		status, body := e.api("POST", "/api/apps/shop/domains", `{"domain": "www.shop.e2e.test"}`)
		if status != http.StatusOK {
			t.Fatalf("POST /api/apps/shop/domains = %d %s", status, body)
		}
	})
	if n := e.p.Orders(); n != 2 {
		t.Errorf("Pebble received %d orders, want 2", n)
	}
}

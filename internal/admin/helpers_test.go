package admin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/certs"
	"github.com/forcehttps/forcehttps/internal/config"
	"github.com/forcehttps/forcehttps/internal/edge"
	"github.com/forcehttps/forcehttps/internal/testutil"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a directory with a configuration, a test CA and a certificate
// for good.test signed by it, and an app backend.
type env struct {
	dir, cfgFile, stateFile string
	ca                      *testutil.CA
	token                   string
	store                   Store          // nil: the state file
	cluster                 Cluster        // nil: not a cluster
	options                 func(*Options) // nil: none; changes the admin's options
}

const testConfig = `listen: {http: "127.0.0.1:0", https: "127.0.0.1:0"}
tls:
  certificates: [{cert_file: good.pem, key_file: good.key}]
apps:
  - name: good
    domains: [good.test]
    upstream: %[1]s
    force_https: false
  - name: bad
    domains: [bad.test, "*.wild.test"]
    upstream: %[1]s
    force_https: false
  - name: legacy
    domains: [legacy.good.test]
    upstream: %[1]s
admin: {listen: "127.0.0.1:0"}
access_log: {output: "off"}
timeouts: {shutdown: 5s}
`

func newEnv(t testing.TB) *env {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from "+r.Host)
	}))
	t.Cleanup(backend.Close)
	e := &env{dir: t.TempDir(), token: "test-token-0123456789"}
	e.cfgFile = filepath.Join(e.dir, "edge.yaml")
	e.stateFile = e.cfgFile + ".state.json"
	e.ca = testutil.NewCA(t, testutil.CAOptions{Name: "admin test CA"})
	leaf := e.ca.Issue(t, testutil.LeafOptions{Names: []string{"good.test", "legacy.good.test", "*.api.test"}})
	testutil.WriteFile(t, filepath.Join(e.dir, "good.pem"), leaf.CertPEM())
	testutil.WriteFile(t, filepath.Join(e.dir, "good.key"), leaf.PKCS8KeyPEM())
	testutil.WriteFile(t, e.cfgFile, []byte(fmt.Sprintf(testConfig, backend.URL)))
	return e
}

// certInfos returns the list of mgr's certificates, for
// Options.Certificates, as the edge command wires it.
func certInfos(mgr *certs.Manager) func() []edge.CertificateInfo {
	return func() []edge.CertificateInfo {
		var out []edge.CertificateInfo
		for _, c := range mgr.Certificates() {
			out = append(out, edge.CertificateInfo{Names: c.Names, NotAfter: c.NotAfter, Source: c.Source})
		}
		return out
	}
}

// inst is a running edge with its admin.
type inst struct {
	t      testing.TB
	adm    *Admin
	srv    *edge.Server
	addrs  edge.Addrs
	token  string
	clock  *clock
	logs   *testutil.Buffer
	cancel context.CancelFunc
	done   chan error
}

// start runs an edge and an admin on e's files until the test ends or
// stop is called.
func (e *env) start(t testing.TB, c *clock) *inst {
	t.Helper()
	cfg, err := config.Load(e.cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	mgr, err := certs.New(context.Background(), certs.Options{Files: []certs.Pair{{
		CertFile: cfg.TLS.Certificates[0].CertFile, KeyFile: cfg.TLS.Certificates[0].KeyFile}}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mgr.Close() })
	info := certInfos(mgr)
	o := Options{
		StateFile: e.stateFile, Store: e.store, Cluster: e.cluster, Token: e.token, Roots: []*x509.Certificate{e.ca.Cert},
		Certificates: info, Logger: logger, Now: c.Now, PreflightTimeout: 5 * time.Second,
		AllowedHosts: []string{"admin.internal"},
	}
	if e.options != nil {
		e.options(&o)
	}
	adm, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := edge.New(cfg, mgr, edge.WithLogger(logger), edge.WithClock(c.Now),
		edge.WithOverlay(adm.Overlay), edge.WithAdminHandler(adm.Handler()), edge.WithCertificateInfo(info))
	if err != nil {
		t.Fatal(err)
	}
	adm.Attach(srv)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &inst{t: t, adm: adm, srv: srv, addrs: srv.Addrs(), token: e.token, clock: c, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		in.stop()
		if t.Failed() {
			t.Logf("log:\n%s", logs.String())
		}
	})
	// Wait until the admin listener answers.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + in.addrs.Admin + "/static/admin.css")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the admin listener did not answer within 10s: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return in
}

func (in *inst) stop() {
	in.cancel()
	select {
	case err := <-in.done:
		in.done <- err
	case <-time.After(30 * time.Second):
		in.t.Fatal("the edge did not stop within 30s")
	}
}

// api sends an API request with the token and returns the status and
// the decoded JSON body.
func (in *inst) api(method, path, body string) (int, map[string]any) {
	in.t.Helper()
	return in.apiWith(method, path, body, http.Header{"Authorization": {"Bearer " + in.token}})
}

func (in *inst) apiWith(method, path, body string, hdr http.Header) (int, map[string]any) {
	in.t.Helper()
	req, err := http.NewRequest(method, "http://"+in.addrs.Admin+path, strings.NewReader(body))
	if err != nil {
		in.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if h := hdr.Get("Host"); h != "" {
		req.Host = h
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		in.t.Fatalf("%s %s: %d, not JSON: %q", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode, out
}

// app returns the API view of an app.
func (in *inst) app(name string) AppView {
	in.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+in.addrs.Admin+"/api/apps/"+name, nil)
	req.Header.Set("Authorization", "Bearer "+in.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v AppView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
		in.t.Fatalf("GET /api/apps/%s: %d %v", name, resp.StatusCode, err)
	}
	return v
}

// fetch gets a URL on the edge, dialing its listener for the URL's
// scheme whatever the host, trusting the test CA, not following
// redirects.
func (in *inst) fetch(e *env, rawURL string) *http.Response {
	in.t.Helper()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			target := in.addrs.HTTP
			if strings.HasSuffix(addr, ":443") {
				target = in.addrs.HTTPS
			}
			var d net.Dialer
			return d.DialContext(ctx, "tcp", target)
		},
		TLSClientConfig:   &tls.Config{RootCAs: e.ca.Pool()},
		DisableKeepAlives: true,
	}
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(rawURL)
	if err != nil {
		in.t.Fatalf("GET %s: %v", rawURL, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

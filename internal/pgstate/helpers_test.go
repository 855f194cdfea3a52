package pgstate_test

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
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/admin"
	"github.com/forcehttps/forcehttps/internal/certs"
	"github.com/forcehttps/forcehttps/internal/config"
	"github.com/forcehttps/forcehttps/internal/edge"
	"github.com/forcehttps/forcehttps/internal/pgstate"
	"github.com/forcehttps/forcehttps/internal/pgtest"
	"github.com/forcehttps/forcehttps/internal/testutil"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const token = "cluster-test-token-0123456789"

// clusterConfig has one app, shop.test, with Force HTTPS off in the file.
const clusterConfig = `listen: {http: "127.0.0.1:0", https: "127.0.0.1:0"}
tls: {self_signed: [shop.test]}
apps:
  - name: shop
    domains: [shop.test]
    upstream: %s
    force_https: false
admin: {listen: "127.0.0.1:0"}
access_log: {output: "off"}
timeouts: {shutdown: 5s}
`

// replica is one edge with its admin and PostgreSQL store.
type replica struct {
	t     testing.TB
	name  string
	st    *pgstate.Store
	adm   *admin.Admin
	srv   *edge.Server
	addrs edge.Addrs
	logs  *testutil.Buffer
	stop  func()
}

// backend returns the URL of an app that answers 200.
func backend(t testing.TB) string {
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	t.Cleanup(b.Close)
	return b.URL
}

// testOptions are store options with short, test-friendly times; Resync
// stays long so that propagation relies on NOTIFY.
func testOptions(name, dir string) pgstate.Options {
	return pgstate.Options{
		Replica:       name,
		LastKnownGood: filepath.Join(dir, name+".cluster.json"),
		Resync:        10 * time.Second,
		MemberTimeout: 3 * time.Second,
		Heartbeat:     200 * time.Millisecond,
		RetryMin:      20 * time.Millisecond,
		RetryMax:      200 * time.Millisecond,
		QueryTimeout:  2 * time.Second,
	}
}

// startReplica opens a store on dbURL and runs an edge and admin on it,
// until the test ends.
func startReplica(t testing.TB, dbURL, upstream string, o pgstate.Options, wrap func(admin.Store) admin.Store) *replica {
	t.Helper()
	logs := &testutil.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	o.Logger = logger
	ctx, cancel := context.WithCancel(context.Background())
	st, err := pgstate.Open(ctx, dbURL, o)
	if err != nil {
		cancel()
		t.Fatalf("Open(%s): %v", o.Replica, err)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(clusterConfig, upstream)), config.YAML)
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := certs.New(ctx, certs.Options{SelfSigned: cfg.TLS.SelfSigned, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	var store admin.Store = st
	if wrap != nil {
		store = wrap(st)
	}
	adm, err := admin.New(admin.Options{Store: store, Cluster: st, Token: token, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := edge.New(cfg, mgr, edge.WithLogger(logger), edge.WithOverlay(adm.Overlay),
		edge.WithAdminHandler(adm.Handler()), edge.WithCollector(st))
	if err != nil {
		t.Fatal(err)
	}
	adm.Attach(srv)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	st.Start(ctx, adm.Version)
	go adm.Run(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	r := &replica{t: t, name: o.Replica, st: st, adm: adm, srv: srv, addrs: srv.Addrs(), logs: logs}
	stopped := false
	r.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the edge did not stop within 30s")
		}
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		st.Close(cctx)
		ccancel()
		mgr.Close()
	}
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			t.Logf("log of %s:\n%s", o.Replica, logs.String())
		}
	})
	return r
}

// api sends an admin API request and returns the status and JSON body.
func (r *replica) api(method, path, body string) (int, map[string]any) {
	r.t.Helper()
	req, err := http.NewRequest(method, "http://"+r.addrs.Admin+path, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s on %s: %v", method, path, r.name, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		r.t.Fatalf("%s %s on %s: %d, not JSON: %q", method, path, r.name, resp.StatusCode, data)
	}
	return resp.StatusCode, out
}

// client dials r's listeners whatever the URL's host, without following
// redirects and without verifying the self-signed certificate.
func (r *replica) client() *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			target := r.addrs.HTTP
			if strings.HasSuffix(addr, ":443") {
				target = r.addrs.HTTPS
			}
			var d net.Dialer
			return d.DialContext(ctx, "tcp", target)
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "shop.test"},
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get fetches url from r and returns the status and the HSTS header.
func (r *replica) get(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Strict-Transport-Security"), nil
}

// eventually polls cond every millisecond until it holds or the deadline passes,
// and returns how long it took.
func eventually(t testing.TB, within time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(within)
	last := ""
	for {
		ok, detail := cond()
		if ok {
			return time.Since(start)
		}
		last = detail
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last: %s)", what, within, last)
		}
		time.Sleep(time.Millisecond)
	}
}

// redirects reports whether r redirects plain HTTP for shop.test.
func (r *replica) redirects(c *http.Client) (bool, string) {
	code, _, err := r.get(c, "http://shop.test/x")
	if err != nil {
		return false, err.Error()
	}
	return code == http.StatusMovedPermanently, fmt.Sprintf("%s: %d", r.name, code)
}

package edge

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/config"
	"github.com/forcehttps/forcehttps/internal/testutil"
)

// The test certificate: self-signed, covering every test domain, used as
// its own root by the clients.
var (
	certOnce sync.Once
	testCert tls.Certificate
	testRoot *x509.CertPool
)

func loadTestCert() {
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: "forcehttps edge test"},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(24 * time.Hour),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
			IsCA:                  true,
			DNSNames:              []string{"shop.example.com", "*.shop.example.com", "web.example.com", "blog.example.com", "temp.example.com", "custom.example.com", "plain.example.com", "builtin.example.com", "localhost"},
			IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			panic(err)
		}
		testCert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
		testRoot = x509.NewCertPool()
		testRoot.AddCert(leaf)
	})
}

// acmeToken is the HTTP-01 token the test certificate manager knows.
const (
	acmeToken   = "known-token_0123456789"
	acmeKeyAuth = "known-token_0123456789.thumbprint"
	panicPath   = "/.well-known/acme-challenge/panic"
)

// testCerts implements Certificates with the test certificate.
type testCerts struct {
	mu      sync.Mutex
	managed [][]string
	fail    error

	notReady sync.Map // hosts whose certificate is not ready (HTTPSReady)
}

func (c *testCerts) HTTPSReady(host string) bool {
	_, pending := c.notReady.Load(host)
	return !pending
}

func (c *testCerts) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{testCert}, NextProtos: []string{"acme-tls/1"}}
}

func (c *testCerts) HandleHTTPChallenge(w http.ResponseWriter, r *http.Request) bool {
	switch r.URL.Path {
	case "/.well-known/acme-challenge/" + acmeToken:
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, acmeKeyAuth)
		return true
	case panicPath:
		panic("test: the certificate manager failed")
	}
	return false
}

func (c *testCerts) ManageDomains(_ context.Context, domains []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	c.managed = append(c.managed, append([]string(nil), domains...))
	return nil
}

func (c *testCerts) lastManaged() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.managed) == 0 {
		return nil
	}
	return c.managed[len(c.managed)-1]
}

// syncBuffer is a buffer safe for concurrent writes and reads, holding
// JSON lines.
type syncBuffer struct{ testutil.Buffer }

// lines decodes the JSON lines written so far.
func (b *syncBuffer) lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// waitLines returns the JSON lines once there are at least n, waiting at
// most 5s: a proxied response reaches the client before its line is
// written.
func (b *syncBuffer) waitLines(t testing.TB, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines := b.lines(t)
		if len(lines) >= n || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// seen is what the echo backend saw of a request.
type seen struct {
	Method  string      `json:"method"`
	Host    string      `json:"host"`
	URI     string      `json:"uri"`
	Proto   string      `json:"proto"`
	Header  http.Header `json:"header"`
	Backend string      `json:"backend"`
}

// echoBackend answers every request with what it saw, as JSON. Paths
// ask for special behaviour:
//
//	/hsts/<value>       sends Strict-Transport-Security: <value>
//	/hsts2              sends two Strict-Transport-Security headers
//	/redirect?to=<url>  answers 302 with Location: <url>
//	/cookie             sets a cookie
func echoBackend(t testing.TB, name string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h := w.Header()
		switch {
		case strings.HasPrefix(r.URL.Path, "/hsts/"):
			h.Set("Strict-Transport-Security", strings.TrimPrefix(r.URL.Path, "/hsts/"))
		case r.URL.Path == "/hsts2":
			h.Add("Strict-Transport-Security", "max-age=100")
			h.Add("Strict-Transport-Security", "max-age=200")
		case r.URL.Path == "/redirect":
			h.Set("Location", r.URL.Query().Get("to"))
			w.WriteHeader(http.StatusFound)
			return
		case r.URL.Path == "/cookie":
			h.Add("Set-Cookie", "session=1; HttpOnly")
		}
		h.Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(seen{Method: r.Method, Host: r.Host, URI: r.RequestURI, Proto: r.Proto, Header: r.Header, Backend: name})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// harness runs an edge on loopback for one test.
type harness struct {
	t      testing.TB
	srv    *Server
	addrs  Addrs
	certs  *testCerts
	access *syncBuffer
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
	file   string
}

// base is the part of every test configuration that puts the listeners
// on loopback ports of the system's choosing. Its self_signed names cover
// the tests' domains, as config.Load requires of redirected domains (the
// tests serve certificates of their own, see testCerts).
const base = `
listen: {http: "127.0.0.1:0", https: "127.0.0.1:0"}
admin: {listen: "127.0.0.1:0"}
tls: {self_signed: [localhost, "*.example.com", "*.shop.example.com"]}
`

// baseFor returns base without its listen line when cfg has its own.
func baseFor(cfg string) string {
	if strings.HasPrefix(cfg, "listen:") {
		return strings.Replace(base, "listen: {http: \"127.0.0.1:0\", https: \"127.0.0.1:0\"}\n", "", 1)
	}
	return base
}

// startEdge parses the configuration (base + cfg), writes it to a file
// for reloads, and serves it until the test ends.
func startEdge(t testing.TB, cfg string, opts ...Option) *harness {
	t.Helper()
	return startEdgeWatching(t, cfg, time.Hour, opts...)
}

// startEdgeWatching is startEdge with the configuration file polled
// every interval.
func startEdgeWatching(t testing.TB, cfg string, interval time.Duration, opts ...Option) *harness {
	t.Helper()
	loadTestCert()
	h := &harness{t: t, certs: &testCerts{}, access: &syncBuffer{}, logs: &syncBuffer{}, done: make(chan error, 1)}
	h.file = filepath.Join(t.TempDir(), "edge.yaml")
	if err := os.WriteFile(h.file, []byte(baseFor(cfg)+cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(h.file)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	opts = append([]Option{
		WithLogger(slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		WithAccessLog(slog.New(slog.NewJSONHandler(h.access, nil))),
		WithConfigFile(h.file, interval),
	}, opts...)
	h.srv, err = New(c, h.certs, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := h.srv.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	h.addrs = h.srv.Addrs()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.srv.Serve(ctx) }()
	// Serve tells the certificate manager the domains, then serves.
	waitFor(t, "the edge to serve", func() bool { return h.certs.lastManaged() != nil })
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			t.Logf("edge log:\n%s", h.logs.String())
		}
	})
	return h
}

// stop shuts the edge down and returns what Serve returned.
func (h *harness) stop() error {
	h.cancel()
	select {
	case err := <-h.done:
		h.done <- err // for a second call
		return err
	case <-time.After(30 * time.Second):
		h.t.Fatalf("Serve did not return within 30s of the shutdown")
		return nil
	}
}

// client returns a client that dials the edge whatever the URL's host,
// trusts the test certificate and does not follow redirects. h2 selects
// HTTP/2 on HTTPS; otherwise HTTP/1.1.
func (h *harness) client(h2 bool) *http.Client {
	c := newClient(h.addrs, h2)
	h.t.Cleanup(c.CloseIdleConnections)
	return c
}

// newClient returns a client for an edge listening on addrs: see
// harness.client.
func newClient(addrs Addrs, h2 bool) *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			target := addrs.HTTP
			if port == "443" {
				target = addrs.HTTPS
			}
			var d net.Dialer
			return d.DialContext(ctx, "tcp", target)
		},
		TLSClientConfig:   &tls.Config{RootCAs: testRoot},
		ForceAttemptHTTP2: h2,
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
}

// do sends a request and returns the response with its body read.
func (h *harness) do(c *http.Client, method, url string, hdr http.Header, body io.Reader) (*http.Response, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if host := hdr.Get("Host"); host != "" {
		req.Host = host
		req.Header.Del("Host")
	}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, url, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		h.t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp, string(b)
}

// get is do for a GET without headers.
func (h *harness) get(c *http.Client, url string) (*http.Response, string) {
	h.t.Helper()
	return h.do(c, http.MethodGet, url, nil, nil)
}

// decodeSeen parses the echo backend's answer.
func decodeSeen(t testing.TB, body string) seen {
	t.Helper()
	var s seen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("backend answer %q: %v", body, err)
	}
	return s
}

// httpsURL returns the https URL of host and path on the edge (the
// client's dialer sends port 443 to the HTTPS listener).
func httpsURL(host, path string) string { return "https://" + host + path }

// httpURL returns the http URL of host and path on the edge.
func httpURL(host, path string) string { return "http://" + host + path }

// httpsPort returns the HTTPS listener's port.
func (h *harness) httpsPort() string {
	_, p, _ := net.SplitHostPort(h.addrs.HTTPS)
	return p
}

// metrics scrapes /metrics and returns the value of the series whose
// text (name{labels}) is given, or -1.
func (h *harness) metric(series string) float64 {
	h.t.Helper()
	resp, err := http.Get("http://" + h.addrs.Admin + "/metrics")
	if err != nil {
		h.t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err == nil {
				return v
			}
		}
	}
	return -1
}

// waitFor polls cond every 10ms until it is true or 10s have passed.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var errTest = errors.New("test failure")

// newServer starts a backend and returns its URL.
func newServer(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// slowServer returns the URL of an app that answers body to its first
// request once release is closed, and closes arrived when that request
// has arrived.
func slowServer(t testing.TB, body string) (url string, arrived <-chan struct{}, release chan struct{}) {
	t.Helper()
	in, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	url = newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(in) })
		<-release
		io.WriteString(w, body)
	}))
	return url, in, release
}

// fetched is the outcome of a request sent in the background.
type fetched struct {
	status int
	body   string
	err    error
}

// getAsync sends GET url with c in the background.
func getAsync(c *http.Client, url string) <-chan fetched {
	res := make(chan fetched, 1)
	go func() {
		resp, err := c.Get(url)
		if err != nil {
			res <- fetched{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- fetched{resp.StatusCode, string(b), err}
	}()
	return res
}

// osWriteFile replaces a file's content through a rename, as editors do,
// so that a reader never sees it half written.
func osWriteFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// mustParse parses a YAML configuration.
func mustParse(t testing.TB, yaml string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(yaml), config.YAML)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

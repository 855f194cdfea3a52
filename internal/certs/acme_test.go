//go:build unix

package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/forcehttps/forcehttps/internal/pebbletest"
)

// edge is a minimal edge: an HTTP server answering HTTP-01 challenges and
// an HTTPS server, both on loopback, serving the current Manager.
type edge struct {
	cur               atomic.Pointer[Manager]
	challenger        atomic.Pointer[Manager] // answers HTTP-01 instead of cur, if set
	httpPort, tlsPort int
	tlsAddr           string

	httpChallenges atomic.Int32 // requests HandleHTTPChallenge answered
	alpnHandshakes atomic.Int32 // handshakes offering only acme-tls/1

	// gate, if set, sees every HTTP-01 request first; false answers
	// 404 (the validation fails).
	gate atomic.Pointer[func(*http.Request) bool]
}

func startEdge(t *testing.T) *edge {
	t.Helper()
	e := &edge{}
	hl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.httpPort = hl.Addr().(*net.TCPAddr).Port
	e.tlsPort = tl.Addr().(*net.TCPAddr).Port
	e.tlsAddr = tl.Addr().String()
	quiet := log.New(io.Discard, "", 0)

	httpSrv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if g := e.gate.Load(); g != nil && !(*g)(r) {
				http.NotFound(w, r)
				return
			}
			m := e.challenger.Load()
			if m == nil {
				m = e.cur.Load()
			}
			if m != nil && m.HandleHTTPChallenge(w, r) {
				e.httpChallenges.Add(1)
				return
			}
			http.NotFound(w, r)
		}),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          quiet,
	}
	go httpSrv.Serve(hl)
	t.Cleanup(func() { httpSrv.Close() })

	tlsSrv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, r.Proto)
		}),
		TLSConfig: &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			if slices.Equal(h.SupportedProtos, []string{alpnProto}) {
				e.alpnHandshakes.Add(1)
			}
			m := e.cur.Load()
			if m == nil {
				return nil, errors.New("no manager")
			}
			return m.TLSConfig(), nil
		}},
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          quiet,
	}
	go tlsSrv.ServeTLS(tl, "", "")
	t.Cleanup(func() { tlsSrv.Close() })
	return e
}

// startACME starts an edge, and Pebble (with o, its ports set to the
// edge's), and returns them with a log recorder for Managers, dumped when
// the test fails.
func startACME(t *testing.T, o pebbletest.Options) (*edge, *pebbletest.Pebble, *logRecorder) {
	t.Helper()
	e := startEdge(t)
	o.HTTPPort, o.TLSPort = e.httpPort, e.tlsPort
	p := pebbletest.Start(t, o)
	logs := newLogRecorder()
	logs.dumpOnFailure(t, "manager log")
	return e, p, logs
}

// use makes a Manager with newManager and makes it the edge's current one.
func (e *edge) use(t *testing.T, p *pebbletest.Pebble, a ACME, logs *logRecorder) *Manager {
	t.Helper()
	m := newManager(t, p, a, logs)
	e.cur.Store(m)
	return m
}

// newManager makes a Manager for Pebble with a and the self-signed name
// "localhost".
func newManager(t *testing.T, p *pebbletest.Pebble, a ACME, logs *logRecorder) *Manager {
	t.Helper()
	return newManagerClock(t, p, a, logs, nil)
}

// newManagerClock is newManager with the clock now (nil: time.Now).
func newManagerClock(t *testing.T, p *pebbletest.Pebble, a ACME, logs *logRecorder, now func() time.Time) *Manager {
	t.Helper()
	a.Directory = p.Directory
	a.CARootFile = p.CAFile
	a.Email = "ops@example.org"
	m, err := New(context.Background(), Options{SelfSigned: []string{"localhost"}, ACME: &a, Logger: slog.New(logs), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// handshake connects with server name sni and returns the leaf served,
// with the error of its verification against roots (nil roots: none).
func (e *edge) handshake(sni string, roots *x509.CertPool) (*x509.Certificate, error) {
	// Long enough for an on-demand order.
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", e.tlsAddr, &tls.Config{
		ServerName: sni,
		// Verified below, after taking the leaf: tests also look at
		// certificates that must not verify.
		InsecureSkipVerify: true,
		NextProtos:         []string{"h2", "http/1.1"},
	})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	chain := conn.ConnectionState().PeerCertificates
	if roots == nil {
		return chain[0], nil
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err = chain[0].Verify(x509.VerifyOptions{DNSName: sni, Roots: roots, Intermediates: inter})
	return chain[0], err
}

// waitIssued waits until the edge serves a certificate for name that
// verifies against Pebble's root and satisfies ok.
func (e *edge) waitIssued(t *testing.T, p *pebbletest.Pebble, name string, ok func(*x509.Certificate) bool) *x509.Certificate {
	t.Helper()
	var leaf *x509.Certificate
	waitFor(t, waitLimit, "a certificate from Pebble for "+name, func() (bool, string) {
		l, err := e.handshake(name, p.Roots)
		if err != nil {
			return false, err.Error()
		}
		if ok != nil && !ok(l) {
			return false, "serial " + l.SerialNumber.String()
		}
		leaf = l
		return true, ""
	})
	return leaf
}

// storedCerts lists the certificate files in storage for name.
func storedCerts(t *testing.T, storage, name string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(storage, "certificates", "*", name, name+".crt"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func acmeInfos(m *Manager) []Info {
	var out []Info
	for _, i := range m.Certificates() {
		if i.Source == SourceACME {
			out = append(out, i)
		}
	}
	return out
}

func TestACMEHTTP01(t *testing.T) {
	t.Parallel()
	e, p, logs := startACME(t, pebbletest.Options{})
	storage := t.TempDir()
	m := e.use(t, p, ACME{Storage: storage, DisableTLSALPNChallenge: true}, logs)

	const name = "http01.forcehttps.test"
	if err := m.ManageDomains(context.Background(), []string{name}); err != nil {
		t.Fatal(err)
	}
	leaf := e.waitIssued(t, p, name, nil)

	if n := e.httpChallenges.Load(); n == 0 {
		t.Error("Pebble validated without HandleHTTPChallenge answering")
	}
	if n := e.alpnHandshakes.Load(); n != 0 {
		t.Errorf("%d TLS-ALPN-01 handshakes with TLS-ALPN-01 disabled", n)
	}
	// A real HTTPS request, as a browser trusting Pebble would make it.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: p.Roots},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, e.tlsAddr)
		},
	}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://" + name + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "HTTP/2.0" {
		t.Errorf("GET https://%s/ = %s %q, want 200 over HTTP/2", name, resp.Status, body)
	}

	want := []Info{{Names: []string{name}, NotAfter: leaf.NotAfter, Source: SourceACME, Issuer: leaf.Issuer.CommonName}}
	if diff := cmp.Diff(want, acmeInfos(m)); diff != "" {
		t.Errorf("ACME Certificates() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{name}, m.Managed()); diff != "" {
		t.Errorf("Managed() mismatch (-want +got):\n%s", diff)
	}
	if files := storedCerts(t, storage, name); len(files) != 1 {
		t.Errorf("storage holds %q for %s, want one certificate", files, name)
	}
	if n := p.Orders(); n != 1 {
		t.Errorf("Pebble received %d orders, want 1", n)
	}
}

func TestACMETLSALPN01(t *testing.T) {
	t.Parallel()
	e, p, logs := startACME(t, pebbletest.Options{})
	m := e.use(t, p, ACME{Storage: t.TempDir(), DisableHTTPChallenge: true}, logs)

	const name = "tlsalpn01.forcehttps.test"
	if err := m.ManageDomains(context.Background(), []string{name}); err != nil {
		t.Fatal(err)
	}
	e.waitIssued(t, p, name, nil)
	if n := e.alpnHandshakes.Load(); n == 0 {
		t.Error("Pebble validated without a TLS-ALPN-01 handshake")
	}
	if n := e.httpChallenges.Load(); n != 0 {
		t.Errorf("%d HTTP-01 requests answered with HTTP-01 disabled", n)
	}
	if n := p.Orders(); n != 1 {
		t.Errorf("Pebble received %d orders, want 1", n)
	}
}

// TestACMEOnlyGivenNames checks that only managed names get certificates,
// and what a reload that removes and re-adds a name does.
func TestACMEOnlyGivenNames(t *testing.T) {
	t.Parallel()
	e, p, logs := startACME(t, pebbletest.Options{})
	storage := t.TempDir()
	m := e.use(t, p, ACME{Storage: storage}, logs)
	ctx := context.Background()

	const a, b, unknown = "a.given.test", "b.given.test", "unknown.given.test"
	if err := m.ManageDomains(ctx, []string{a, b}); err != nil {
		t.Fatal(err)
	}
	e.waitIssued(t, p, a, nil)
	lb := e.waitIssued(t, p, b, nil)

	selfSigned := func(sni string) {
		t.Helper()
		leaf, err := e.handshake(sni, nil)
		if err != nil {
			t.Fatalf("handshake for %s: %v", sni, err)
		}
		if leaf.Issuer.CommonName != selfSignedCN {
			t.Errorf("handshake for %s got a certificate from %q, want the self-signed default", sni, leaf.Issuer.CommonName)
		}
	}
	selfSigned(unknown)

	// A reload without b: b is no longer served.
	if err := m.ManageDomains(ctx, []string{a}); err != nil {
		t.Fatal(err)
	}
	selfSigned(b)
	if diff := cmp.Diff([]string{a}, m.Managed()); diff != "" {
		t.Errorf("Managed() mismatch (-want +got):\n%s", diff)
	}
	if infos := acmeInfos(m); len(infos) != 1 || infos[0].Names[0] != a {
		t.Errorf("ACME Certificates() = %+v, want only %s", infos, a)
	}

	// A reload with b again: served at once, from storage.
	if err := m.ManageDomains(ctx, []string{a, b}); err != nil {
		t.Fatal(err)
	}
	leaf, err := e.handshake(b, p.Roots)
	if err != nil {
		t.Fatalf("handshake for %s right after ManageDomains: %v", b, err)
	}
	if leaf.SerialNumber.Cmp(lb.SerialNumber) != 0 {
		t.Errorf("%s served serial %v, want the stored %v", b, leaf.SerialNumber, lb.SerialNumber)
	}

	selfSigned(unknown)
	if n := p.Orders(); n != 2 {
		t.Errorf("Pebble received %d orders, want 2 (%s and %s)", n, a, b)
	}
	if files := storedCerts(t, storage, unknown); len(files) != 0 {
		t.Errorf("storage holds %q for a name never managed", files)
	}
}

func TestACMERestartReusesStorage(t *testing.T) {
	t.Parallel()
	e, p, logs := startACME(t, pebbletest.Options{})
	storage := t.TempDir()
	const name = "restart.forcehttps.test"

	m1 := e.use(t, p, ACME{Storage: storage}, logs)
	if err := m1.ManageDomains(context.Background(), []string{name}); err != nil {
		t.Fatal(err)
	}
	first := e.waitIssued(t, p, name, nil)
	if err := m1.Close(); err != nil {
		t.Fatal(err)
	}

	m2 := e.use(t, p, ACME{Storage: storage}, logs)
	if err := m2.ManageDomains(context.Background(), []string{name}); err != nil {
		t.Fatal(err)
	}
	leaf, err := e.handshake(name, p.Roots)
	if err != nil {
		t.Fatalf("handshake right after ManageDomains on a new Manager: %v", err)
	}
	if leaf.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Errorf("new Manager serves serial %v, want the stored %v", leaf.SerialNumber, first.SerialNumber)
	}
	if n := p.Orders(); n != 1 {
		t.Errorf("Pebble received %d orders, want 1", n)
	}
}

// shortLived is the validity of certificates in the renewal tests, with
// renewal at half of it and checks every second.
const shortLived = 30 * time.Second

func TestACMERenewal(t *testing.T) {
	t.Parallel()
	e, p, logs := startACME(t, pebbletest.Options{Validity: shortLived})
	m := e.use(t, p, ACME{
		Storage:                 t.TempDir(),
		DisableTLSALPNChallenge: true,
		RenewalWindowRatio:      0.5,
		RenewCheckInterval:      time.Second,
	}, logs)

	const name = "renew.forcehttps.test"
	if err := m.ManageDomains(context.Background(), []string{name}); err != nil {
		t.Fatal(err)
	}
	first := e.waitIssued(t, p, name, nil)
	if life := first.NotAfter.Sub(first.NotBefore); life > time.Minute {
		t.Fatalf("Pebble issued a certificate valid for %v; the validity setting was ignored", life)
	}
	renewed := e.waitIssued(t, p, name, func(l *x509.Certificate) bool {
		return l.SerialNumber.Cmp(first.SerialNumber) != 0
	})
	if !renewed.NotAfter.After(first.NotAfter) {
		t.Errorf("renewed certificate expires %v, not after the first one (%v)", renewed.NotAfter, first.NotAfter)
	}
	if n := p.Orders(); n < 2 {
		t.Errorf("Pebble received %d orders, want at least 2", n)
	}
}

func TestACMERenewalFailureKeepsServing(t *testing.T) {
	t.Parallel()
	e, p, logs := startACME(t, pebbletest.Options{Validity: shortLived})
	m := e.use(t, p, ACME{
		Storage:                 t.TempDir(),
		DisableTLSALPNChallenge: true,
		RenewalWindowRatio:      0.5,
		RenewCheckInterval:      time.Second,
	}, logs)

	const name = "renewfail.forcehttps.test"
	if err := m.ManageDomains(context.Background(), []string{name}); err != nil {
		t.Fatal(err)
	}
	e.waitIssued(t, p, name, nil)
	p.StopCA()
	// Taken after the CA is gone: a renewal that completed just before
	// would have changed the certificate.
	before, err := e.handshake(name, p.Roots)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, waitLimit, "a failed renewal to be logged", func() (bool, string) {
		_, ok := logs.find(slog.LevelError, "could not get certificate from issuer", "identifier="+name)
		return ok, strconv.Itoa(len(logs.snapshot())) + " records"
	})
	after, err := e.handshake(name, nil)
	if err != nil {
		t.Fatalf("handshake after a failed renewal: %v", err)
	}
	if after.SerialNumber.Cmp(before.SerialNumber) != 0 {
		t.Errorf("after a failed renewal %s serves serial %v (issuer %q), want the old %v",
			name, after.SerialNumber, after.Issuer.CommonName, before.SerialNumber)
	}
	if infos := acmeInfos(m); len(infos) != 1 || !infos[0].NotAfter.Equal(before.NotAfter) {
		t.Errorf("ACME Certificates() = %+v, want the old certificate", infos)
	}
}

// TestACMEReplicas runs two Managers on one storage, as two edge replicas
// would: one order between them, both serve the certificate, and the one
// that did not start the challenge answers it.
func TestACMEReplicas(t *testing.T) {
	t.Parallel()
	e, p, logs := startACME(t, pebbletest.Options{})
	storage := t.TempDir()
	a := ACME{Storage: storage, DisableTLSALPNChallenge: true}
	m1 := e.use(t, p, a, logs)
	m2 := newManager(t, p, a, logs)
	e.challenger.Store(m2)

	const name = "replicas.forcehttps.test"
	errs := make(chan error, 2)
	for _, m := range []*Manager{m1, m2} {
		go func() { errs <- m.ManageDomains(context.Background(), []string{name}) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	leaf := e.waitIssued(t, p, name, nil)
	waitFor(t, waitLimit, "the second replica to serve the certificate", func() (bool, string) {
		c, err := m2.GetCertificate(hello(name))
		if err != nil {
			return false, err.Error()
		}
		return c.Leaf.SerialNumber.Cmp(leaf.SerialNumber) == 0, "issuer " + c.Leaf.Issuer.CommonName
	})
	if n := e.httpChallenges.Load(); n == 0 {
		t.Error("the replica that did not order answered no HTTP-01 request")
	}
	if n := p.Orders(); n != 1 {
		t.Errorf("Pebble received %d orders from two replicas, want 1", n)
	}
}

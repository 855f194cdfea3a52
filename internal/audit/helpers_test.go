package audit

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// testNow is the audit's clock in tests: certificates are judged at this
// instant, whatever the real date.
var testNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// testHosts are the names the tests use; the loopback dialer resolves them
// all to 127.0.0.1 and nothing else.
var testHosts = []string{"example.test", "www.example.test", "other.test"}

// shared is the test CA and the default certificate, made once per test
// binary (by whichever test asks first) with the fixed dates the audits
// are judged by (testNow).
var shared struct {
	once sync.Once
	ca   *testutil.CA
	leaf tls.Certificate
}

// getCA returns the shared test CA, named as the golden files show it.
func getCA(t testing.TB) *testutil.CA {
	t.Helper()
	shared.once.Do(func() {
		ca := testutil.NewCA(t, testutil.CAOptions{
			Name:      "forcehttps test CA",
			NotBefore: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:  time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC),
		})
		shared.leaf = ca.Issue(t, defaultLeaf).TLSCertificate()
		shared.ca = ca
	})
	if shared.ca == nil {
		t.Fatal("the shared test CA could not be made: see the first test that asked for it")
	}
	return shared.ca
}

// defaultLeaf is valid for the test hosts for a year from testNow.
var defaultLeaf = testutil.LeafOptions{
	Names:     testHosts,
	NotBefore: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
	NotAfter:  time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
}

// defaultCert returns the shared certificate issued with defaultLeaf.
func defaultCert(t testing.TB) tls.Certificate {
	t.Helper()
	getCA(t)
	return shared.leaf
}

// site is a test site: an HTTPS server and an optional plain-HTTP server
// on loopback.
type site struct {
	httpsPort, httpPort int
	tlsServer           *httptest.Server
}

// siteSpec configures a test site.
type siteSpec struct {
	// https and http are the handlers; a nil http leaves the plain-HTTP
	// port closed.
	https, http http.Handler
	// build, when set, makes both handlers knowing the ports (for
	// redirects that name the HTTPS port).
	build func(httpsPort, httpPort int) (https, http http.Handler)
	cert  *tls.Certificate  // nil: defaultLeaf
	tls   func(*tls.Config) // adjusts the server's TLS config
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func portOf(t testing.TB, l net.Listener) int {
	t.Helper()
	return l.Addr().(*net.TCPAddr).Port
}

// newDiscardLogger discards a server's own error log: the version probes
// make handshakes fail on purpose.
func newDiscardLogger() *log.Logger { return log.New(io.Discard, "", 0) }

func serve(t testing.TB, s siteSpec) *site {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ts.Config.ErrorLog = newDiscardLogger()
	st := &site{httpsPort: portOf(t, ts.Listener), tlsServer: ts}
	var hs *httptest.Server
	if s.http != nil || s.build != nil {
		hs = httptest.NewUnstartedServer(nil)
		hs.Config.ErrorLog = newDiscardLogger()
		st.httpPort = portOf(t, hs.Listener)
	} else {
		st.httpPort = closedPort(t)
	}
	hTLS, hHTTP := s.https, s.http
	if s.build != nil {
		hTLS, hHTTP = s.build(st.httpsPort, st.httpPort)
	}
	ts.Config.Handler = hTLS
	cert := s.cert
	if cert == nil {
		c := defaultCert(t)
		cert = &c
	}
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}}
	if s.tls != nil {
		s.tls(ts.TLS)
	}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	if hs != nil {
		hs.Config.Handler = hHTTP
		hs.Start()
		t.Cleanup(hs.Close)
	}
	return st
}

// loopbackDial resolves the test host names to 127.0.0.1, refuses any
// other name with a DNS error, and refuses any address that is not
// loopback, so that a test can never reach the network.
func loopbackDial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil, &net.DNSError{Err: "no such host (test dialer)", Name: host, IsNotFound: true}
	}
	if !ip.IsLoopback() {
		return nil, fmt.Errorf("test dialer: %s is not a loopback address", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
}

// options returns audit options for the site at host "example.test".
func (s *site) options(t testing.TB) Options {
	resolve := map[string]netip.Addr{}
	for _, h := range testHosts {
		resolve[h] = netip.MustParseAddr("127.0.0.1")
	}
	return Options{
		Target:      Target{Host: "example.test", HTTPPort: s.httpPort, HTTPSPort: s.httpsPort, Path: "/"},
		Resolve:     resolve,
		RootCAs:     getCA(t).Pool(),
		Timeout:     5 * time.Second,
		Now:         func() time.Time { return testNow },
		DialContext: loopbackDial,
		Logger:      slog.New(slog.DiscardHandler),
	}
}

// run audits the site and fails the test on error.
func (s *site) run(t testing.TB) *Report {
	t.Helper()
	rep, err := Run(context.Background(), s.options(t))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

// httpsURL returns the site's HTTPS URL for host and path.
func (s *site) httpsURL(host, path string) string {
	return "https://" + net.JoinHostPort(host, strconv.Itoa(s.httpsPort)) + path
}

// findIDs returns the finding IDs of a report.
func findIDs(r *Report) map[string]Finding {
	m := map[string]Finding{}
	for _, f := range r.Findings {
		m[f.ID] = f
	}
	return m
}

// hello is a bare net/http hello world.
var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "hello, world\n")
})

// redirectTo returns a handler that redirects to url with status.
func redirectTo(status int, url string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, url, status)
	})
}

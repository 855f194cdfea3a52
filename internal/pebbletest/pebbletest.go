//go:build unix

// Package pebbletest runs Pebble, Let's Encrypt's test ACME server, and
// its mock DNS server pebble-challtestsrv, on loopback, for the tests of
// the packages that obtain certificates (internal/certs, and the end-to-end
// tests of the edge and its admin API). scripts/pebble.sh installs both
// into .tools/bin; without them, [Start] skips the test (fails it under
// CI=true).
//
// The DNS server answers every name with 127.0.0.1, so Pebble validates
// HTTP-01 and TLS-ALPN-01 challenges against the loopback ports the test
// gives; validation is immediate (no sleep), nonces are never rejected at
// random, and authorizations are never reused, so that every order
// validates again.
package pebbletest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

const pebbleInstall = "bash scripts/pebble.sh"

// proc is a child process in its own process group.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *testutil.Buffer
	done chan struct{}
	once sync.Once
}

func startProc(t testing.TB, bin string, args, env []string) *proc {
	t.Helper()
	p := &proc{name: filepath.Base(bin), out: &testutil.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = t.TempDir()
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			out := p.out.String()
			if len(out) > 20000 {
				out = "…" + out[len(out)-20000:]
			}
			t.Logf("%s output:\n%s", p.name, out)
		}
	})
	return p
}

// stop kills the process group and waits for the process to exit.
func (p *proc) stop() {
	p.once.Do(func() {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	})
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// freePort returns a loopback TCP port that is free now; with udp too, the
// same port is also free for UDP. Another process may take it before the
// caller uses it: callers retry when a child fails to start.
func freePort(t testing.TB, udp bool) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		if udp {
			pc, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil {
				ln.Close()
				continue
			}
			pc.Close()
		}
		ln.Close()
		return port
	}
	t.Fatal("no free port pair")
	return 0
}

// Pebble is a running Pebble with its DNS server, stopped when the test
// ends.
type Pebble struct {
	// Directory is the ACME directory URL.
	Directory string
	// CAFile is a PEM file of the root of Pebble's own HTTPS, to trust
	// for the ACME directory (certs.ACME.CARootFile, tls.acme.ca_root).
	CAFile string
	// Roots holds the root Pebble issues certificates from, to verify
	// them.
	Roots *x509.CertPool

	t      testing.TB
	mgmt   string // management base URL
	client *http.Client
	ca     *proc
	dns    *proc
}

// Options configures [Start].
type Options struct {
	// HTTPPort and TLSPort are the loopback ports where Pebble validates
	// HTTP-01 and TLS-ALPN-01 challenges.
	HTTPPort, TLSPort int
	// Validity is the lifetime of the certificates; 0 is Pebble's
	// default.
	Validity time.Duration
}

// Start runs pebble-challtestsrv, answering every name with 127.0.0.1,
// and Pebble validating on the given ports.
func Start(t testing.TB, o Options) *Pebble {
	t.Helper()
	pebbleBin := testutil.FindTool(t, "pebble", pebbleInstall)
	challBin := testutil.FindTool(t, "pebble-challtestsrv", pebbleInstall)

	dir := t.TempDir()
	ca := testutil.NewCA(t, testutil.CAOptions{})
	leaf := ca.Issue(t, testutil.LeafOptions{Names: []string{"127.0.0.1", "localhost"}})
	p := &Pebble{t: t, CAFile: ca.WriteFile(t)}
	testutil.WriteFile(t, filepath.Join(dir, "cert.pem"), leaf.ChainPEM())
	testutil.WriteFile(t, filepath.Join(dir, "key.pem"), leaf.KeyPEM())
	p.client = &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}},
	}
	t.Cleanup(p.client.CloseIdleConnections)

	var dnsAddr string
	for attempt := 0; ; attempt++ {
		dnsAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t, true)))
		mgmt := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t, false)))
		p.dns = startProc(t, challBin, []string{
			"-dnsserver", dnsAddr, "-management", mgmt,
			"-http01", "", "-https01", "", "-doh", "", "-tlsalpn01", "",
			"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		}, nil)
		if p.waitDNS(dnsAddr) {
			break
		}
		p.dns.stop()
		if attempt == 2 {
			t.Fatalf("pebble-challtestsrv did not start")
		}
	}

	validity := uint64(o.Validity / time.Second)
	for attempt := 0; ; attempt++ {
		listen := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t, false)))
		mgmt := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t, false)))
		cfg := map[string]any{"pebble": map[string]any{
			"listenAddress":           listen,
			"managementListenAddress": mgmt,
			"certificate":             filepath.Join(dir, "cert.pem"),
			"privateKey":              filepath.Join(dir, "key.pem"),
			"httpPort":                o.HTTPPort,
			"tlsPort":                 o.TLSPort,
			"ocspResponderURL":        "",
			"keyAlgorithm":            "ecdsa",
			"profiles": map[string]any{
				"default": map[string]any{"description": "test", "validityPeriod": validity},
			},
		}}
		b, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfgFile := filepath.Join(dir, "pebble.json")
		testutil.WriteFile(t, cfgFile, b)
		p.ca = startProc(t, pebbleBin, []string{"-config", cfgFile, "-dnsserver", dnsAddr, "-strict"}, []string{
			"PEBBLE_VA_NOSLEEP=1",      // validate at once
			"PEBBLE_WFE_NONCEREJECT=0", // no random bad-nonce errors
			"PEBBLE_AUTHZREUSE=0",      // every order validates again
		})
		p.Directory = "https://" + listen + "/dir"
		p.mgmt = "https://" + mgmt
		if p.waitReady() {
			break
		}
		p.ca.stop()
		if attempt == 2 {
			t.Fatalf("pebble did not start")
		}
	}
	p.Roots = p.fetchRoots()
	return p
}

// waitDNS waits until the DNS server answers with 127.0.0.1, or its
// process exits.
func (p *Pebble) waitDNS(addr string) bool {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !p.dns.exited() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		ips, err := r.LookupHost(ctx, "probe.forcehttps.test")
		cancel()
		if err == nil && len(ips) > 0 && ips[0] == "127.0.0.1" {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// waitReady waits until Pebble serves its directory and management
// interface, or its process exits.
func (p *Pebble) waitReady() bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !p.ca.exited() {
		if p.get(p.Directory) == nil && p.get(p.mgmt+"/roots/0") == nil {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func (p *Pebble) get(url string) error {
	_, err := p.fetch(url)
	return err
}

func (p *Pebble) fetch(url string) ([]byte, error) {
	resp, err := p.client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b, nil
}

// fetchRoots returns Pebble's issuing root, which it generates at start.
func (p *Pebble) fetchRoots() *x509.CertPool {
	p.t.Helper()
	b, err := p.fetch(p.mgmt + "/roots/0")
	if err != nil {
		p.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		p.t.Fatalf("no root certificate from Pebble: %q", b)
	}
	return pool
}

// Orders is the number of orders Pebble received.
func (p *Pebble) Orders() int {
	return strings.Count(p.ca.out.String(), "Added order ")
}

// FreePort returns a loopback TCP port that is free now, for a listener
// whose port Pebble must know before it starts (Options.HTTPPort).
// Another process may take it first; that is rare enough for tests.
func FreePort(t testing.TB) int {
	t.Helper()
	return freePort(t, false)
}

// StopCA stops Pebble (not its DNS server): orders and renewals fail from
// then on.
func (p *Pebble) StopCA() { p.ca.stop() }

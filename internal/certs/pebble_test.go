//go:build unix

package certs

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

// The ACME tests run Pebble, Let's Encrypt's test CA, and its mock DNS
// server pebble-challtestsrv, on loopback. scripts/pebble.sh installs both.

const pebbleInstall = "bash scripts/pebble.sh"

// waitLimit bounds every wait on Pebble or on certmagic.
const waitLimit = 60 * time.Second

// proc is a child process in its own process group.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *testutil.Buffer
	done chan struct{}
	once sync.Once
}

func startProc(t *testing.T, bin string, args, env []string) *proc {
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
func freePort(t *testing.T, udp bool) int {
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

// waitFor polls cond until it reports true, failing the test after limit.
// cond returns a description of what it saw, for the failure message.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s; last: %s", limit, what, detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pebble is a running Pebble with its DNS server.
type pebble struct {
	t         *testing.T
	directory string // ACME directory URL
	mgmt      string // management base URL
	caFile    string // PEM root of Pebble's own HTTPS, for ACME.CARootFile
	client    *http.Client
	ca        *proc
	dns       *proc
	roots     *x509.CertPool // Pebble's issuing root
}

// pebbleOptions configures startPebble.
type pebbleOptions struct {
	httpPort, tlsPort int // where Pebble validates HTTP-01 and TLS-ALPN-01
	validity          time.Duration
}

// startPebble runs pebble-challtestsrv, answering every name with
// 127.0.0.1, and Pebble validating on the given ports.
func startPebble(t *testing.T, o pebbleOptions) *pebble {
	t.Helper()
	pebbleBin := testutil.FindTool(t, "pebble", pebbleInstall)
	challBin := testutil.FindTool(t, "pebble-challtestsrv", pebbleInstall)

	dir := t.TempDir()
	ca := testutil.NewCA(t, testutil.CAOptions{})
	leaf := ca.Issue(t, testutil.LeafOptions{Names: []string{"127.0.0.1", "localhost"}})
	p := &pebble{t: t, caFile: ca.WriteFile(t)}
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

	validity := uint64(o.validity / time.Second)
	for attempt := 0; ; attempt++ {
		listen := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t, false)))
		mgmt := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t, false)))
		cfg := map[string]any{"pebble": map[string]any{
			"listenAddress":           listen,
			"managementListenAddress": mgmt,
			"certificate":             filepath.Join(dir, "cert.pem"),
			"privateKey":              filepath.Join(dir, "key.pem"),
			"httpPort":                o.httpPort,
			"tlsPort":                 o.tlsPort,
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
		p.directory = "https://" + listen + "/dir"
		p.mgmt = "https://" + mgmt
		if p.waitReady() {
			break
		}
		p.ca.stop()
		if attempt == 2 {
			t.Fatalf("pebble did not start")
		}
	}
	p.roots = p.fetchRoots()
	return p
}

// waitDNS waits until the DNS server answers with 127.0.0.1, or its
// process exits.
func (p *pebble) waitDNS(addr string) bool {
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
func (p *pebble) waitReady() bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !p.ca.exited() {
		if p.get(p.directory) == nil && p.get(p.mgmt+"/roots/0") == nil {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func (p *pebble) get(url string) error {
	_, err := p.fetch(url)
	return err
}

func (p *pebble) fetch(url string) ([]byte, error) {
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
func (p *pebble) fetchRoots() *x509.CertPool {
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

// orders is the number of orders Pebble received.
func (p *pebble) orders() int {
	return strings.Count(p.ca.out.String(), "Added order ")
}

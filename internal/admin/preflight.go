package admin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/forcehttps/forcehttps/internal/config"
)

// Preflight is the result of checking every domain of an app over HTTPS
// through the edge.
type Preflight struct {
	// App is the app's name.
	App string `json:"app"`
	// OK is true when no checked domain failed.
	OK bool `json:"ok"`
	// Domains has one result per domain, in the app's order.
	Domains []DomainCheck `json:"domains"`
}

// DomainCheck is the preflight result of one domain.
type DomainCheck struct {
	// Domain is the domain as configured.
	Domain string `json:"domain"`
	// OK is true when the certificate is valid for the name and the app
	// answered with a status below 500.
	OK bool `json:"ok"`
	// Skipped is true for wildcards, which cannot be fetched.
	Skipped bool `json:"skipped,omitempty"`
	// Status is the app's status code, 0 if there was no answer.
	Status int `json:"status,omitempty"`
	// Detail says what failed, or why the domain was skipped.
	Detail string `json:"detail,omitempty"`
}

// Preflight fetches https://<domain>/ for every domain of app through the
// edge's own HTTPS listener, with the domain as server name and Host,
// verifying the certificate against the system roots and Options.Roots.
func (a *Admin) Preflight(ctx context.Context, app *config.App) *Preflight {
	p := &Preflight{App: app.Name, OK: true, Domains: make([]DomainCheck, len(app.Domains))}
	addr := ""
	if a.edge != nil {
		addr = loopback(a.edge.Addrs().HTTPS)
	}
	var wg sync.WaitGroup
	for i, d := range app.Domains {
		if strings.HasPrefix(d, "*.") {
			p.Domains[i] = DomainCheck{Domain: d, OK: true, Skipped: true, Detail: "wildcard: not checked; check each name in use yourself"}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Domains[i] = a.check(ctx, addr, d)
		}()
	}
	wg.Wait()
	for _, d := range p.Domains {
		if !d.OK {
			p.OK = false
		}
	}
	return p
}

// check fetches https://domain/ through the HTTPS listener at addr.
func (a *Admin) check(ctx context.Context, addr, domain string) DomainCheck {
	res := DomainCheck{Domain: domain}
	if addr == "" {
		res.Detail = "the edge's HTTPS listener is not running"
		return res
	}
	roots, err := a.roots()
	if err != nil {
		res.Detail = "no certificate roots to verify with"
		return res
	}
	host := strings.TrimSuffix(domain, ".")
	urlHost := host
	if strings.Contains(host, ":") {
		urlHost = "[" + host + "]"
	}
	d := &net.Dialer{Timeout: a.o.PreflightTimeout}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		},
		TLSClientConfig:   &tls.Config{ServerName: host, RootCAs: roots, MinVersion: tls.VersionTLS12},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		Timeout:       a.o.PreflightTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	ctx, cancel := context.WithTimeout(ctx, a.o.PreflightTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+urlHost+"/", nil)
	if err != nil {
		res.Detail = "not a name that can be fetched"
		return res
	}
	req.Header.Set("User-Agent", "forcehttps-preflight")
	resp, err := client.Do(req)
	if err != nil {
		res.Detail = describe(err, domain)
		return res
	}
	resp.Body.Close()
	res.Status = resp.StatusCode
	if resp.StatusCode >= 500 {
		res.Detail = fmt.Sprintf("the app answered %d %s over HTTPS", resp.StatusCode, http.StatusText(resp.StatusCode))
		return res
	}
	res.OK = true
	return res
}

// describe turns a fetch error into a sentence without addresses.
func describe(err error, domain string) string {
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &hostname):
		return fmt.Sprintf("the certificate does not cover %q", domain)
	case errors.As(err, &unknown):
		return "the certificate is not signed by a trusted authority (self-signed or private CA)"
	case errors.As(err, &invalid):
		if invalid.Reason == x509.Expired {
			return "the certificate has expired or is not yet valid"
		}
		return "the certificate is not valid"
	case errors.As(err, &verify):
		return "the certificate could not be verified"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return "no answer in time"
	}
	var alert tls.AlertError
	if errors.As(err, &alert) {
		return "the TLS handshake failed: no certificate for this name"
	}
	return "the HTTPS request failed"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// roots returns the system roots plus Options.Roots.
func (a *Admin) roots() (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, c := range a.o.Roots {
		pool.AddCert(c)
	}
	return pool, nil
}

// loopback replaces an unspecified listener host (0.0.0.0, ::) with the
// loopback address of the same family.
func loopback(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

package config

import (
	"errors"
	"net"
	"net/netip"
	"strings"

	"github.com/forcehttps/forcehttps/internal/tokenfile"
)

// IsLoopbackListen reports whether a listen address (host:port) accepts
// connections from this machine only: localhost or a loopback IP. A
// wildcard (":9090", "0.0.0.0:9090", "[::]:9090") or any other host is
// not.
func IsLoopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// validateAdmin checks the admin block without reading files: the TLS
// pair is complete, and plain HTTP beyond loopback is asked for
// explicitly.
func (c *Config) validateAdmin(v *validator) {
	a := c.Admin
	if t := a.TLS; t != nil {
		if t.CertFile == "" {
			v.add("admin.tls.cert_file", ErrRequired, "a certificate file is required")
		}
		if t.KeyFile == "" {
			v.add("admin.tls.key_file", ErrRequired, "a key file is required")
		}
	}
	if a.Listen != "" && a.TLS == nil && !a.InsecurePlainHTTP && checkHostPort(a.Listen) == nil && !IsLoopbackListen(a.Listen) {
		v.add("admin.listen", ErrTLS, "%q is reachable beyond this machine in plain HTTP: the bearer token would cross the network in clear; "+
			"set admin.tls {cert_file, key_file}, or listen on 127.0.0.1 or [::1] (or, knowing the risk, set admin.insecure_plain_http: true)", a.Listen)
	}
}

// checkAdminFiles checks the files of the admin block: the TLS pair with
// the code the listener serves it with, and the tokens file with the
// parser the admin reads it with.
func (c *Config) checkAdminFiles(v *validator) {
	a := c.Admin
	if t := a.TLS; t != nil && t.CertFile != "" && t.KeyFile != "" {
		c.checkPairFiles(v, "admin.tls", t.CertFile, t.KeyFile)
	}
	if a.TokensFile != "" {
		// Never quoted: it holds secrets.
		if data, ok := readPEM(v, "admin.tokens_file", a.TokensFile, ErrValue); ok {
			if _, err := tokenfile.Parse(data); err != nil {
				var le *tokenfile.LineError
				if errors.As(err, &le) {
					v.add("admin.tokens_file", ErrValue, "%q: %v", a.TokensFile, le)
				} else {
					v.add("admin.tokens_file", ErrValue, "%q: %v", a.TokensFile, err)
				}
			}
		}
	}
}

package audit

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/forcehttps/forcehttps"
)

// ErrTarget means the URL or host to audit is malformed. Errors from
// [ParseTarget] wrap it.
var ErrTarget = errors.New("invalid target")

// maxTargetLen bounds the input of ParseTarget.
const maxTargetLen = 2048

// Target is what to audit: a host, the ports of its plain-HTTP and HTTPS
// listeners, and the path to request.
type Target struct {
	// Host is the host name or IP address, normalised by
	// [forcehttps.NormalizeHost]: lower case, no trailing dot, punycode,
	// IPv6 without brackets.
	Host string
	// HTTPPort is the port the plain-HTTP redirect chain starts on. Zero
	// means 80.
	HTTPPort int
	// HTTPSPort is the port of the HTTPS site and of the TLS probes. Zero
	// means: the port of the first https URL on Host that the plain-HTTP
	// redirect chain reaches, or 443 when it reaches none ([Run] says
	// which in [Report.HTTPSPortSource]).
	HTTPSPort int
	// Path is the escaped path, with "?" and the query if any. Empty means
	// "/".
	Path string
}

// ParseTarget parses what a user typed: an http or https URL, or a bare
// host[:port] (optionally followed by a path), whose port is taken as the
// HTTPS port. The port of an http URL is the plain-HTTP port; of an https
// URL, the HTTPS port. The plain-HTTP port defaults to 80. The HTTPS port
// of an https URL defaults to 443; that of an http URL or a bare host
// without a port is left zero, for [Run] to take from the redirect.
// Credentials, schemes other than http and https, and hosts that
// [forcehttps.NormalizeHost] rejects are errors wrapping [ErrTarget]. The
// fragment is dropped.
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Target{}, fmt.Errorf("%w: empty", ErrTarget)
	}
	if len(s) > maxTargetLen {
		return Target{}, fmt.Errorf("%w: longer than %d bytes", ErrTarget, maxTargetLen)
	}
	if !utf8.ValidString(s) {
		return Target{}, fmt.Errorf("%w: %q is not valid UTF-8", ErrTarget, s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return Target{}, fmt.Errorf("%w: %q contains whitespace or control characters", ErrTarget, s)
		}
	}
	scheme := "https"
	rest := s
	explicit := false
	if i := strings.Index(s, "://"); i >= 0 {
		explicit = true
		scheme = strings.ToLower(s[:i])
		if scheme != "http" && scheme != "https" {
			return Target{}, fmt.Errorf("%w: %q: scheme %q is not http or https", ErrTarget, s, s[:i])
		}
		rest = s[i+3:]
	}
	u, err := url.Parse(scheme + "://" + rest)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in our message already
		}
		return Target{}, fmt.Errorf("%w: %q: %v", ErrTarget, s, err)
	}
	if u.User != nil {
		return Target{}, fmt.Errorf("%w: %q: credentials in the URL are not supported", ErrTarget, s)
	}
	if u.Host == "" {
		return Target{}, fmt.Errorf("%w: %q: no host", ErrTarget, s)
	}
	host, port := u.Hostname(), u.Port()
	if strings.HasSuffix(u.Host, ":") {
		return Target{}, fmt.Errorf("%w: %q: empty port", ErrTarget, s)
	}
	if strings.HasPrefix(u.Host, "[") != strings.Contains(host, ":") {
		// url.Parse accepts "[example.com]"; only IPv6 goes in brackets.
		return Target{}, fmt.Errorf("%w: %q: brackets are only for IPv6 addresses", ErrTarget, s)
	}
	nh, err := forcehttps.NormalizeHost(host)
	if err == nil {
		// The canonical form must be canonical itself, or connecting
		// and matching certificates would use different names.
		if again, err2 := forcehttps.NormalizeHost(nh); err2 != nil || again != nh {
			err = errors.New("not canonical")
		}
	}
	if err != nil {
		return Target{}, fmt.Errorf("%w: %q: invalid host %q", ErrTarget, s, host)
	}
	t := Target{Host: nh, HTTPPort: 80}
	if explicit && scheme == "https" {
		t.HTTPSPort = 443
	}
	if port != "" {
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 {
			return Target{}, fmt.Errorf("%w: %q: port %q is not between 1 and 65535", ErrTarget, s, port)
		}
		if scheme == "http" {
			t.HTTPPort = p
		} else {
			t.HTTPSPort = p
		}
	}
	t.Path = u.EscapedPath()
	if t.Path == "" {
		t.Path = "/"
	}
	if u.RawQuery != "" {
		t.Path += "?" + u.RawQuery
	}
	return t, nil
}

// HTTPURL returns the URL the plain-HTTP redirect chain starts from, such
// as "http://example.com/".
func (t Target) HTTPURL() string { return t.url("http").String() }

// HTTPSURL returns the URL of the HTTPS site, such as "https://example.com/".
func (t Target) HTTPSURL() string { return t.url("https").String() }

// TLSAddr returns the host:port the TLS probes connect to (port 443 when
// HTTPSPort is zero).
func (t Target) TLSAddr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.httpsPort())) }

func (t Target) httpPort() int {
	if t.HTTPPort == 0 {
		return 80
	}
	return t.HTTPPort
}

func (t Target) httpsPort() int {
	if t.HTTPSPort == 0 {
		return 443
	}
	return t.HTTPSPort
}

// url builds the URL of the target for scheme, leaving out default ports.
func (t Target) url(scheme string) *url.URL {
	port, def := t.httpsPort(), 443
	if scheme == "http" {
		port, def = t.httpPort(), 80
	}
	host := t.Host
	if port != def {
		host = net.JoinHostPort(t.Host, strconv.Itoa(port))
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	raw, query, hasQuery := strings.Cut(t.Path, "?")
	path, err := url.PathUnescape(raw)
	if err != nil || !strings.HasPrefix(raw, "/") {
		// Path came from ParseTarget or from a caller; a value that is
		// not an absolute path is replaced rather than trusted.
		raw, path, query, hasQuery = "/", "/", "", false
	}
	u := &url.URL{Scheme: scheme, Host: host, Path: path, RawQuery: query}
	u.ForceQuery = hasQuery && query == ""
	u.RawPath = raw // used by String when it is a valid encoding of Path
	return u
}

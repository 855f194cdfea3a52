package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/forcehttps/forcehttps"
	"github.com/forcehttps/forcehttps/internal/audit"
)

func init() {
	register("check", "audit a live site's HTTPS setup and grade it", runCheck)
}

// maxCAFile bounds the size of a --ca bundle.
const maxCAFile = 16 << 20

const checkUsage = `Usage: forcehttps check [flags] URL-or-host

Audits a live site the way Mozilla Observatory, securityheaders.com,
hstspreload.org and SSL Labs do, in one run: the redirect from http://,
HSTS, the security headers and cookies of the HTTPS page, the TLS versions
and the certificate. Prints a report with a fix for each finding and a grade
from A+ to F.

URL-or-host is an http or https URL or a bare host[:port] (the port of a bare
host is the HTTPS port). Without an HTTPS port (an http:// URL, a bare host),
the audit follows the plain-HTTP redirect and probes the HTTPS port it points
to on the same host, or 443; --https-port overrides both.

Exit status: 0 when the grade is at least --min-grade, 1 when it is below
(a site without HTTPS is graded F), 2 for a usage error or when the site
cannot be audited (DNS failure, connection refused on both ports, TLS
handshake failure, timeout, endless redirects). With --json, stdout is JSON
in every case: the report, or {"schema_version", "error": {"kind",
"message"}, ...} when there is none.

Flags:
`

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, checkUsage)
		fs.PrintDefaults()
	}
	addLogFlags(fs, nil) // accepted by every command; check writes no logs
	var (
		resolve      = resolveFlag{}
		insecure     = fs.Bool("insecure", false, "report certificate problems without letting them cap the grade (staging sites)")
		caFile       = fs.String("ca", "", "PEM `file` of CA certificates to trust besides the system roots (private CAs)")
		timeout      = fs.Duration("timeout", audit.DefaultTimeout, "limit for each connection, handshake and response; the whole audit gets six times as long")
		maxRedirects = fs.Int("max-redirects", audit.DefaultMaxRedirects, "redirects followed per chain before giving up")
		minGrade     = fs.String("min-grade", "B", "lowest `grade` that exits 0 (A+ A A- B+ B B- C+ C C- D+ D D- F)")
		asJSON       = fs.Bool("json", false, "print the report as JSON (schema_version 1)")
		colorMode    = fs.String("color", "auto", "colour the text report: auto (when stdout is a terminal and NO_COLOR is unset), always or never")
		httpPort     = fs.Int("http-port", 0, "`port` of the plain-HTTP listener (default 80, or the port of an http:// URL)")
		httpsPort    = fs.Int("https-port", 0, "`port` of the HTTPS listener, overriding the URL and the redirect (default: the port of an https:// URL or host:port, else that of the plain-HTTP redirect to https on the same host, else 443)")
	)
	fs.Var(resolve, "resolve", "`host:ip` or host:port:ip: connect to ip for host (on that port only, with a port) instead of resolving it, like curl --resolve (repeatable)")

	// --json is looked for before parsing, so that even a flag error is
	// reported as JSON on stdout.
	wantJSON := slices.ContainsFunc(args, func(a string) bool {
		switch strings.TrimLeft(a, "-") {
		case "json", "json=true", "json=1", "json=t", "json=TRUE", "json=True":
			return strings.HasPrefix(a, "-")
		}
		return false
	})
	var target audit.Target
	// report prints err on stderr (unless the flag package already did)
	// and, with --json, as JSON on stdout; it returns the exit status 2.
	report := func(kind string, err error, printed bool) int {
		if !printed {
			fmt.Fprintf(stderr, "forcehttps check: %v\n", err)
		}
		if wantJSON {
			f := &audit.Failure{CheckedAt: time.Now(), Error: audit.FailureError{Kind: kind, Message: err.Error()}}
			if target.Host != "" {
				f.Target, f.Host = target.HTTPSURL(), target.Host
			}
			if err := audit.WriteFailureJSON(stdout, f); err != nil {
				fmt.Fprintf(stderr, "forcehttps check: writing the report: %v\n", err)
			}
		}
		return 2
	}
	fail := func(kind string, err error) int { return report(kind, err, false) }
	usageErr := func(format string, a ...any) int {
		return fail("usage", fmt.Errorf(format, a...))
	}

	// Flags may follow the URL: "check example.com --json".
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return report("usage", err, true) // the flag package printed it, with the usage
	}
	if len(positional) != 1 {
		return usageErr("want exactly one URL or host, got %d (see forcehttps check -h)", len(positional))
	}
	target, err = audit.ParseTarget(positional[0])
	if err != nil {
		return fail("target", err)
	}
	for _, p := range []struct {
		name string
		val  int
		dst  *int
	}{{"http-port", *httpPort, &target.HTTPPort}, {"https-port", *httpsPort, &target.HTTPSPort}} {
		if p.val == 0 {
			continue
		}
		if p.val < 1 || p.val > 65535 {
			return usageErr("--%s %d is not between 1 and 65535", p.name, p.val)
		}
		*p.dst = p.val
	}
	floor, err := audit.ParseGrade(*minGrade)
	if err != nil {
		return usageErr("--min-grade: %v", err)
	}
	if *timeout <= 0 {
		return usageErr("--timeout must be positive")
	}
	if *maxRedirects < 1 || *maxRedirects > 100 {
		return usageErr("--max-redirects must be between 1 and 100")
	}
	color, err := useColor(*colorMode, stdout)
	if err != nil {
		return usageErr("%v", err)
	}
	opts := audit.Options{
		Target:       target,
		Resolve:      resolve,
		Insecure:     *insecure,
		Timeout:      *timeout,
		MaxRedirects: *maxRedirects,
	}
	if *caFile != "" {
		if opts.RootCAs, err = loadCAs(*caFile); err != nil {
			return usageErr("--ca: %v", err)
		}
	}

	rep, err := audit.Run(ctx, opts)
	if err != nil {
		kind := audit.ErrorKind(err)
		if ctx.Err() != nil {
			kind = "interrupted"
		}
		return fail(kind, err)
	}
	if *asJSON {
		err = audit.WriteJSON(stdout, rep)
	} else {
		err = audit.WriteText(stdout, rep, color)
	}
	if err != nil {
		fmt.Fprintf(stderr, "forcehttps check: writing the report: %v\n", err)
		return 2
	}
	if !rep.Grade.AtLeast(floor) {
		fmt.Fprintf(stderr, "forcehttps check: grade %s is below --min-grade %s\n", rep.Grade, floor)
		return 1
	}
	return 0
}

// useColor decides whether the text report gets ANSI colours: always,
// never, or (auto) when out is a terminal, NO_COLOR is unset or empty
// (no-color.org) and TERM is not "dumb".
func useColor(mode string, out io.Writer) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
	default:
		return false, fmt.Errorf("--color %q: want auto, always or never", mode)
	}
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false, nil
	}
	f, ok := out.(*os.File)
	if !ok {
		return false, nil
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0, nil
}

// loadCAs returns the system roots plus the certificates of a PEM file.
func loadCAs(path string) (*x509.CertPool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCAFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxCAFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxCAFile)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("no PEM certificate in %s", path)
	}
	return pool, nil
}

// resolveFlag collects --resolve values: host:ip, for every port, and
// curl's host:port:ip, for that port only. Keys are those of
// audit.Options.Resolve: the normalised host, or host:port.
type resolveFlag map[string]netip.Addr

// resolveForms names the accepted forms in error messages.
const resolveForms = "want host:ip or host:port:ip (as curl --resolve), such as example.com:192.0.2.7, example.com:443:192.0.2.7 or example.com:443:[2001:db8::7]"

func (r resolveFlag) String() string {
	var s []string
	for k, ip := range r {
		a := ip.String()
		if ip.Is6() {
			a = "[" + a + "]"
		}
		if host, port, err := net.SplitHostPort(k); err == nil {
			s = append(s, host+":"+port+":"+a)
		} else {
			s = append(s, k+":"+a)
		}
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

// Set parses host:ip or host:port:ip. The IP may be IPv6, with or without
// brackets ("example.com:::1", "example.com:443:[::1]"); a bare IPv6
// address that could also be read as port:address is refused as
// ambiguous. curl's +host, -host and lists of addresses are refused.
func (r resolveFlag) Set(v string) error {
	if strings.HasPrefix(v, "+") || strings.HasPrefix(v, "-") {
		return fmt.Errorf("%q: curl's +host and -host entries are not supported; %s", v, resolveForms)
	}
	host, rest, ok := strings.Cut(v, ":")
	if !ok || host == "" || rest == "" {
		return fmt.Errorf("%q: %s", v, resolveForms)
	}
	nh, err := forcehttps.NormalizeHost(host)
	if err != nil {
		return fmt.Errorf("%q: invalid host %q; %s", v, host, resolveForms)
	}
	whole, wholeErr := parseResolveIP(rest)
	var key string
	var addr netip.Addr
	port, ipPart, hasPort := strings.Cut(rest, ":")
	hasPort = hasPort && port != "" && strings.Trim(port, "0123456789") == ""
	var portAddr netip.Addr
	portErr := errors.New("no port")
	if hasPort {
		portAddr, portErr = parseResolveIP(ipPart)
	}
	switch {
	case portErr == nil && wholeErr == nil:
		return fmt.Errorf("%q: ambiguous: %s is an IPv6 address, and also port %s with address %s; put the address in brackets", v, rest, port, ipPart)
	case portErr == nil:
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("%q: port %q is not between 1 and 65535", v, port)
		}
		key, addr = net.JoinHostPort(nh, strconv.Itoa(p)), portAddr
	case wholeErr == nil:
		key, addr = nh, whole
	case hasPort && strings.Contains(ipPart, ","):
		return fmt.Errorf("%q: one address only; %s", v, resolveForms)
	case hasPort:
		return fmt.Errorf("%q: %q is not an IP address; %s", v, ipPart, resolveForms)
	default:
		return fmt.Errorf("%q: %q is not an IP address; %s", v, rest, resolveForms)
	}
	if prev, dup := r[key]; dup && prev != addr {
		return fmt.Errorf("%q: %s is already resolved to %s", v, key, prev)
	}
	r[key] = addr
	return nil
}

// parseResolveIP parses an IP address, IPv6 optionally in brackets,
// without a zone; an IPv4-mapped IPv6 address becomes IPv4.
func parseResolveIP(s string) (netip.Addr, error) {
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, err
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q: zones are not supported", s)
	}
	return a.Unmap(), nil
}

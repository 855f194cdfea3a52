package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strings"

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
host is the HTTPS port).

Exit status: 0 when the grade is at least --min-grade, 1 when it is below,
2 for a usage error or when the site cannot be audited (DNS failure,
connection refused, TLS handshake failure, timeout, endless redirects).

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
		httpsPort    = fs.Int("https-port", 0, "`port` of the HTTPS listener (default 443, or the port of an https:// URL or bare host)")
	)
	fs.Var(resolve, "resolve", "`host:ip`: connect to ip for host instead of resolving it, like curl --resolve (repeatable)")

	var positional []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		// Flags may follow the URL: "check example.com --json".
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "forcehttps check: "+format+"\n", a...)
		return 2
	}
	if len(positional) != 1 {
		return usageErr("want exactly one URL or host, got %d (see forcehttps check -h)", len(positional))
	}
	target, err := audit.ParseTarget(positional[0])
	if err != nil {
		return usageErr("%v", err)
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
		fmt.Fprintf(stderr, "forcehttps check: %v\n", err)
		return 2
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

// resolveFlag collects --resolve host:ip values.
type resolveFlag map[string]netip.Addr

func (r resolveFlag) String() string {
	var s []string
	for h, ip := range r {
		s = append(s, h+":"+ip.String())
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

// Set parses host:ip; the IP may be IPv6, with or without brackets
// ("example.com:::1", "example.com:[::1]").
func (r resolveFlag) Set(v string) error {
	host, ip, ok := strings.Cut(v, ":")
	if !ok || host == "" || ip == "" {
		return fmt.Errorf("%q: want host:ip", v)
	}
	nh, err := forcehttps.NormalizeHost(host)
	if err != nil {
		return fmt.Errorf("%q: invalid host %q", v, host)
	}
	if strings.HasPrefix(ip, "[") && strings.HasSuffix(ip, "]") {
		ip = ip[1 : len(ip)-1]
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return fmt.Errorf("%q: %q is not an IP address", v, ip)
	}
	if prev, dup := r[nh]; dup && prev != addr {
		return fmt.Errorf("%q: %s is already resolved to %s", v, nh, prev)
	}
	r[nh] = addr.Unmap()
	return nil
}

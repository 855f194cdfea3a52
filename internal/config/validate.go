package config

import (
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/forcehttps/forcehttps"
)

// Builtins lists the handlers an app can use as "builtin:<name>" upstream.
var Builtins = []string{"inspector"}

// maxHSTSMaxAge bounds hsts.max_age: a hundred years.
const maxHSTSMaxAge = 100 * 365 * 24 * 3600

// Validate checks a Config built in code (Parse and Load validate what
// they return). It returns every problem at once as a [*ValidationError].
func (c *Config) Validate() error {
	v := &validator{}
	c.validate(v)
	if len(v.errs) > 0 {
		return &ValidationError{Errors: v.sorted()}
	}
	return nil
}

// validator collects errors, finding their line in the decoded document.
type validator struct {
	errs    []*FieldError
	decoded int        // v.errs[:decoded] are the decoder's
	root    *yaml.Node // the document; nil: no lines (Validate), or see document
	files   *fileCheck // nil: the files are not checked (Parse, Validate)
	// document, when set, parses the document again, for the first
	// error that needs a line (parse of a large document).
	document func() *yaml.Node
	// keys holds the key of each domain of each app ([DomainKey], ""
	// for an invalid one), once the apps are validated.
	keys [][]string
}

// add records an error, unless the decoder already reported one at path
// or above it: a value of the wrong type is not also "missing".
func (v *validator) add(path string, err error, format string, args ...any) {
	for _, e := range v.errs[:v.decoded] {
		if e.Path == "" || e.Path == path || strings.HasPrefix(path, e.Path+".") || strings.HasPrefix(path, e.Path+"[") {
			return
		}
	}
	v.errs = append(v.errs, &FieldError{Path: path, Line: v.line(path), Message: fmt.Sprintf(format, args...), Err: err})
}

// has reports whether an error was already recorded at path.
func (v *validator) has(path string) bool {
	return slices.ContainsFunc(v.errs, func(e *FieldError) bool { return e.Path == path })
}

// line returns the line of path, or of its nearest ancestor in the file.
func (v *validator) line(path string) int {
	if v.root == nil && v.document != nil {
		v.root, v.document = v.document(), nil
	}
	if v.root == nil {
		return 0
	}
	return lineOf(v.root, path)
}

// sorted returns the errors by line, keeping the order of equal lines;
// errors without a line come last.
func (v *validator) sorted() []*FieldError {
	out := slices.Clone(v.errs)
	slices.SortStableFunc(out, func(a, b *FieldError) int {
		switch {
		case a.Line == b.Line:
			return 0
		case a.Line == 0:
			return 1
		case b.Line == 0:
			return -1
		}
		return a.Line - b.Line
	})
	return out
}

// validate checks the whole configuration.
func (c *Config) validate(v *validator) {
	c.validateListen(v)
	c.validateProxies(v)
	c.validateTLS(v)
	c.validateApps(v)
	c.validateTimeouts(v)
	c.validateCluster(v)
	if c.Limits.MaxHeaderBytes < 1024 || c.Limits.MaxHeaderBytes > 16<<20 {
		v.add("limits.max_header_bytes", ErrValue, "%d is out of range: want 1024 to %d", c.Limits.MaxHeaderBytes, 16<<20)
	}
	if c.Limits.MaxBodyBytes < 0 {
		v.add("limits.max_body_bytes", ErrValue, "%d is negative (0 means no limit)", c.Limits.MaxBodyBytes)
	}
	switch c.AccessLog.Format {
	case "json", "text":
	default:
		v.add("access_log.format", ErrValue, "%q: want json or text", c.AccessLog.Format)
	}
	if c.AccessLog.Output == "" {
		v.add("access_log.output", ErrRequired, "empty: want stderr, stdout, off or a file path")
	}
	if v.files != nil {
		c.checkFiles(v)
	}
}

func (c *Config) validateListen(v *validator) {
	addrs := map[string]string{}
	check := func(path, addr string, required bool) {
		if addr == "" {
			if required {
				v.add(path, ErrRequired, "an address (host:port) is required")
			}
			return
		}
		if err := checkHostPort(addr); err != nil {
			v.add(path, ErrAddress, "%q: %v", addr, err)
			return
		}
		if other, ok := addrs[addr]; ok && !strings.HasSuffix(addr, ":0") {
			v.add(path, ErrAddress, "%q is also the address of %s", addr, other)
			return
		}
		addrs[addr] = path
	}
	check("listen.http", c.Listen.HTTP, true)
	check("listen.https", c.Listen.HTTPS, true)
	check("admin.listen", c.Admin.Listen, false)
	c.validateAdmin(v)
	if p := c.Listen.HTTPSPublicPort; p < 0 || p > 65535 {
		v.add("listen.https_public_port", ErrValue, "%d is not a port (1-65535, or 0 for the port of listen.https)", p)
	}
	if h := c.Listen.HTTP2Server; h != "" && h != HTTP2Builtin && h != HTTP2NetHTTP {
		v.add("listen.http2_server", ErrValue, "%q is not an HTTP/2 server: want %q or %q", h, HTTP2Builtin, HTTP2NetHTTP)
	}
}

// checkHostPort validates a listen address.
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if !strings.Contains(addr, ":") {
			return fmt.Errorf("not host:port (for every address, write %q)", ":"+addr)
		}
		return errors.New("not host:port")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || port != strconv.Itoa(n) {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	if host == "" {
		return nil
	}
	if strings.Contains(host, "%") {
		return nil // a zoned IPv6 address: left to the system
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if _, err := forcehttps.NormalizeHost(host); err != nil {
		return fmt.Errorf("host %q is neither an IP address nor a host name", host)
	}
	return nil
}

func (c *Config) validateProxies(v *validator) {
	var prefixes []netip.Prefix
	for i, s := range c.TrustedProxies {
		path := fmt.Sprintf("trusted_proxies[%d]", i)
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(s)
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if err != nil {
			v.add(path, ErrCIDR, "%q is not a CIDR prefix or an IP address", s)
			continue
		}
		if p.Addr().Is4In6() {
			// Peers are compared unmapped: this prefix would match nobody.
			v.add(path, ErrCIDR, "%q is an IPv4-mapped IPv6 prefix; write it as an IPv4 prefix", s)
			continue
		}
		if p.Bits() == 0 {
			v.add(path, ErrCIDR, "%q trusts every address, so any client could claim https; list the proxies in front of the edge", s)
			continue
		}
		prefixes = append(prefixes, p.Masked())
	}
	for family, all := range map[string]netip.Prefix{"IPv4": netip.MustParsePrefix("0.0.0.0/0"), "IPv6": netip.MustParsePrefix("::/0")} {
		if coversAll(all, prefixes) {
			v.add("trusted_proxies", ErrCIDR, "together these prefixes trust every %s address, so any client could claim https; list the proxies in front of the edge", family)
		}
	}
}

// coversAll reports whether the union of set covers the whole prefix p.
func coversAll(p netip.Prefix, set []netip.Prefix) bool {
	narrower := false
	for _, q := range set {
		if q.Addr().Is4() != p.Addr().Is4() {
			continue
		}
		if q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
			return true
		}
		if q.Bits() > p.Bits() && p.Contains(q.Addr()) {
			narrower = true
		}
	}
	if !narrower {
		return false
	}
	// Split p in halves; some prefix of the set is narrower than p, so
	// the recursion ends at the longest prefix of the set.
	bits := p.Bits() + 1
	lo := netip.PrefixFrom(p.Addr(), bits)
	hiAddr := p.Addr().AsSlice()
	hiAddr[p.Bits()/8] |= 0x80 >> (p.Bits() % 8)
	hi, _ := netip.AddrFromSlice(hiAddr)
	return coversAll(lo, set) && coversAll(netip.PrefixFrom(hi, bits), set)
}

func (c *Config) validateTLS(v *validator) {
	t := &c.TLS
	if len(t.Certificates) == 0 && len(t.SelfSigned) == 0 && t.ACME == nil {
		v.add("tls", ErrTLS, "no certificate source: set certificates, self_signed or acme")
	}
	for i, cf := range t.Certificates {
		if cf.CertFile == "" {
			v.add(fmt.Sprintf("tls.certificates[%d].cert_file", i), ErrRequired, "a certificate file is required")
		}
		if cf.KeyFile == "" {
			v.add(fmt.Sprintf("tls.certificates[%d].key_file", i), ErrRequired, "a key file is required")
		}
		if v.files != nil {
			c.checkPair(v, i)
		}
	}
	for i, name := range t.SelfSigned {
		if _, _, err := forcehttps.ParseHostPattern(name); err != nil {
			v.add(fmt.Sprintf("tls.self_signed[%d]", i), ErrDomain, "%q is not a host name, wildcard or IP address", name)
		}
	}
	a := t.ACME
	if a == nil {
		return
	}
	if a.Email != "" {
		if addr, err := mail.ParseAddress(a.Email); err != nil || addr.Address != a.Email {
			v.add("tls.acme.email", ErrTLS, "%q is not an email address", a.Email)
		}
	}
	if u, err := url.Parse(a.Directory); err != nil || u.Scheme != "https" || u.Host == "" {
		v.add("tls.acme.directory", ErrTLS, "%q is not an https URL", a.Directory)
	}
	if !a.Challenges.HTTP && !a.Challenges.TLSALPN {
		v.add("tls.acme.challenges", ErrTLS, "http and tls_alpn are both off: no way to validate a domain")
	}
	if r := a.RenewalWindowRatio; r < 0 || r >= 1 {
		v.add("tls.acme.renewal_window_ratio", ErrTLS, "%v is not in (0, 1)", r)
	}
	if n := a.OnDemandOrdersPerHour; n < 1 || n > 300 {
		v.add("tls.acme.on_demand_orders_per_hour", ErrTLS, "%d is not in [1, 300] (Let's Encrypt allows 300 new orders per account per 3 hours)", n)
	}
	if d := a.OnDemandTimeout; d < time.Second || d > 5*time.Minute {
		v.add("tls.acme.on_demand_timeout", ErrTLS, "%v is not between 1s and 5m", d)
	} else if a.OnDemand && c.Timeouts.ReadHeader > 0 && d >= c.Timeouts.ReadHeader {
		// The handshake's deadline would cut it before the wait ends.
		v.add("tls.acme.on_demand_timeout", ErrTLS, "%v is not shorter than timeouts.read_header (%v), which bounds the whole TLS handshake: raise timeouts.read_header too", d, c.Timeouts.ReadHeader)
	}
}

var appName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// Others describes the apps an app is validated against ([Config.ValidateApp]):
// the other apps of the configuration. Both functions are required.
type Others struct {
	// Name returns a reference to the other app whose name equals name
	// ignoring case ("apps[3]", or the app's name quoted), if any.
	Name func(name string) (ref string, ok bool)
	// Domain returns the name of the other app that serves key, and where
	// it is ("apps[3]", or "" when there is nothing to add), if any. key is
	// a host as [forcehttps.ParseHostPattern] returns it, or "*." and the
	// parent of a wildcard.
	Domain func(key string) (app, where string, ok bool)
}

// DomainKey returns the key of a domain in the index of the apps'
// domains, as [Others.Domain] takes it: the normalized host, or "*." and
// the normalized parent of a wildcard.
func DomainKey(domain string) (key string, err error) {
	h, wild, err := forcehttps.ParseHostPattern(domain)
	if err != nil {
		return "", err
	}
	if wild {
		return "*." + h, nil
	}
	return h, nil
}

// ValidateApp checks one app as [Config.Validate] checks each of c's
// apps, against the other apps that others describes rather than against
// c.Apps: the rules are the same (name, domains and their uniqueness
// across apps, wildcards, upstream URL, policy, static answers), c gives
// the settings they depend on (trusted proxies, public HTTPS port). It
// returns every problem at once as a [*ValidationError] whose paths are
// relative to the app ("domains[1]", "hsts.max_age").
func (c *Config) ValidateApp(a *App, others Others) error {
	v := &validator{}
	c.validateApp(v, "", a, others)
	if len(v.errs) > 0 {
		return &ValidationError{Errors: v.errs}
	}
	return nil
}

func (c *Config) validateApps(v *validator) {
	if len(c.Apps) == 0 {
		// An edge with an admin listener or in a cluster may get every
		// app through the admin API.
		if c.Admin.Listen == "" && c.Cluster == nil {
			v.add("apps", ErrRequired, "at least one app is required (or an admin listener or a cluster, whose API adds apps)")
		}
		return
	}
	n := 0
	for i := range c.Apps {
		n += len(c.Apps[i].Domains)
	}
	names := make(map[string]int, len(c.Apps))
	domains := make(map[string]int, n) // key -> the app that declared it first
	cur := 0                           // the app being validated
	others := Others{
		Name: func(name string) (string, bool) {
			j, ok := names[strings.ToLower(name)]
			return fmt.Sprintf("apps[%d]", j), ok
		},
		// validateApp asks once for each valid domain of an app, not
		// repeated in the app: a domain no app has is the current app's
		// from then on, with one lookup in a table that is large.
		Domain: func(key string) (string, string, bool) {
			j, ok := domains[key]
			if !ok {
				domains[key] = cur
				return "", "", false
			}
			return c.Apps[j].Name, fmt.Sprintf("apps[%d]", j), true
		},
	}
	v.keys = make([][]string, len(c.Apps))
	for i := range c.Apps {
		a := &c.Apps[i]
		cur = i
		var nameOK bool
		nameOK, v.keys[i] = c.validateApp(v, "apps["+strconv.Itoa(i)+"]", a, others)
		if key := strings.ToLower(a.Name); nameOK {
			if _, dup := names[key]; !dup {
				names[key] = i
			}
		}
	}
}

// joinPath returns the path of key under p ("" for the top).
func joinPath(p, key string) string {
	if p == "" {
		return key
	}
	return p + "." + key
}

// validateApp checks app a at path p ("" for an app alone) against
// others, whose Domain it asks once for each valid domain of a that a
// does not repeat. It reports whether the name is well formed, and
// returns the key ([DomainKey]) of each domain, "" for an invalid one.
func (c *Config) validateApp(v *validator, p string, a *App, others Others) (nameOK bool, keys []string) {
	at := func(key string) string { return joinPath(p, key) }
	switch {
	case a.Name == "":
		v.add(at("name"), ErrRequired, "a name is required")
	case !appName.MatchString(a.Name):
		v.add(at("name"), ErrName, "%q: use letters, digits, '.', '_' and '-' (63 at most), starting with a letter or digit", a.Name)
	default:
		nameOK = true
		if ref, dup := others.Name(a.Name); dup {
			v.add(at("name"), ErrDuplicateName, "%q is also the name of %s", a.Name, ref)
		}
	}
	if len(a.Domains) == 0 {
		v.add(at("domains"), ErrRequired, "at least one domain is required")
	}
	keys = make([]string, len(a.Domains))
	var own map[string]int // key -> its first index, for long lists only
	if len(a.Domains) > shortList {
		own = make(map[string]int, len(a.Domains))
	}
	for j, d := range a.Domains {
		// The path is made for an error only: a table of many apps
		// has many domains and, most often, no error.
		dp := func() string { return at("domains") + "[" + strconv.Itoa(j) + "]" }
		key, err := DomainKey(d)
		if err != nil {
			v.add(dp(), ErrDomain, "%q is not a host name, \"*.\" wildcard or IP address: %v", d, unwrapAll(err))
			continue
		}
		keys[j] = key
		k, dup := own[key]
		if own == nil {
			k = slices.Index(keys[:j], key)
			dup = k >= 0
		}
		if dup {
			v.add(dp(), ErrDuplicateDomain, "%q is listed twice (domains[%d])", d, k)
			continue
		}
		if own != nil {
			own[key] = j
		}
		if name, where, dup := others.Domain(key); dup {
			if where != "" {
				v.add(dp(), ErrDuplicateDomain, "%q is also a domain of app %q (%s)", d, name, where)
			} else {
				v.add(dp(), ErrDuplicateDomain, "%q is also a domain of app %q", d, name)
			}
		}
	}
	c.validateUpstream(v, at("upstream"), a.Upstream)
	if a.HTTP2 && !strings.HasPrefix(a.Upstream, "https://") {
		v.add(at("http2"), ErrUpstream, "only for https upstreams: h2c:// is always HTTP/2, http:// always HTTP/1.1")
	}
	if d := a.Timeouts.MaxDuration; d < 0 {
		v.add(at("timeouts.max_duration"), ErrDuration, "%s is negative", d)
	}
	c.validatePolicy(v, p, a)
	validateRespond(v, at("respond"), a.Respond)
	return nameOK, keys
}

// shortList is the length up to which a list is searched for duplicates
// rather than mapped: most apps have a few domains, and a table of many
// apps would otherwise make a map per app.
const shortList = 16

// validateRespond checks the static responses of an app.
func validateRespond(v *validator, path string, list []Response) {
	if len(list) > maxResponses {
		v.add(path, ErrResponse, "%d entries: at most %d", len(list), maxResponses)
	}
	paths := make(map[string]int, len(list))
	for i := range list {
		r := &list[i]
		p := path + "[" + strconv.Itoa(i) + "]"
		switch msg := checkResponsePath(r.Path); {
		case r.Path == "":
			v.add(p+".path", ErrRequired, "a path is required")
		case msg != "":
			v.add(p+".path", ErrResponse, "%q: %s", truncate(r.Path, 64), msg)
		default:
			if j, dup := paths[r.Path]; dup {
				v.add(p+".path", ErrResponse, "%q is also the path of respond[%d]", truncate(r.Path, 64), j)
			} else {
				paths[r.Path] = i
			}
		}
		switch s := r.Status; {
		case s == 0:
			// 200: Parse fills it in; a Config built in code may leave it.
		case s >= 100 && s <= 199:
			v.add(p+".status", ErrResponse, "%d is not a final status: want 200 to 599", s)
		case s < 200 || s > 599:
			v.add(p+".status", ErrResponse, "%d is out of range: want 200 to 599", s)
		}
		switch {
		case len(r.Body) > maxResponseBody:
			v.add(p+".body", ErrResponse, "%d bytes: at most %d", len(r.Body), maxResponseBody)
		case r.Body != "" && (r.Status == 204 || r.Status == 205 || r.Status == 304):
			v.add(p+".body", ErrResponse, "a %d response has no body: remove the body or change the status", r.Status)
		}
		// "" is DefaultContentType: Parse fills it in.
		if r.ContentType != "" {
			if msg := checkContentType(r.ContentType); msg != "" {
				v.add(p+".content_type", ErrResponse, "%q: %s", truncate(r.ContentType, 64), msg)
			}
		}
	}
}

// acmeDir is the ACME challenge directory, without its final slash.
var acmeDir = strings.TrimSuffix(forcehttps.ACMEChallengePrefix, "/")

// checkResponsePath returns what is wrong with p, the path of a static
// response, or "" if nothing is; an empty p is reported by the caller.
func checkResponsePath(p string) string {
	switch {
	case p == "":
		return ""
	case len(p) > maxResponsePath:
		return fmt.Sprintf("%d bytes: at most %d", len(p), maxResponsePath)
	case p[0] != '/':
		return `must start with "/"`
	}
	for i := range len(p) {
		b := p[i]
		if b <= ' ' || b >= 0x7f {
			return "only printable ASCII without spaces is allowed"
		}
		// The path is compared with the decoded request path, where "?"
		// and "#" never appear and "%" stands for itself. Some servers and
		// proxies read "\" as "/" and ";" as the start of parameters, so
		// the path they see would not be the one compared here.
		if strings.IndexByte(`?#%\;`, b) >= 0 {
			return fmt.Sprintf("%q is not allowed: the path is compared with the decoded request path", string(b))
		}
	}
	if strings.Contains(p, "//") {
		return `has an empty segment ("//")`
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if seg == "." || seg == ".." {
			return fmt.Sprintf("has a %q segment", seg)
		}
	}
	// Compared ignoring case: a path that differs from the challenge
	// prefix only in case is a mistake, not an answer anyone means.
	if strings.EqualFold(p, acmeDir) || (len(p) > len(acmeDir) && strings.EqualFold(p[:len(acmeDir)+1], forcehttps.ACMEChallengePrefix)) {
		return fmt.Sprintf("the certificate manager answers %s and the paths under it", forcehttps.ACMEChallengePrefix)
	}
	return ""
}

// checkContentType returns what is wrong with a Content-Type value, or ""
// if nothing is.
func checkContentType(ct string) string {
	if ct == DefaultContentType {
		return "" // most answers have it (TestDefaultContentType)
	}
	for i := range len(ct) {
		if b := ct[i]; b < ' ' || b == 0x7f {
			return "control characters are not allowed"
		}
	}
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
		return "not a media type: " + strings.TrimPrefix(err.Error(), "mime: ")
	case !strings.Contains(mt, "/"):
		// ParseMediaType accepts a lone token, as for Content-Disposition.
		return `not a media type: want type/subtype, such as "text/plain"`
	}
	return ""
}

func (c *Config) validateUpstream(v *validator, path, s string) {
	if s == "" {
		v.add(path, ErrRequired, "an upstream URL is required")
		return
	}
	if name, ok := strings.CutPrefix(s, Builtin); ok {
		if !slices.Contains(Builtins, name) {
			v.add(path, ErrUpstream, "%q: unknown builtin (want one of: %s)", s, strings.Join(Builtins, ", "))
		}
		return
	}
	if !strings.Contains(s, "://") {
		// "127.0.0.1:9001" or "localhost:9001": url.Parse would complain
		// about a colon in a path, or take "localhost" for a scheme.
		v.add(path, ErrUpstream, "%q has no scheme: want %s", s, upstreamForms())
		return
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		v.add(path, ErrUpstream, "%q is not a URL: %v (want %s)", s, unwrapAll(err), upstreamForms())
	case !slices.Contains(upstreamSchemes, u.Scheme):
		v.add(path, ErrUpstream, "%q: scheme must be %s", s, orList(upstreamSchemes))
	case u.Host == "" || u.Hostname() == "":
		v.add(path, ErrUpstream, "%q: a host is required", s)
	case u.User != nil:
		v.add(path, ErrUpstream, "%q: credentials in the URL are not supported", s)
	case u.Path != "" && u.Path != "/":
		v.add(path, ErrUpstream, "%q: a path is not supported; requests keep their own path", s)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		v.add(path, ErrUpstream, "%q: a query or fragment is not supported", s)
	case u.Port() != "" && !validPort(u.Port()):
		v.add(path, ErrUpstream, "%q: port %q is not a number from 1 to 65535", s, u.Port())
	}
}

// upstreamSchemes are the schemes of upstream URLs.
var upstreamSchemes = []string{"http", "https", "h2c"}

// upstreamForms spells the accepted upstream URLs for messages:
// "http://host:port or https://host:port".
func upstreamForms() string {
	forms := make([]string, len(upstreamSchemes))
	for i, s := range upstreamSchemes {
		forms[i] = s + "://host:port"
	}
	return orList(forms)
}

// orList joins words as "a", "a or b", "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535 && p == strconv.Itoa(n)
}

// validatePolicy checks an app's Force HTTPS policy, by building it with
// forcehttps.New and mapping its field errors to configuration paths.
func (c *Config) validatePolicy(v *validator, p string, a *App) {
	h := &a.HSTS
	switch {
	case h.MaxAge == 0 && !h.Revoke && !h.Disable:
		v.add(joinPath(p, "hsts.max_age"), ErrPolicy, "0 would revoke HSTS: set revoke: true to send max-age=0")
	case h.MaxAge < 0 || h.MaxAge > maxHSTSMaxAge:
		v.add(joinPath(p, "hsts.max_age"), ErrPolicy, "%d is out of range: want 1 to %d seconds", h.MaxAge, maxHSTSMaxAge)
		return
	}
	if h.Revoke && h.Disable {
		v.add(joinPath(p, "hsts.revoke"), ErrPolicy, "revoke sends max-age=0, disable sends nothing: choose one")
	}
	port := c.PublicHTTPSPort()
	if port < 0 || port > 65535 {
		port = 0 // reported by validateListen
	}
	fc := c.Policy(a, port)
	// Domains and proxies are checked above, with better messages; the
	// domains are the policy's AllowedHosts, which forcehttps.New only
	// parses, as DomainKey did: left out, they are not parsed twice.
	fc.AllowedHosts, fc.AllowAnyHost = nil, true
	fc.TrustedProxies = nil
	fc.Logger = slog.New(slog.DiscardHandler)
	_, err := forcehttps.New(fc)
	for _, fe := range fieldErrors(err) {
		path, msg := policyError(p, fe)
		if !v.has(path) {
			v.add(path, fmt.Errorf("%w: %w", ErrPolicy, fe), "%s", msg)
		}
	}
}

// policyPaths maps forcehttps.Config fields to app configuration keys.
var policyPaths = map[string]string{
	"RedirectStatus":     "redirect.status",
	"UnsafeMethodStatus": "redirect.unsafe_status",
	"HSTSMaxAge":         "hsts.max_age",
	"HSTSPreload":        "hsts.preload",
	"HSTSRevoke":         "hsts.revoke",
	"ExemptPaths":        "exempt_paths",
	"SecurityHeaders":    "security_headers.headers",
	"AllowedHosts":       "domains",
}

// policyError maps a forcehttps field error to a path and message.
func policyError(app string, fe *forcehttps.FieldError) (path, msg string) {
	name, index := fe.Field, ""
	if i := strings.IndexByte(name, '['); i >= 0 {
		name, index = name[:i], name[i:]
	}
	switch name {
	case "HTTPSPort":
		path = "listen.https_public_port"
	default:
		if key, ok := policyPaths[name]; ok {
			path = joinPath(app, key) + index
		} else {
			path = app
		}
	}
	switch {
	case errors.Is(fe.Err, forcehttps.ErrPreload):
		msg = "preload needs max_age ≥ 31536000 and include_subdomains"
	case fe.Value != "":
		msg = fmt.Sprintf("%q: %v", fe.Value, fe.Err)
	default:
		msg = fe.Err.Error()
	}
	return path, msg
}

// fieldErrors collects the *forcehttps.FieldError values in err's tree.
func fieldErrors(err error) []*forcehttps.FieldError {
	var out []*forcehttps.FieldError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if fe, ok := e.(*forcehttps.FieldError); ok {
			out = append(out, fe)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// unwrapAll returns the innermost error's message: the useful part of
// wrapped library errors that repeat the input.
func unwrapAll(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// validateCluster checks the cluster block. The URL is never quoted in
// an error: it may carry a password.
func (c *Config) validateCluster(v *validator) {
	cl := c.Cluster
	if cl == nil {
		return
	}
	switch {
	case cl.Postgres != "" && cl.PostgresFile != "":
		v.add("cluster.postgres", ErrValue, "give postgres or postgres_file, not both")
	case cl.Postgres == "" && cl.PostgresFile == "":
		v.add("cluster.postgres", ErrRequired, "a PostgreSQL URL (postgres) or a file holding one (postgres_file) is required")
	case cl.Postgres != "" && !LooksLikePostgresURL(cl.Postgres):
		v.add("cluster.postgres", ErrValue, "not a PostgreSQL URL: want postgres://user@host/database?sslmode=verify-full or key=value pairs")
	}
	if cl.Replica != "" && !validReplica(cl.Replica) {
		v.add("cluster.replica", ErrValue, "%q: want 1 to 63 letters, digits, '.', '_' or '-'", cl.Replica)
	}
	if cl.MemberTimeout < time.Second {
		v.add("cluster.member_timeout", ErrDuration, "%s is too short: want at least 1s", cl.MemberTimeout)
	}
	if cl.Resync <= 0 || cl.Resync > time.Hour {
		v.add("cluster.resync", ErrDuration, "%s is out of range: want more than 0 and at most 1h", cl.Resync)
	}
}

// LooksLikePostgresURL reports whether s has the shape of a PostgreSQL
// connection string: a postgres:// or postgresql:// URL, or key=value
// pairs. Whether it connects is only known at start.
func LooksLikePostgresURL(s string) bool {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		return true
	}
	return !strings.Contains(s, "://") && strings.Contains(s, "=")
}

// validReplica reports whether name is a valid replica name.
func validReplica(name string) bool {
	if len(name) == 0 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		b := name[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '.' || b == '_' || b == '-') {
			return false
		}
	}
	return true
}

func (c *Config) validateTimeouts(v *validator) {
	t := &c.Timeouts
	for _, f := range []struct {
		path     string
		d        time.Duration
		positive bool
	}{
		{"timeouts.read_header", t.ReadHeader, true},
		{"timeouts.client_idle", t.ClientIdle, true},
		{"timeouts.stream_idle", t.StreamIdle, true},
		{"timeouts.idle", t.Idle, false},
		{"timeouts.upstream_dial", t.UpstreamDial, true},
		{"timeouts.upstream_response_header", t.UpstreamResponseHeader, true},
		{"timeouts.upstream_read_idle", t.UpstreamReadIdle, true},
		{"timeouts.shutdown", t.Shutdown, true},
	} {
		switch {
		case f.d < 0:
			v.add(f.path, ErrDuration, "%s is negative", f.d)
		case f.d == 0 && f.positive:
			v.add(f.path, ErrDuration, "must be more than 0")
		}
	}
}

// Policy returns the forcehttps configuration of app a, for redirects to
// httpsPort (0 or 443: none in the URL). The edge builds each app's
// middleware from it: no preset, the trusted proxies of the edge, the
// app's domains as the allowed hosts, and its redirect, HSTS and header
// settings. With ForceHTTPS off the redirect is disabled and so is HSTS,
// unless HSTS.Revoke asks for max-age=0. Security headers are off unless
// SecurityHeaders.Defaults is set or headers are listed.
func (c *Config) Policy(a *App, httpsPort int) forcehttps.Config {
	h := a.HSTS
	return forcehttps.Config{
		Trust:                  forcehttps.PresetNone,
		TrustedProxies:         slices.Clone(c.TrustedProxies),
		AllowedHosts:           slices.Clone(a.Domains),
		HTTPSPort:              httpsPort,
		RedirectStatus:         a.Redirect.Status,
		UnsafeMethodStatus:     a.Redirect.UnsafeStatus,
		Temporary:              a.Redirect.Temporary,
		ExemptPaths:            slices.Clone(a.ExemptPaths),
		IncludeDevHosts:        a.IncludeDevHosts,
		DisableRedirect:        !a.ForceHTTPS,
		HSTSMaxAge:             time.Duration(h.MaxAge) * time.Second,
		HSTSIncludeSubDomains:  h.IncludeSubdomains,
		HSTSPreload:            h.Preload,
		HSTSRevoke:             h.Revoke,
		HSTSRampFrom:           h.RampFrom,
		DisableHSTS:            h.Disable || (!a.ForceHTTPS && !h.Revoke),
		SecurityHeaders:        cloneMap(a.SecurityHeaders.Headers),
		DisableSecurityHeaders: !a.SecurityHeaders.Defaults,
		DisableSecureCookies:   !a.SecureCookies,
	}
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

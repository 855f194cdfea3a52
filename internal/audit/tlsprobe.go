package audit

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// TLSInfo describes the TLS configuration of the HTTPS port.
type TLSInfo struct {
	// Address is the host:port probed.
	Address string `json:"address"`
	// Versions lists TLS 1.0 to 1.3 and whether the server accepted a
	// handshake limited to each.
	Versions []TLSVersion `json:"versions"`
	// Version is the version a default handshake negotiated, such as
	// "TLS 1.3".
	Version string `json:"version"`
	// CipherSuite is the cipher suite it negotiated, by its IANA name.
	CipherSuite string `json:"cipher_suite"`
	// ALPN is the application protocol negotiated, such as "h2", or "".
	ALPN string `json:"alpn,omitempty"`
	// OCSPStapled reports an OCSP response stapled to the handshake.
	OCSPStapled bool `json:"ocsp_stapled"`
	// Certificate describes the leaf certificate.
	Certificate *Certificate `json:"certificate,omitempty"`
	// ChainLength is the number of certificates the server sent.
	ChainLength int `json:"chain_length"`
	// Verified reports that the chain verifies for Host at CheckedAt
	// against the configured roots.
	Verified bool `json:"verified"`
	// VerifyErrors says why it does not, one entry per problem.
	VerifyErrors []string `json:"verify_errors,omitempty"`
	// Error says why no TLS handshake could be made when nothing answers
	// HTTPS at Address (a site served over plain HTTP only), or "".
	Error string `json:"error,omitempty"`
}

// TLSVersion is the result of probing one protocol version.
type TLSVersion struct {
	// Name is the version, such as "TLS 1.2".
	Name string `json:"name"`
	// Offered reports that the server completed a handshake limited to
	// this version.
	Offered bool `json:"offered"`
	// Error says why the probe could not tell (a timeout, a reset
	// connection), or "" when the server simply refused the version.
	Error string `json:"error,omitempty"`
	// Negotiated is the cipher suite a handshake limited to this version
	// got while offering every suite Go can speak, in Go's order (ECDHE
	// with AEAD first, as browsers do): what the server picks for a good
	// client. "" when the version is refused.
	Negotiated string `json:"negotiated,omitempty"`
	// Suites lists the cipher suites the server accepted with this
	// version, by IANA name, in the order probed. For TLS 1.0 to 1.2 each
	// suite Go can speak is tried alone; for TLS 1.3, whose suites a Go
	// client cannot choose, it is the suite the version probe negotiated.
	Suites []string `json:"suites,omitempty"`
	// SuitesUnknown lists the suites whose probe could not tell (a
	// timeout, a reset connection).
	SuitesUnknown []string `json:"suites_unknown,omitempty"`
}

// Certificate describes a certificate.
type Certificate struct {
	Subject            string    `json:"subject"`
	Issuer             string    `json:"issuer"`
	DNSNames           []string  `json:"dns_names,omitempty"`
	IPAddresses        []string  `json:"ip_addresses,omitempty"`
	NotBefore          time.Time `json:"not_before"`
	NotAfter           time.Time `json:"not_after"`
	DaysLeft           int       `json:"days_left"`
	Key                string    `json:"key"`
	SignatureAlgorithm string    `json:"signature_algorithm"`
}

// probedVersions are the versions probed, oldest first.
var probedVersions = []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13}

// allSuites lists every cipher suite Go implements, insecure ones
// included, so that a version probe is not refused only because our
// default list lacks the server's suites.
var allSuites = func() []uint16 {
	var ids []uint16
	for _, s := range tls.CipherSuites() {
		ids = append(ids, s.ID)
	}
	for _, s := range tls.InsecureCipherSuites() {
		ids = append(ids, s.ID)
	}
	return ids
}()

// maxParallelHandshakes bounds the cipher suite probes made at once, so
// that an audit looks like a handful of clients, not a flood.
const maxParallelHandshakes = 4

// suitesFor returns the TLS 1.0 to 1.2 cipher suites Go can offer with
// version, secure and insecure, in tls.CipherSuites order then
// tls.InsecureCipherSuites order.
func suitesFor(version uint16) []*tls.CipherSuite {
	var out []*tls.CipherSuite
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if slices.Contains(s.SupportedVersions, version) && !slices.Contains(s.SupportedVersions, tls.VersionTLS13) {
			out = append(out, s)
		}
	}
	return out
}

// probeSuites makes one handshake per cipher suite for each version from
// TLS 1.0 to 1.2 that the server accepted, offering that suite alone, at
// most maxParallelHandshakes at a time, each bounded by Options.Timeout.
// It fills Suites and SuitesUnknown of info.Versions.
func (r *runner) probeSuites(ctx context.Context, addr string, info *TLSInfo) {
	type probe struct {
		vi    int // index in info.Versions (and probedVersions)
		suite *tls.CipherSuite
		err   error
	}
	var probes []*probe
	for i, v := range probedVersions {
		if v == tls.VersionTLS13 || !info.Versions[i].Offered {
			continue
		}
		for _, s := range suitesFor(v) {
			probes = append(probes, &probe{vi: i, suite: s})
		}
	}
	sem := make(chan struct{}, maxParallelHandshakes)
	var wg sync.WaitGroup
	for _, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				p.err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			v := probedVersions[p.vi]
			_, p.err = r.handshake(ctx, addr, &tls.Config{
				ServerName:         r.o.Target.Host,
				InsecureSkipVerify: true, // only the suite matters here
				MinVersion:         v,
				MaxVersion:         v,
				CipherSuites:       []uint16{p.suite.ID},
			})
		}()
	}
	wg.Wait()
	for _, p := range probes {
		v := &info.Versions[p.vi]
		switch {
		case p.err == nil:
			v.Suites = append(v.Suites, p.suite.Name)
		case errors.Is(p.err, ErrHandshake):
			// refused
		default:
			v.SuitesUnknown = append(v.SuitesUnknown, p.suite.Name)
		}
	}
}

// probeTLS makes a default handshake, one handshake per version and one
// per version and cipher suite (probeSuites). It fails when the port
// cannot be reached, when the default handshake times out, or when no
// handshake succeeds.
func (r *runner) probeTLS(ctx context.Context) (TLSInfo, *tls.ConnectionState, error) {
	t := r.o.Target
	addr := t.TLSAddr()
	info := TLSInfo{Address: addr}
	state, defErr := r.handshake(ctx, addr, &tls.Config{
		ServerName:         t.Host,
		InsecureSkipVerify: true, // verified below, so that problems are reported, not fatal
		MinVersion:         tls.VersionTLS10,
		NextProtos:         []string{"h2", "http/1.1"},
	})
	if defErr != nil {
		var de *dialError
		if errors.As(defErr, &de) || errors.Is(defErr, ErrTimeout) {
			return info, nil, defErr
		}
	}
	for _, v := range probedVersions {
		p := TLSVersion{Name: tls.VersionName(v)}
		st, err := r.handshake(ctx, addr, &tls.Config{
			ServerName:         t.Host,
			InsecureSkipVerify: true, // only the version matters here
			MinVersion:         v,
			MaxVersion:         v,
			CipherSuites:       allSuites,
		})
		switch {
		case err == nil:
			p.Offered = true
			p.Negotiated = tls.CipherSuiteName(st.CipherSuite)
			if v == tls.VersionTLS13 {
				p.Suites = []string{tls.CipherSuiteName(st.CipherSuite)}
			}
			if state == nil {
				state = st // the default handshake failed; describe this one
			}
		case errors.Is(err, ErrHandshake):
			// refused
		default:
			p.Error = err.Error()
		}
		info.Versions = append(info.Versions, p)
	}
	if state == nil {
		return info, nil, defErr
	}
	r.probeSuites(ctx, addr, &info)
	info.Version = tls.VersionName(state.Version)
	info.CipherSuite = tls.CipherSuiteName(state.CipherSuite)
	info.ALPN = state.NegotiatedProtocol
	info.OCSPStapled = len(state.OCSPResponse) > 0
	info.ChainLength = len(state.PeerCertificates)
	if len(state.PeerCertificates) > 0 {
		info.Certificate = describeCert(state.PeerCertificates[0], r.now)
	}
	problems := verifyChain(state.PeerCertificates, t.Host, r.o.RootCAs, r.now)
	info.Verified = len(problems) == 0
	for _, p := range problems {
		info.VerifyErrors = append(info.VerifyErrors, p.err.Error())
	}
	return info, state, nil
}

// handshake connects to addr and makes one TLS handshake with cfg. Errors
// wrap ErrUnreachable (with a *dialError), ErrTimeout or ErrHandshake.
func (r *runner) handshake(ctx context.Context, addr string, cfg *tls.Config) (*tls.ConnectionState, error) {
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	conn, err := r.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, classify(addr, err)
	}
	defer conn.Close()
	tc := tls.Client(conn, cfg)
	err = tc.HandshakeContext(ctx)
	r.log.Debug("audit handshake", slog.String("addr", addr), slog.String("max_version", tls.VersionName(cfg.MaxVersion)), slog.Any("error", err))
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("%s: %w: TLS handshake: %v", addr, ErrTimeout, err)
		}
		return nil, fmt.Errorf("%s: %w: %v", addr, ErrHandshake, err)
	}
	st := tc.ConnectionState()
	return &st, nil
}

// certProblem is one reason a certificate chain is not valid for a host.
type certProblem struct {
	id  string // finding ID
	err error
}

// verifyChain checks the chain a server sent for host at now: the leaf's
// validity period, its names, and the chain to roots (nil: system roots).
// Each problem is reported once.
func verifyChain(certs []*x509.Certificate, host string, roots *x509.CertPool, now time.Time) []certProblem {
	if len(certs) == 0 {
		return []certProblem{{"tls-cert-untrusted", errors.New("the server sent no certificate")}}
	}
	leaf := certs[0]
	var ps []certProblem
	at := now
	switch {
	case now.After(leaf.NotAfter):
		ps = append(ps, certProblem{"tls-cert-expired", fmt.Errorf("the certificate expired on %s (%d days ago)", leaf.NotAfter.UTC().Format(time.DateOnly), daysBetween(leaf.NotAfter, now))})
		at = leaf.NotAfter.Add(-time.Second) // still check the chain, as of its last valid moment
	case now.Before(leaf.NotBefore):
		ps = append(ps, certProblem{"tls-cert-not-yet-valid", fmt.Errorf("the certificate is valid only from %s", leaf.NotBefore.UTC().Format(time.RFC3339))})
		at = leaf.NotBefore.Add(time.Second)
	}
	if err := leaf.VerifyHostname(host); err != nil {
		ps = append(ps, certProblem{"tls-cert-name-mismatch", fmt.Errorf("the certificate is not valid for %s; it covers %s", host, certNames(leaf))})
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at}); err != nil {
		ps = append(ps, certProblem{"tls-cert-untrusted", fmt.Errorf("the certificate chain does not verify: %v", err)})
	}
	return ps
}

// certNames lists the names a certificate covers, for messages.
func certNames(c *x509.Certificate) string {
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "no names"
	}
	if len(names) > 5 {
		names = append(names[:5], fmt.Sprintf("and %d more", len(names)-5))
	}
	return strings.Join(names, ", ")
}

// describeCert summarises a certificate for the report.
func describeCert(c *x509.Certificate, now time.Time) *Certificate {
	d := &Certificate{
		Subject:            c.Subject.String(),
		Issuer:             c.Issuer.String(),
		DNSNames:           c.DNSNames,
		NotBefore:          c.NotBefore.UTC(),
		NotAfter:           c.NotAfter.UTC(),
		DaysLeft:           daysBetween(now, c.NotAfter),
		SignatureAlgorithm: c.SignatureAlgorithm.String(),
	}
	for _, ip := range c.IPAddresses {
		d.IPAddresses = append(d.IPAddresses, ip.String())
	}
	d.Key, _ = keyStrength(c.PublicKey)
	return d
}

// keyStrength describes a public key and reports whether it is too weak
// (RSA below 2048 bits, ECDSA below 256).
func keyStrength(pub any) (string, bool) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen()), k.N.BitLen() < 2048
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name, k.Curve.Params().BitSize < 256
	case ed25519.PublicKey:
		return "Ed25519", false
	}
	return fmt.Sprintf("%T", pub), false
}

// daysBetween returns the whole days from a to b, rounded down, negative
// when b is before a.
func daysBetween(a, b time.Time) int {
	return int(math.Floor(b.Sub(a).Hours() / 24))
}

// cipherWeakness says what is wrong with a negotiated cipher suite, or ""
// if nothing, and whether it is insecure (RC4, 3DES) rather than weak (no
// forward secrecy, CBC). TLS 1.3 suites are all fine.
func cipherWeakness(version, id uint16) (string, bool) {
	if version >= tls.VersionTLS13 {
		return "", false
	}
	w := classifySuite(tls.CipherSuiteName(id))
	return w.why, w.severity == Fail
}

// suiteWeakness is what is wrong with a TLS 1.0 to 1.2 cipher suite.
type suiteWeakness struct {
	id       string // finding ID; "" when the suite is fine
	severity Severity
	cap      Grade
	why      string
}

// classifySuite judges a TLS 1.0 to 1.2 cipher suite by its IANA name, as
// SSL Labs labels suites (see the package documentation): RC4 and 3DES are
// insecure (cap C; suiteFindings lowers it to B for TLS 1.0 only); RSA key
// exchange has no forward secrecy and CBC is not authenticated encryption,
// weak but not capped merely for being accepted. ECDHE or DHE with
// AES-GCM, ChaCha20-Poly1305 or AES-CCM is fine.
func classifySuite(name string) suiteWeakness {
	fs := strings.HasPrefix(name, "TLS_ECDHE_") || strings.HasPrefix(name, "TLS_DHE_")
	aead := strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20_POLY1305") || strings.Contains(name, "_CCM")
	var why []string
	w := suiteWeakness{}
	switch {
	case strings.Contains(name, "_RC4_"):
		w = suiteWeakness{id: "tls-suite-insecure", severity: Fail, cap: GradeC}
		why = append(why, "RC4, broken and forbidden by RFC 7465")
	case strings.Contains(name, "3DES"):
		w = suiteWeakness{id: "tls-suite-insecure", severity: Fail, cap: GradeC}
		why = append(why, "3DES, a 64-bit block cipher open to SWEET32 (CVE-2016-2183)")
	case !fs:
		w = suiteWeakness{id: "tls-suite-no-fs", severity: Warn}
	case !aead:
		w = suiteWeakness{id: "tls-suite-cbc", severity: Info}
	default:
		return w
	}
	if !fs {
		why = append(why, "RSA key exchange: no forward secrecy, a stolen key decrypts recorded traffic")
	}
	if !aead && !strings.Contains(name, "_RC4_") {
		why = append(why, "CBC mode: not authenticated encryption (padding-oracle attacks such as Lucky 13)")
	}
	w.why = strings.Join(why, "; ")
	return w
}

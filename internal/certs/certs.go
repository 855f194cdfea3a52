package certs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/forcehttps/forcehttps"
	"github.com/forcehttps/forcehttps/internal/certfile"
)

// Certificate sources reported in [Info.Source].
const (
	SourceFile       = "file"
	SourceSelfSigned = "self-signed"
	SourceACME       = "acme"
)

// Errors wrapped by [FileError] and returned by [Manager] methods. The
// problems of a certificate pair are those of internal/certfile, which
// the configuration check shares.
var (
	ErrNoCertificate  = certfile.ErrNoCertificate
	ErrBadCertificate = certfile.ErrBadCertificate
	ErrNoKey          = certfile.ErrNoKey
	ErrBadKey         = certfile.ErrBadKey
	ErrKeyMismatch    = certfile.ErrKeyMismatch
	ErrNoNames        = certfile.ErrNoNames
	ErrExpired        = certfile.ErrExpired
	ErrNotYetValid    = certfile.ErrNotYetValid
	ErrNoSource       = errors.New("no certificate source: configure certificate files, self-signed names or ACME")
	ErrClosed         = errors.New("certificate manager closed")
)

// Pair is a certificate and key on disk (PEM). The certificate file may hold
// the chain after the leaf; the two may be the same file.
type Pair struct{ CertFile, KeyFile string }

// Options configures a [Manager]. At least one source (Files, SelfSigned or
// ACME) is required.
type Options struct {
	// Files are certificate pairs loaded once by New (see
	// [Manager.SetFiles] to reload them). Earlier pairs are preferred when
	// several cover the same name, and the first one is the default for
	// clients that send no (or an unknown) server name.
	Files []Pair

	// SelfSigned lists names (host names, "*." wildcards, IP literals) for
	// a self-signed certificate generated in memory by New: ECDSA P-256,
	// valid for [SelfSignedValidity]. It is never written to disk, so each
	// start makes a new one. Empty means none.
	SelfSigned []string

	// ACME enables automatic certificates; nil means none.
	ACME *ACME

	// Logger receives this package's logs and certmagic's. Nil means
	// slog.Default().
	Logger *slog.Logger

	// Now is the clock used to validate certificate files and date the
	// self-signed certificate. Nil means time.Now. (certmagic keeps its
	// own clock for renewals.)
	Now func() time.Time
}

// Info describes one certificate, for metrics and the admin API.
type Info struct {
	Names    []string  // DNS names and IP literals it covers
	NotAfter time.Time // expiry
	Source   string    // SourceFile, SourceSelfSigned or SourceACME
	Issuer   string    // the issuer's common name
	CertFile string    // the certificate file, for SourceFile; else empty
}

// Manager selects, loads, generates and obtains certificates. Its methods
// are safe for concurrent use.
type Manager struct {
	log    *slog.Logger
	now    func() time.Time
	self   *entry // nil without SelfSigned
	selfIx *index // self alone, for wildcard and IP lookups

	files atomic.Pointer[index]

	acme *acmeState // nil without ACME

	mu     sync.Mutex // serializes SetFiles, ManageDomains and Close
	closed bool
}

// New loads the certificate files (reporting every unusable file at once,
// each error a [*FileError] naming its path), generates the self-signed
// certificate and prepares ACME without contacting the CA. ctx bounds
// New only.
func New(ctx context.Context, opts Options) (*Manager, error) {
	m := &Manager{log: opts.Logger, now: opts.Now}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	if len(opts.Files) == 0 && len(opts.SelfSigned) == 0 && opts.ACME == nil {
		return nil, ErrNoSource
	}
	ix, err := loadFiles(opts.Files, m.now())
	if err != nil {
		return nil, err
	}
	m.files.Store(ix)
	if len(opts.SelfSigned) > 0 {
		if m.self, err = generateSelfSigned(opts.SelfSigned, m.now()); err != nil {
			return nil, err
		}
		m.selfIx = newIndex([]*entry{m.self})
	}
	if opts.ACME != nil {
		if m.acme, err = newACME(ctx, m, *opts.ACME); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// loadFiles loads every pair, joining the errors of all the bad ones.
func loadFiles(files []Pair, now time.Time) (*index, error) {
	entries := make([]*entry, 0, len(files))
	var errs []error
	for _, p := range files {
		e, err := loadPair(p, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		entries = append(entries, e)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return newIndex(entries), nil
}

// SetFiles replaces the certificate files, for a configuration reload. All
// pairs are loaded and validated first; on any error the current files stay
// in use and the error lists every bad file. Call [Manager.ManageDomains]
// afterwards: which names ACME manages depends on what the files cover.
func (m *Manager) SetFiles(files []Pair) error {
	ix, err := loadFiles(files, m.now())
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if ix.first() == nil && m.self == nil && m.acme == nil {
		return ErrNoSource
	}
	m.files.Store(ix)
	return nil
}

// TLSConfig returns a new server configuration: TLS 1.2 or later, the
// ECDHE key exchanges with AEAD ciphers only for TLS 1.2 (Go's TLS 1.3
// suites are all AEAD), session tickets on, certificates from
// [Manager.GetCertificate], and ALPN for HTTP/2 and HTTP/1.1 (plus
// "acme-tls/1" when ACME uses the TLS-ALPN-01 challenge). Do not set
// Certificates on it: crypto/tls would then answer clients that send no
// server name with Certificates[0] instead of asking GetCertificate.
func (m *Manager) TLSConfig() *tls.Config {
	protos := []string{"h2", "http/1.1"}
	if m.acme != nil && !m.acme.opts.DisableTLSALPNChallenge {
		protos = append(protos, alpnProto)
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   slices.Clone(cipherSuites),
		GetCertificate: m.GetCertificate,
		NextProtos:     protos,
	}
}

// cipherSuites are Go's TLS 1.2 suites with ECDHE and an AEAD cipher. Go's
// own default also enables ECDHE with AES-CBC-SHA1, which graders flag as
// weak; every client that supports TLS 1.2 with ECDHE has AES-GCM or
// ChaCha20-Poly1305.
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// alpnProto is the ALPN protocol of the TLS-ALPN-01 challenge (RFC 8737).
const alpnProto = "acme-tls/1"

// errNoCertificate is returned for handshakes no certificate can serve.
var errNoCertificate = errors.New("no certificate available")

// GetCertificate chooses the certificate for a handshake, for
// tls.Config.GetCertificate. The server name is normalized (case, trailing
// dot), then looked up exactly among the files, the ACME certificates and
// the self-signed certificate, in this order, then by wildcard ("*."
// covering one label) among the files and the self-signed certificate. A
// handshake without a server name (clients connecting to an IP address)
// gets a certificate naming the local IP address if there is one. Any other
// handshake, and one for an unknown name, gets the default certificate: the
// first file, else the self-signed one, else an error. It never starts an
// ACME order. TLS-ALPN-01 validation handshakes (the only protocol offered
// is "acme-tls/1") get the challenge certificate.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == alpnProto {
		return m.challengeCertificate(hello)
	}
	now := m.now()
	files := m.files.Load()
	if hello.ServerName != "" {
		name, err := normalizeSNI(hello.ServerName)
		if err == nil {
			if c := files.lookupExact(hello, name, now); c != nil {
				return c, nil
			}
			if c := m.acme.lookup(hello, name); c != nil {
				return c, nil
			}
			if d := m.acme.domain(name); d != nil && d.onDemand {
				return m.acme.onDemand(hello, d)
			}
			if m.self != nil && slices.Contains(m.self.names, name) {
				return m.self.cert, nil
			}
			if c := files.lookupWildcard(hello, name, now); c != nil {
				return c, nil
			}
			if m.self != nil && m.selfIx.lookupWildcard(hello, name, now) != nil {
				return m.self.cert, nil
			}
		}
	} else if hello.Conn != nil {
		a := localAddr(hello.Conn)
		if c := files.lookupIP(hello, a, now); c != nil {
			return c, nil
		}
		if m.self != nil && m.selfIx.lookupIP(hello, a, now) != nil {
			return m.self.cert, nil
		}
	}
	if c := files.first(); c != nil {
		return c, nil
	}
	if m.self != nil {
		return m.self.cert, nil
	}
	if hello.ServerName == "" {
		return nil, errNoCertificate
	}
	return nil, fmt.Errorf("%w for server name %q", errNoCertificate, hello.ServerName)
}

// normalizeSNI normalizes a TLS server name for lookup. Server names are
// ASCII (RFC 6066 §3: internationalized names are sent as A-labels), so
// anything else is an unknown name rather than something to map with IDNA.
func normalizeSNI(sni string) (string, error) {
	for i := 0; i < len(sni); i++ {
		if sni[i] >= utf8.RuneSelf {
			return "", fmt.Errorf("server name %q is not ASCII", sni)
		}
	}
	return forcehttps.NormalizeHost(sni)
}

// localAddr returns the local IP address of a connection, or the zero
// Addr.
func localAddr(c net.Conn) netip.Addr {
	ta, ok := c.LocalAddr().(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	a, _ := netip.AddrFromSlice(ta.IP)
	return a.Unmap()
}

// Certificates describes every certificate currently served: the files in
// configuration order, the ACME certificates sorted by name, then the
// self-signed certificate.
func (m *Manager) Certificates() []Info {
	var out []Info
	for _, e := range m.files.Load().entries {
		out = append(out, e.info())
	}
	out = append(out, m.acme.infos()...)
	if m.self != nil {
		out = append(out, m.self.info())
	}
	return out
}

// Close stops ACME management: background orders and renewals are
// cancelled and their goroutines exit shortly after. Certificates already
// loaded are still served by GetCertificate. Close is idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	if m.acme != nil {
		return m.acme.close()
	}
	return nil
}

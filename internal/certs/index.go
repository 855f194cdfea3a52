package certs

import (
	"crypto/tls"
	"net/netip"
	"strings"
	"time"

	"github.com/forcehttps/forcehttps/internal/certfile"
)

// entry is one certificate this package serves from memory (a file pair or
// the self-signed certificate).
type entry struct {
	cert   *tls.Certificate
	names  []string // normalized DNS names ("*." kept) and IP literals
	source string
	file   string // the certificate file, for SourceFile
}

func newEntry(c *tls.Certificate) *entry {
	return &entry{cert: c, names: certfile.Names(c.Leaf)}
}

func (e *entry) info() Info {
	return Info{
		Names:    append([]string(nil), e.names...),
		NotAfter: e.cert.Leaf.NotAfter,
		Source:   e.source,
		Issuer:   e.cert.Leaf.Issuer.CommonName,
		CertFile: e.file,
	}
}

// index finds entries by name. Exact names (and IP literals) and wildcard
// parents ("example.com" for "*.example.com") are kept apart; each list
// keeps the order in which the entries were added, which is the order of
// preference.
type index struct {
	entries  []*entry
	exact    map[string][]*entry
	wildcard map[string][]*entry
}

func newIndex(entries []*entry) *index {
	ix := &index{entries: entries, exact: map[string][]*entry{}, wildcard: map[string][]*entry{}}
	for _, e := range entries {
		for _, n := range e.names {
			if parent, ok := strings.CutPrefix(n, "*."); ok {
				ix.wildcard[parent] = append(ix.wildcard[parent], e)
			} else {
				ix.exact[n] = append(ix.exact[n], e)
			}
		}
	}
	return ix
}

// lookupExact returns the best entry named exactly name.
func (ix *index) lookupExact(hello *tls.ClientHelloInfo, name string, now time.Time) *tls.Certificate {
	return choose(hello, ix.exact[name], now)
}

// lookupWildcard returns the best entry whose "*." name covers name. A
// wildcard covers exactly one label (RFC 6125 §6.4.3).
func (ix *index) lookupWildcard(hello *tls.ClientHelloInfo, name string, now time.Time) *tls.Certificate {
	i := strings.IndexByte(name, '.')
	if i <= 0 {
		return nil
	}
	return choose(hello, ix.wildcard[name[i+1:]], now)
}

// covers reports whether some entry's names cover name, exactly or by
// wildcard.
func (ix *index) covers(name string) bool {
	if len(ix.exact[name]) > 0 {
		return true
	}
	i := strings.IndexByte(name, '.')
	return i > 0 && len(ix.wildcard[name[i+1:]]) > 0
}

// lookupIP returns the first entry holding the IP address a as a name.
func (ix *index) lookupIP(hello *tls.ClientHelloInfo, a netip.Addr, now time.Time) *tls.Certificate {
	if !a.IsValid() {
		return nil
	}
	return choose(hello, ix.exact[a.Unmap().String()], now)
}

// first returns the first entry, if any.
func (ix *index) first() *tls.Certificate {
	if len(ix.entries) == 0 {
		return nil
	}
	return ix.entries[0].cert
}

// choose returns the first candidate that is valid at now and that the
// client supports (key type, signature algorithms); failing that the first
// one the client supports; failing that the first one.
func choose(hello *tls.ClientHelloInfo, cands []*entry, now time.Time) *tls.Certificate {
	switch len(cands) {
	case 0:
		return nil
	case 1:
		return cands[0].cert
	}
	var supported *tls.Certificate
	for _, e := range cands {
		if hello.SupportsCertificate(e.cert) != nil {
			continue
		}
		leaf := e.cert.Leaf
		if !now.Before(leaf.NotBefore) && !now.After(leaf.NotAfter) {
			return e.cert
		}
		if supported == nil {
			supported = e.cert
		}
	}
	if supported != nil {
		return supported
	}
	return cands[0].cert
}

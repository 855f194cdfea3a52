package forcehttps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/forcehttps/forcehttps/internal/forwarded"
	"github.com/forcehttps/forcehttps/internal/lex"
)

// source is a kind of scheme header.
type source uint8

const (
	srcForwarded  source = iota + 1 // RFC 7239 Forwarded: proto=
	srcXFP                          // X-Forwarded-Proto: http|https|ws|wss
	srcXFSSL                        // X-Forwarded-Ssl: on|off
	srcCloudFront                   // CloudFront-Forwarded-Proto: http|https
	srcARRSSL                       // X-ARR-SSL: present on HTTPS only
	srcCFVisitor                    // CF-Visitor: {"scheme":"https"}
)

// claim is what the trusted proxy's headers say.
type claim struct {
	present bool       // some configured header carried a scheme
	https   bool       // the scheme is https (or wss)
	header  string     // the header that said it (first one, on conflict the second)
	client  netip.Addr // the client address the proxy forwarded, if known
	reason  Reason     // ReasonProxyMalformed or ReasonProxyConflict with err
	err     error
}

// maxHops bounds how many list members the middleware looks at in one
// forwarding header.
const maxHops = 32

// proxyClaim reads the configured scheme headers of a request whose direct
// peer is trusted. Several headers must agree; a malformed value is an
// error, never a guess.
func (m *Middleware) proxyClaim(r *http.Request, peer netip.Addr) claim {
	var c claim
	for i, src := range m.sources {
		hdr := m.sourceHdrs[i]
		lines := r.Header[hdr]
		if len(lines) == 0 {
			continue
		}
		https, present, client, err := m.readSource(src, lines, r.Header)
		if err != nil {
			return claim{header: hdr, reason: ReasonProxyMalformed, err: fmt.Errorf("malformed %s from trusted proxy: %w", hdr, err), client: c.client}
		}
		if !present {
			continue
		}
		if !c.client.IsValid() {
			c.client = client
		}
		if c.present && c.https != https {
			return claim{header: hdr, reason: ReasonProxyConflict, client: c.client,
				err: fmt.Errorf("conflicting scheme headers from trusted proxy: %s says %s, %s says %s", c.header, schemeName(c.https), hdr, schemeName(https))}
		}
		if !c.present {
			c.present, c.https, c.header = true, https, hdr
		}
	}
	if !c.client.IsValid() {
		c.client = m.clientFromXFF(r.Header[hdrXFF])
	}
	return c
}

func schemeName(https bool) string {
	if https {
		return "https"
	}
	return "http"
}

// readSource interprets one header.
func (m *Middleware) readSource(src source, lines []string, h http.Header) (https, present bool, client netip.Addr, err error) {
	switch src {
	case srcXFP:
		var buf [8]string
		protos := forwarded.Tokens(buf[:0], lines)
		if len(protos) > maxHops {
			return false, false, client, errors.New("too many values")
		}
		i := len(protos) - 1
		if i > 0 {
			// Each trusted hop appended the scheme its own client used:
			// step left over the values written by hops whose client was
			// itself a trusted proxy, as X-Forwarded-For shows them.
			i = m.stepOverTrusted(i, h[hdrXFF])
		}
		https, err = parseProto(protos[i])
		return https, err == nil, client, err
	case srcForwarded:
		els, perr := forwarded.Parse(lines)
		if perr != nil {
			return false, false, client, perr
		}
		if len(els) == 0 {
			return false, false, client, nil
		}
		if len(els) > maxHops {
			return false, false, client, errors.New("too many elements")
		}
		i := len(els) - 1
		for i > 0 && els[i].For.Addr.IsValid() && m.trustedAddr(els[i].For.Addr.Unmap()) {
			i--
		}
		client = els[i].For.Addr.Unmap()
		if els[i].Proto == "" {
			return false, false, client, nil
		}
		https, err = parseProto(els[i].Proto)
		return https, err == nil, client, err
	case srcXFSSL:
		switch v := lastValue(lines); {
		case strings.EqualFold(v, "on"):
			return true, true, client, nil
		case strings.EqualFold(v, "off"):
			return false, true, client, nil
		default:
			return false, false, client, fmt.Errorf("want on or off, got %q", truncate(v))
		}
	case srcCloudFront:
		v := lastValue(lines)
		if strings.EqualFold(v, "ws") || strings.EqualFold(v, "wss") {
			return false, false, client, fmt.Errorf("want http or https, got %q", truncate(v))
		}
		https, err = parseProto(v)
		return https, err == nil, client, err
	case srcARRSSL:
		// IIS ARR adds X-ARR-SSL (certificate details) to HTTPS requests
		// only; its absence says nothing.
		return lastValue(lines) != "", lastValue(lines) != "", client, nil
	case srcCFVisitor:
		v := lastValue(lines)
		var cv struct {
			Scheme string `json:"scheme"`
		}
		if len(v) > 256 {
			return false, false, client, errors.New("value too long")
		}
		if err := json.Unmarshal([]byte(v), &cv); err != nil || cv.Scheme == "" {
			return false, false, client, fmt.Errorf(`want {"scheme":"http|https"}, got %q`, truncate(v))
		}
		https, err = parseProto(cv.Scheme)
		return https, err == nil, client, err
	}
	return false, false, client, nil
}

// stepOverTrusted walks left from index i of a scheme list, one step per
// trusted address at the right end of X-Forwarded-For.
func (m *Middleware) stepOverTrusted(i int, xff []string) int {
	var buf [8]string
	fors := forwarded.Tokens(buf[:0], xff)
	for j := len(fors) - 1; i > 0 && j >= 0 && j >= len(fors)-maxHops; j-- {
		a, err := netip.ParseAddr(fors[j])
		if err != nil || !m.trustedAddr(a.Unmap()) {
			break
		}
		i--
	}
	return i
}

// clientFromXFF returns the rightmost X-Forwarded-For address that is not a
// trusted proxy (the client as the nearest trusted hop saw it), or the zero
// Addr if there is none or it does not parse.
func (m *Middleware) clientFromXFF(xff []string) netip.Addr {
	if len(xff) == 0 {
		return netip.Addr{}
	}
	var buf [8]string
	fors := forwarded.Tokens(buf[:0], xff)
	var last netip.Addr
	for j := len(fors) - 1; j >= 0 && j >= len(fors)-maxHops; j-- {
		a, err := netip.ParseAddr(fors[j])
		if err != nil {
			return last
		}
		last = a.Unmap()
		if !m.trustedAddr(last) {
			return last
		}
	}
	return last
}

// parseProto folds a scheme value: http and ws are http, https and wss are
// https, case-insensitively. Anything else is an error.
func parseProto(v string) (https bool, err error) {
	switch {
	case strings.EqualFold(v, "https"), strings.EqualFold(v, "wss"):
		return true, nil
	case strings.EqualFold(v, "http"), strings.EqualFold(v, "ws"):
		return false, nil
	case v == "":
		return false, errors.New("empty scheme")
	}
	return false, fmt.Errorf("scheme %q is not http, https, ws or wss", truncate(v))
}

// lastValue returns the last member of a possibly comma-separated, possibly
// repeated header: the one the nearest proxy wrote.
func lastValue(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	v := lines[len(lines)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return lex.TrimOWS(v)
}

// truncate shortens an untrusted value for an error message.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// forwardingHeaders are the request headers that carry a proxy's view of
// the client; their presence from an untrusted peer is worth a reason code.
var forwardingHeaders = []string{hdrForwarded, hdrXFP, hdrXFSSL, hdrCloudFront, hdrARRSSL, hdrCFVisitor, hdrXFF, "X-Forwarded-Host"}

// isForwardingHeader reports whether k is one of forwardingHeaders.
func isForwardingHeader(k string) bool {
	switch k {
	case hdrForwarded, hdrXFP, hdrXFSSL, hdrCloudFront, hdrARRSSL, hdrCFVisitor, hdrXFF, "X-Forwarded-Host":
		return true
	}
	return false
}

// hasForwardingHeader reports whether h carries any forwarding header.
func hasForwardingHeader(h http.Header) bool {
	if len(h) < len(forwardingHeaders) {
		// Fewer fields than names (the usual case): one pass over the
		// fields costs less than a lookup per name.
		for k, v := range h {
			if len(v) > 0 && isForwardingHeader(k) {
				return true
			}
		}
		return false
	}
	for _, k := range forwardingHeaders {
		if len(h[k]) > 0 {
			return true
		}
	}
	return false
}

// rateLimiter lets one event through per interval.
type rateLimiter struct{ next atomic.Int64 }

// allow reports whether an event at now may pass.
func (l *rateLimiter) allow(now time.Time, every time.Duration) bool {
	n := l.next.Load()
	if now.UnixNano() < n {
		return false
	}
	return l.next.CompareAndSwap(n, now.Add(every).UnixNano())
}

// warnProxy logs a trusted proxy's misconfiguration, at most once a minute:
// it repeats on every request until the proxy is fixed.
func (m *Middleware) warnProxy(d *Decision, err error) {
	if !m.warn.allow(time.Now(), time.Minute) {
		return
	}
	msg := d.Message
	if err != nil {
		msg = err.Error()
	}
	m.logger.LogAttrs(context.Background(), slog.LevelWarn, "forcehttps: trusted proxy misconfigured",
		slog.String("reason", string(d.Reason)),
		slog.String("peer", d.Peer.String()),
		slog.String("detail", msg))
}

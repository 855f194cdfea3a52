package h1

import (
	"bytes"
	"net/http"

	"github.com/forcehttps/forcehttps/internal/lex"
)

// maxFields is the most header fields a head may have here; a request
// with more goes to net/http.
const maxFields = 64

// state is what parse made of the bytes so far.
type state int

const (
	complete state = iota // a whole head, within the rules below
	partial               // a valid beginning: read more
	decline               // outside the rules: net/http must read it
)

// field is one header field of a head: its canonical name and the offsets
// of its value (trimmed of whitespace) in the head's bytes.
type field struct {
	name     string
	from, to int
}

// head is a request head parsed in place, without copying.
type head struct {
	method     string // one of the interned methods
	target     [2]int // offsets of the request-target
	minor      int    // HTTP/1.<minor>, 0 or 1
	host       [2]int // offsets of the Host value
	hosts      int    // Host fields seen
	keepAlive  bool   // Connection: keep-alive
	close      bool   // Connection: close
	pragma     bool   // the first Pragma is no-cache (net/http adds Cache-Control then)
	pragmaSeen bool   // a Pragma field was sent
	cacheCtl   bool   // a Cache-Control field was sent
	length     bool   // a Content-Length field was sent
	fields     [maxFields]field
	n          int // fields used
	end        int // length of the head, final CRLF included
}

// reset clears a head for the next request. The fields array is left
// as is: entries up to n are written before they are read, and clearing
// 64 of them per request was measurable.
func (h *head) reset() {
	h.method, h.target, h.minor, h.host, h.hosts = "", [2]int{}, 0, [2]int{}, 0
	h.keepAlive, h.close, h.pragma, h.pragmaSeen, h.cacheCtl, h.length = false, false, false, false, false, false
	h.n, h.end = 0, 0
}

// seenBefore reports whether a field before field i has its name, with
// header holding those fields. The first fields' names are compared
// rather than looked up: a head has a few fields, most of them with
// interned names; past 16, a lookup bounds the cost of a long head.
func (h *head) seenBefore(i int, header http.Header) bool {
	name := h.fields[i].name
	if i >= 16 {
		_, ok := header[name]
		return ok
	}
	for j := range i {
		if h.fields[j].name == name {
			return true
		}
	}
	return false
}

// methods are the request methods served here, interned so that a
// request does not allocate its method. CONNECT (authority-form target)
// and extension methods go to net/http.
var methods = [...]string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"}

// parse reads one request head from b. It accepts only the plainest form
// of HTTP/1.1 (RFC 9112): a known method, an origin-form target of
// printable ASCII, HTTP/1.0 or HTTP/1.1, CRLF line ends, token field names
// with the colon right after them, field values of visible bytes, spaces
// and tabs, exactly one Host (HTTP/1.1), and no request body: no
// Transfer-Encoding, no Content-Length other than 0, no Expect, no
// Upgrade, and no Connection option other than close and keep-alive.
// Anything else, valid or not, is declined, so that net/http, with its
// own rules and error answers, sees every request this parser would have
// to judge.
func parse(b []byte, h *head) state {
	h.reset()
	// Request line.
	sp := bytes.IndexByte(b, ' ')
	if sp < 0 {
		if len(b) > 8 || !allTokens(b) {
			return decline
		}
		return partial
	}
	if h.method = method(b[:sp]); h.method == "" {
		return decline
	}
	i := sp + 1
	start := i
	for i < len(b) && b[i] != ' ' {
		if c := b[i]; c < 0x21 || c > 0x7e {
			return decline
		}
		i++
	}
	if i == len(b) {
		return partial
	}
	if i == start || b[start] != '/' {
		return decline // "*", absolute-form, empty
	}
	h.target = [2]int{start, i}
	i++
	const proto = "HTTP/1.x\r\n"
	for j := 0; j < len(proto); j++ {
		if i+j == len(b) {
			return partial
		}
		c := b[i+j]
		switch {
		case j == 7:
			if c != '0' && c != '1' {
				return decline
			}
			h.minor = int(c - '0')
		case c != proto[j]:
			return decline
		}
	}
	i += len(proto)

	// Fields, up to the empty line.
	for {
		if i == len(b) {
			return partial
		}
		if b[i] == '\r' {
			if i+1 == len(b) {
				return partial
			}
			if b[i+1] != '\n' {
				return decline
			}
			h.end = i + 2
			break
		}
		if h.n == maxFields {
			return decline
		}
		// Name: a token right before the colon (no obs-fold, no space).
		ns := i
		for i < len(b) && lex.IsTChar(b[i]) {
			i++
		}
		if i == len(b) {
			return partial
		}
		if b[i] != ':' || i == ns {
			return decline
		}
		name := b[ns:i]
		i++
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		vs := i
		for i < len(b) && b[i] != '\r' {
			if c := b[i]; c != '\t' && (c < 0x20 || c == 0x7f) {
				return decline // bare LF, NUL and other controls
			}
			i++
		}
		if i+1 >= len(b) {
			return partial
		}
		if b[i+1] != '\n' {
			return decline
		}
		ve := i
		for ve > vs && (b[ve-1] == ' ' || b[ve-1] == '\t') {
			ve--
		}
		i += 2
		if !h.add(name, b, vs, ve) {
			return decline
		}
	}
	if h.minor == 1 && h.hosts != 1 || h.hosts > 1 {
		return decline
	}
	return complete
}

// add records a field, applying the rules on the fields that matter to
// the connection; it reports false to decline the request.
func (h *head) add(name, b []byte, vs, ve int) bool {
	key := canonical(name)
	v := b[vs:ve]
	switch key {
	case "Host":
		h.hosts++
		h.host = [2]int{vs, ve}
		return true // net/http moves Host out of the header map
	case "Content-Length":
		if string(v) != "0" || h.length {
			return false
		}
		h.length = true
	case "Transfer-Encoding", "Expect", "Upgrade", "Trailer":
		return false
	case "Connection":
		if !h.connection(v) {
			return false
		}
	case "Pragma":
		// net/http looks at the first value only.
		if !h.pragmaSeen {
			h.pragmaSeen, h.pragma = true, string(v) == "no-cache"
		}
	case "Cache-Control":
		h.cacheCtl = true
	}
	h.fields[h.n] = field{name: key, from: vs, to: ve}
	h.n++
	return true
}

// connection reads the options of a Connection field; only close and
// keep-alive are served here.
func (h *head) connection(v []byte) bool {
	for len(v) > 0 {
		var opt []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			opt, v = v[:i], v[i+1:]
		} else {
			opt, v = v, nil
		}
		opt = bytes.Trim(opt, " \t")
		switch {
		case len(opt) == 0:
		case asciiEqualFold(opt, "close"):
			h.close = true
		case asciiEqualFold(opt, "keep-alive"):
			h.keepAlive = true
		default:
			return false
		}
	}
	return true
}

// method returns the interned method named by b, or "".
func method(b []byte) string {
	for _, m := range methods {
		if string(b) == m {
			return m
		}
	}
	return ""
}

// commonKeys interns the canonical names of the fields browsers and
// tools send, so that most requests allocate none.
var commonKeys = map[string]string{}

func init() {
	for _, k := range []string{
		"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control",
		"Connection", "Content-Length", "Content-Type", "Cookie", "Dnt", "Forwarded", "Host",
		"If-Modified-Since", "If-None-Match", "Origin", "Pragma", "Priority", "Referer",
		"Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform", "Sec-Fetch-Dest",
		"Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-User", "Sec-Gpc", "Te", "Upgrade",
		"Upgrade-Insecure-Requests", "User-Agent", "Via", "X-Forwarded-For",
		"X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip", "X-Request-Id",
		"Transfer-Encoding", "Expect", "Trailer",
	} {
		commonKeys[k] = k
	}
}

// canonical returns the canonical form of a token field name, as
// textproto.CanonicalMIMEHeaderKey writes it (net/http's form).
func canonical(name []byte) string {
	// Most clients send the common names in their canonical form: one
	// lookup then, without the copy CanonicalKey makes.
	if k, ok := commonKeys[string(name)]; ok {
		return k
	}
	return lex.CanonicalKey(name, commonKeys)
}

func allTokens(b []byte) bool {
	for _, c := range b {
		if !lex.IsTChar(c) {
			return false
		}
	}
	return true
}

// asciiEqualFold compares b with a lower-case ASCII string, ignoring the
// case of ASCII letters only.
func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

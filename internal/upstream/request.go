package upstream

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/forcehttps/forcehttps/internal/lex"
)

// MaxInlineBody is the largest request body the transport sends
// itself: read whole before the request is sent, and written with its
// head in one write. Larger ones, and bodies of unknown length, go to
// the fallback, which streams them.
const MaxInlineBody = 16 << 10

// Takes reports whether the transport sends req itself: an http://
// request without a body (ContentLength 0, Body nil or http.NoBody) or
// with one of a known length of at most MaxInlineBody,
// without Upgrade, Expect, Trailer or Transfer-Encoding fields, not
// asking to close the connection, with a token method other than
// CONNECT, a host and target net/http would send unchanged, and field
// names and values net/http would accept. The others (and their errors)
// are Fallback's.
func (t *Transport) Takes(req *http.Request) bool {
	bodyless := req.ContentLength == 0 && (req.Body == nil || req.Body == http.NoBody)
	small := req.ContentLength > 0 && req.ContentLength <= MaxInlineBody && req.Body != nil && req.Body != http.NoBody
	if req.URL == nil || req.URL.Scheme != "http" || req.URL.Host == "" || req.URL.Opaque != "" ||
		!(bodyless || small) ||
		req.Close || len(req.TransferEncoding) > 0 || len(req.Trailer) > 0 ||
		req.Method == "CONNECT" || !isToken(req.Method) || !plainHost(req.Host) {
		return false
	}
	h := req.Header
	for _, k := range [...]string{"Upgrade", "Expect", "Trailer", "Transfer-Encoding", "Connection"} {
		if _, ok := h[k]; ok {
			return false
		}
	}
	for k, vv := range h {
		if !isToken(k) {
			return false
		}
		for _, v := range vv {
			for i := 0; i < len(v); i++ {
				if !valueByte(v[i]) {
					return false
				}
			}
		}
	}
	return true
}

// plainHost reports whether net/http would send host as it is: ASCII
// letters, digits and the punctuation of names, IPv4 and IPv6 literals
// and ports, no zone.
func plainHost(host string) bool {
	if host == "" {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case lex.IsAlpha(c), lex.IsDigit(c), c == '.', c == '-', c == ':', c == '[', c == ']', c == '_':
		default:
			return false
		}
	}
	return true
}

// excluded are the fields appendRequest writes itself or leaves out, as
// net/http's Request.Write does.
func excluded(k string) bool {
	switch k {
	case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
		return true
	}
	return false
}

// appendRequest appends the head of req as net/http's Transport writes
// it: the request line, Host, User-Agent (left out when set empty,
// net/http's when absent), Content-Length (for a body, and 0 for POST,
// PUT and PATCH without one), then the other fields sorted by name,
// values trimmed and in order; then body.
func appendRequest(b []byte, req *http.Request, body []byte) []byte {
	b = append(b, req.Method...)
	b = append(b, ' ')
	b = appendTarget(b, req.URL)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, req.Host...)
	b = append(b, "\r\n"...)
	ua := "Go-http-client/1.1"
	if v, ok := req.Header["User-Agent"]; ok {
		ua = ""
		if len(v) > 0 {
			ua = lex.TrimOWS(v[0])
		}
	}
	if ua != "" {
		b = append(b, "User-Agent: "...)
		b = append(b, ua...)
		b = append(b, "\r\n"...)
	}
	switch {
	case len(body) > 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	case req.Method == "POST", req.Method == "PUT", req.Method == "PATCH":
		b = append(b, "Content-Length: 0\r\n"...)
	}
	var keys [32]string
	ks := keys[:0]
	for k := range req.Header {
		if !excluded(k) {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	for _, k := range ks {
		for _, v := range req.Header[k] {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, lex.TrimOWS(v)...)
			b = append(b, "\r\n"...)
		}
	}
	b = append(b, "\r\n"...)
	return append(b, body...)
}

// appendTarget appends the request-target net/http writes for u,
// u.RequestURI(), without building it as a string first: a plain path
// and a query are appended as they are.
func appendTarget(b []byte, u *url.URL) []byte {
	if u.Opaque != "" {
		return append(b, u.RequestURI()...) // never taken: see Takes
	}
	switch {
	case u.RawPath == "" && u.Path != "" && plainPath(u.Path):
		b = append(b, u.Path...)
	default:
		p := u.EscapedPath()
		if p == "" {
			p = "/"
		}
		b = append(b, p...)
	}
	if u.ForceQuery || u.RawQuery != "" {
		b = append(b, '?')
		b = append(b, u.RawQuery...)
	}
	return b
}

// readBody reads the whole body of req, exactly ContentLength bytes and
// then its end, into buf, and closes it. A body of another length is an
// error, as with net/http.
func readBody(req *http.Request, buf []byte) ([]byte, error) {
	defer req.Body.Close()
	n := int(req.ContentLength)
	buf = slices.Grow(buf[:0], n+1)[:n+1]
	got, err := io.ReadFull(req.Body, buf[:n])
	if err != nil {
		if err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("http: ContentLength=%d with Body length %d", n, got)
		}
		return nil, err
	}
	// Read to the end, so that the body knows it ended.
	for {
		extra, err := req.Body.Read(buf[n:])
		if extra > 0 {
			return nil, fmt.Errorf("http: ContentLength=%d with Body length %d", n, n+extra)
		}
		if err == io.EOF {
			return buf[:n], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// plainPath reports whether a URL path is written as it is by
// url.URL.EscapedPath: nothing to escape.
func plainPath(p string) bool {
	if p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case lex.IsAlpha(c), lex.IsDigit(c), strings.IndexByte("/-._~$&+,;=:@", c) >= 0:
		default:
			return false
		}
	}
	return true
}

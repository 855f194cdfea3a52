package upstream

import (
	"net/http"
	"slices"
	"strings"

	"github.com/forcehttps/forcehttps/internal/lex"
)

// Takes reports whether the transport sends req itself: an http://
// request without a body (ContentLength 0, Body nil or http.NoBody),
// without Upgrade, Expect, Trailer or Transfer-Encoding fields, not
// asking to close the connection, with a token method other than
// CONNECT, a host and target net/http would send unchanged, and field
// names and values net/http would accept. The others (and their errors)
// are Fallback's.
func (t *Transport) Takes(req *http.Request) bool {
	if req.URL == nil || req.URL.Scheme != "http" || req.URL.Host == "" || req.URL.Opaque != "" ||
		req.ContentLength != 0 || (req.Body != nil && req.Body != http.NoBody) ||
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
// it for a request without a body: the request line, Host, User-Agent
// (left out when set empty, net/http's when absent), Content-Length: 0
// for POST, PUT and PATCH, then the other fields sorted by name, values
// trimmed and in order.
func appendRequest(b []byte, req *http.Request) []byte {
	b = append(b, req.Method...)
	b = append(b, ' ')
	if req.URL.RawQuery == "" && !req.URL.ForceQuery && req.URL.RawPath == "" && req.URL.Path != "" && plainPath(req.URL.Path) {
		b = append(b, req.URL.Path...)
	} else {
		b = append(b, req.URL.RequestURI()...)
	}
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
	switch req.Method {
	case "POST", "PUT", "PATCH":
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
	return append(b, "\r\n"...)
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

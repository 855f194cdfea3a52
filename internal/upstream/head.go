package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"sync"

	"github.com/forcehttps/forcehttps/internal/lex"
)

// ErrMalformed is wrapped by every error about a response this transport
// refuses to read: the proxy answers 502 and the connection is closed.
var ErrMalformed = errors.New("upstream: malformed response")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// framing is how a response body is delimited (RFC 9112 §6.3).
type framing int

const (
	noBody  framing = iota // HEAD, 1xx, 204, 304, or Content-Length: 0
	sized                  // Content-Length > 0
	chunked                // Transfer-Encoding: chunked
	tillEOF                // neither: the body ends when the connection closes
)

// head is a parsed response head.
type head struct {
	resp     *http.Response // &res
	res      http.Response
	body     body // resp.Body, when the response has one: one allocation for the three
	framing  framing
	length   int64 // for sized
	keep     bool  // the connection may carry another request afterwards
	trailers bool  // the response announced trailers (resp.Trailer set)
	// The values of the header's fields, when there are no more than
	// its length: the head's allocation holds them.
	vals [headVals]string
}

// headVals is how many field values a head holds without an allocation
// of their own: as many as a plain answer has (Content-Type,
// Content-Length, Date and a few more).
const headVals = 12

// readHead reads one response head from br, at most max bytes, for a
// request of the given method. It takes only what RFC 9112 allows and
// refuses (ErrMalformed) what it calls for rejecting or leaves to a
// recipient's judgement: line ends other than CRLF, obs-fold, a bare CR,
// control bytes in values, whitespace before a colon, both
// Transfer-Encoding and Content-Length, differing or invalid
// Content-Length values, a transfer coding other than chunked, and
// versions other than HTTP/1.0 and HTTP/1.1. The response it returns
// carries what net/http's Transport would put in it (canonical header
// keys, Transfer-Encoding removed, Pragma: no-cache completed with
// Cache-Control, announced trailers moved to Trailer).
func readHead(br *bufio.Reader, max int, method string) (*head, error) {
	if _, err := br.Peek(1); err != nil {
		if err == io.EOF || isReset(err) {
			// Not a byte of a response: the connection was closed.
			err = fmt.Errorf("%w: %w", errNothingRead, err)
		}
		return nil, err
	}
	budget := max
	line, err := readLine(br, &budget, nil)
	if err != nil {
		return nil, err
	}
	h := &head{}
	resp := &h.res
	h.resp = resp
	if err := statusLine(line, resp); err != nil {
		return nil, err
	}
	hdr, err := readFields(br, &budget, h.vals[:0])
	if err != nil {
		return nil, err
	}
	resp.Header = hdr
	return h, h.frame(method)
}

// statusLine parses "HTTP/1.x DDD reason".
func statusLine(line []byte, resp *http.Response) error {
	if len(line) < len("HTTP/1.1 200") || string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		return malformed("status line %q", trunc(line))
	}
	switch line[7] {
	case '0':
		resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/1.0", 1, 0
	case '1':
		resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/1.1", 1, 1
	default:
		return malformed("status line %q", trunc(line))
	}
	code := line[9:12]
	if code[0] < '1' || code[0] > '9' || !lex.IsDigit(code[1]) || !lex.IsDigit(code[2]) {
		return malformed("status code %q", trunc(line))
	}
	resp.StatusCode = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	rest := line[12:]
	if len(rest) > 0 && rest[0] != ' ' {
		return malformed("status line %q", trunc(line))
	}
	for _, c := range rest {
		if !valueByte(c) {
			return malformed("status line %q", trunc(line))
		}
	}
	resp.Status = statusText(resp.StatusCode, line[9:])
	return nil
}

// statusText returns the Status net/http would set ("200 OK"), without
// allocating for the usual reason phrases.
func statusText(code int, s []byte) string {
	if len(s) > 4 && string(s[4:]) == http.StatusText(code) {
		if t, ok := statusTexts[code]; ok {
			return t
		}
	}
	return string(s)
}

var statusTexts = map[int]string{}

func init() {
	for code := 100; code < 600; code++ {
		if t := http.StatusText(code); t != "" {
			statusTexts[code] = strconv.Itoa(code) + " " + t
		}
	}
}

// readFields reads header fields up to and including the empty line.
// The values share one string, and the value slices one array, as in
// net/http, so that a head costs a few allocations whatever its size.
// The array is vals's when there is room in it: it must be empty, and
// not used for anything else for as long as the header is.
func readFields(br *bufio.Reader, budget *int, vals []string) (http.Header, error) {
	// The scratch space is pooled rather than on the stack: 3 KiB more
	// there would make the goroutine of every proxied request (an
	// HTTP/2 stream's in particular) grow its stack, a copy each time.
	fs := fieldScratches.Get().(*fieldScratch)
	defer fieldScratches.Put(fs)
	fields, arena := fs.fields[:0], fs.arena[:0]
	for {
		line, err := readLine(br, budget, nil)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			// Includes obs-fold (a line starting with SP or HTAB) and a
			// field without a name.
			return nil, malformed("header line %q", trunc(line))
		}
		name := line[:colon]
		for _, c := range name {
			if !lex.IsTChar(c) {
				return nil, malformed("header name %q", trunc(line))
			}
		}
		v := trimOWS(line[colon+1:])
		for _, c := range v {
			if !valueByte(c) {
				return nil, malformed("header value of %q", trunc(name))
			}
		}
		from := len(arena)
		arena = append(arena, v...)
		fields = append(fields, field{canonical(name), from, len(arena)})
	}
	hdr := make(http.Header, len(fields))
	if len(fields) == 0 {
		return hdr, nil
	}
	all := string(arena)
	values := vals[:0:cap(vals)]
	if len(fields) > cap(values) {
		values = make([]string, len(fields))
	}
	values = values[:len(fields)]
	for i, f := range fields {
		values[i] = all[f.from:f.to]
		if vv, ok := hdr[f.key]; ok {
			hdr[f.key] = append(vv, values[i])
		} else {
			hdr[f.key] = values[i : i+1 : i+1]
		}
	}
	return hdr, nil
}

// fieldScratch is readFields' scratch space: the fields of a head, and
// their values one after the other.
type fieldScratch struct {
	fields [32]field
	arena  [2048]byte
}

type field struct {
	key      string
	from, to int
}

var fieldScratches = sync.Pool{New: func() any { return new(fieldScratch) }}

// readLine returns the next line of a head without its CRLF. The slice
// is valid until the next read from br unless the line was longer than
// br's buffer, in which case it is copied into scratch's storage.
func readLine(br *bufio.Reader, budget *int, scratch []byte) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		long := append(scratch[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(long) > *budget {
				return nil, errTooLarge
			}
			line, err = br.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	*budget -= len(line)
	if *budget < 0 {
		return nil, errTooLarge
	}
	if err == io.EOF && len(line) > 0 {
		return nil, io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, err // io.EOF: nothing more
	}
	n := len(line)
	if n < 2 || line[n-2] != '\r' {
		return nil, malformed("line not ended by CRLF: %q", trunc(line))
	}
	line = line[:n-2]
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, malformed("bare CR in %q", trunc(line))
	}
	return line, nil
}

var errTooLarge = fmt.Errorf("%w: head too large", ErrMalformed)

// frame decides the body's framing and whether the connection stays
// usable, the way RFC 9112 §6.3 and net/http's Transport do, or refuses
// the response.
func (h *head) frame(method string) error {
	resp, hdr := h.resp, h.resp.Header
	http11 := resp.ProtoMinor == 1
	conn := hdr["Connection"]
	switch {
	case http11:
		h.keep = !hasToken(conn, "close")
	default:
		// An HTTP/1.0 connection is not reused here, whatever it says.
		h.keep = false
	}
	te, hasTE := hdr["Transfer-Encoding"]
	cls, hasCL := hdr["Content-Length"]
	if hasTE {
		if !http11 || hasCL {
			// An HTTP/1.0 message cannot use transfer codings, and with
			// both fields the framing is ambiguous (RFC 9112 §6.1):
			// smuggling or response splitting. net/http would read it
			// as chunked; nginx refuses it, and so does this.
			return malformed("Transfer-Encoding with %s", map[bool]string{true: "Content-Length", false: "HTTP/1.0"}[hasCL])
		}
		if len(te) != 1 || !asciiEqualFold(te[0], "chunked") {
			return malformed("transfer encoding %q", te)
		}
		delete(hdr, "Transfer-Encoding")
	}
	length := int64(-1)
	if hasCL {
		for _, v := range cls[1:] {
			if v != cls[0] {
				return malformed("Content-Length values %q", cls)
			}
		}
		if len(cls) > 1 {
			hdr["Content-Length"] = cls[:1]
		}
		n, ok := parseLength(cls[0])
		if !ok {
			return malformed("Content-Length %q", cls[0])
		}
		length = n
	}
	if pr := hdr["Pragma"]; len(pr) > 0 && pr[0] == "no-cache" {
		if _, ok := hdr["Cache-Control"]; !ok {
			hdr["Cache-Control"] = []string{"no-cache"}
		}
	}
	code := resp.StatusCode
	bodyless := method == "HEAD" || code/100 == 1 || code == 204 || code == 304
	switch {
	case bodyless:
		h.framing = noBody
		resp.ContentLength = 0
		if method == "HEAD" {
			resp.ContentLength = length
		}
	case hasTE:
		h.framing = chunked
		resp.ContentLength = -1
		resp.TransferEncoding = []string{"chunked"}
	case length == 0:
		h.framing = noBody
	case length > 0:
		h.framing, h.length = sized, length
		resp.ContentLength = length
	default:
		h.framing = tillEOF
		resp.ContentLength = -1
		h.keep = false
	}
	if hasTE && bodyless {
		resp.TransferEncoding = []string{"chunked"}
	}
	resp.Close = !h.keep
	if vv, ok := hdr["Trailer"]; ok && hasTE {
		trailer := http.Header{}
		for _, v := range vv {
			for _, k := range splitList(v) {
				if !isToken(k) {
					return malformed("Trailer %q", v)
				}
				k = textproto.CanonicalMIMEHeaderKey(k)
				switch k {
				case "Transfer-Encoding", "Trailer", "Content-Length":
					return malformed("trailer key %q", k)
				}
				trailer[k] = nil
			}
		}
		delete(hdr, "Trailer")
		if len(trailer) > 0 {
			resp.Trailer = trailer
			h.trailers = true
		}
	}
	return nil
}

// parseLength parses a Content-Length value: 1*DIGIT, at most 2^63-1.
func parseLength(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if !lex.IsDigit(s[i]) {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// valueByte reports whether c may appear in a field value or reason
// phrase: VCHAR, SP, HTAB, obs-text.
func valueByte(c byte) bool { return c == '\t' || (c >= ' ' && c != 0x7f) }

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// hasToken reports whether a comma-separated list field has token tok
// (lower case), ignoring case.
func hasToken(vv []string, tok string) bool {
	for _, v := range vv {
		for _, e := range splitList(v) {
			if asciiEqualFold(e, tok) {
				return true
			}
		}
	}
	return false
}

// splitList splits a list field value on commas, trimming OWS and
// leaving out empty elements.
func splitList(v string) []string {
	var out []string
	for v != "" {
		e := v
		if i := bytes.IndexByte([]byte(v), ','); i >= 0 {
			e, v = v[:i], v[i+1:]
		} else {
			v = ""
		}
		if e = lex.TrimOWS(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func isToken(s string) bool { return s != "" && lex.TokenLen(s) == len(s) }

func asciiEqualFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// commonKeys are the canonical names of the fields apps usually send,
// interned so that parsing them does not allocate.
var commonKeys = map[string]string{}

func init() {
	for _, k := range []string{
		"Accept-Ranges", "Age", "Cache-Control", "Connection", "Content-Disposition",
		"Content-Encoding", "Content-Language", "Content-Length", "Content-Security-Policy",
		"Content-Type", "Date", "Etag", "Expires", "Keep-Alive", "Last-Modified", "Link",
		"Location", "Pragma", "Referrer-Policy", "Server", "Set-Cookie",
		"Strict-Transport-Security", "Trailer", "Transfer-Encoding", "Vary", "Via",
		"X-Content-Type-Options", "X-Frame-Options", "X-Powered-By", "X-Request-Id",
		"X-Xss-Protection", "Access-Control-Allow-Origin", "Upgrade", "Alt-Svc",
	} {
		commonKeys[k] = k
	}
}

// canonical returns the canonical form of a token field name, as
// textproto.CanonicalMIMEHeaderKey writes it (net/http's form).
func canonical(name []byte) string { return lex.CanonicalKey(name, commonKeys) }

// trunc shortens untrusted bytes quoted in an error.
func trunc(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

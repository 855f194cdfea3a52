package h1

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/forcehttps/forcehttps/internal/lex"
)

// Sizes of the response buffers, net/http's: a handler's body is held
// up to chunkingAt bytes before its head is written (a response whose
// handler returns within it gets a Content-Length), and what is ready to
// send goes out once sendAt bytes are waiting (or at a flush, or at the
// end of the response).
const (
	chunkingAt = 2048
	sendAt     = 4096
	// keepOut is the largest send buffer kept between
	// requests; a larger one, grown by a streamed response, is dropped.
	keepOut = 8 << 10
)

// responseWriter is the http.ResponseWriter of a request served here. It
// is reused for every request of a connection.
//
// It writes what net/http's response writer writes, byte for byte: the
// head as chunkWriter.writeHeader makes it, the body through a
// 2048-byte buffer (chunked for HTTP/1.1 when the head had to go before
// the handler returned without a Content-Length, until the close for
// HTTP/1.0), trailers, and 1xx heads; the tests compare both.
type responseWriter struct {
	c       *conn
	req     *http.Request
	header  http.Header
	status  int
	buf     []byte        // the body not yet framed (net/http's bufio.Writer of chunkingAt bytes)
	out     []byte        // what is ready to send: heads and the framed body
	fields  []headerField // the handler's fields, as writeHead and informational collect them
	touched bool          // a method was called
	broken  bool          // Answer panicked: close without sending more
	err     error         // the first error writing to the connection

	// Noted at WriteHeader, from the handler's fields.
	contentLength int64 // the declared length, -1 if none
	written       int64 // body bytes the handler wrote
	connSpan      [2]int
	connFirst     string // the first Connection value
	haveConn      bool
	haveCL        bool // a Content-Length field, valid or not
	haveType      bool
	haveDate      bool
	hasCE         bool   // a non-empty Content-Encoding
	te            string // the first Transfer-Encoding value
	clIgnored     bool   // a Content-Length with a Transfer-Encoding: not for the framing
	trailers      bool   // trailers declared (Trailer) or set (http.TrailerPrefix)
	declared      []string

	// Noted when the head goes.
	headDone   bool // the head is final (net/http's chunkWriter.wroteHeader)
	chunking   bool
	closeAfter bool
	done       bool // Answer returned
}

// reset readies w for the request r of c, with the byte buffers of c's
// scratch space.
func (w *responseWriter) reset(c *conn, r *http.Request) {
	clear(w.header)
	*w = responseWriter{c: c, req: r, header: w.header, buf: c.sc.body[:0], out: c.sc.out[:0], fields: w.fields[:0],
		contentLength: -1, declared: w.declared[:0]}
	c.sc.body, c.sc.out = nil, nil
}

// returnBuffers gives the byte buffers back to sc once the response is
// finished: an idle connection holds none.
func (w *responseWriter) returnBuffers(sc *scratch) {
	sc.body = w.buf[:0]
	if cap(w.out) <= keepOut {
		sc.out = w.out[:0]
	}
	w.buf, w.out = nil, nil
}

// Header returns the response header map.
func (w *responseWriter) Header() http.Header {
	w.touched = true
	return w.header
}

// WriteHeader sends an informational head (1xx other than 101) at once,
// with the handler's fields as they are, or sets the final status and
// takes the handler's fields as they are now, as net/http does: later
// changes to the map do not count, trailers aside. The first final
// status wins.
func (w *responseWriter) WriteHeader(code int) {
	w.touched = true
	if code < 100 || code > 999 {
		panic("h1: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if w.status != 0 {
		return
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.informational(code)
		return
	}
	w.status = code
	w.writeHead()
}

// informational sends a 1xx head, as net/http does: the status line and
// the handler's fields but Content-Length and Transfer-Encoding.
func (w *responseWriter) informational(code int) {
	if w.err != nil || w.broken {
		return
	}
	b := appendStatusLine(w.out, w.req.ProtoMinor, code)
	b, _ = w.appendFields(b, func(k string) bool { return k == "Content-Length" || k == "Transfer-Encoding" })
	w.out = append(b, "\r\n"...)
	w.send()
}

// Write adds to the body, as net/http's writer does: through a buffer of
// chunkingAt bytes, never beyond a declared Content-Length.
func (w *responseWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errFinished
	}
	w.touched = true
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(len(p))
	if w.contentLength != -1 && w.written > w.contentLength {
		return 0, http.ErrContentLength
	}
	if w.err != nil {
		return 0, w.err
	}
	n := 0
	for len(p) > chunkingAt-len(w.buf) && w.err == nil {
		if len(w.buf) == 0 {
			// A large write, nothing buffered: framed as one piece.
			w.frame(p)
			n += len(p)
			p = p[len(p):]
			break
		}
		m := chunkingAt - len(w.buf)
		w.buf = append(w.buf, p[:m]...)
		n += m
		p = p[m:]
		w.frame(w.buf)
		w.buf = w.buf[:0]
	}
	if w.err != nil {
		return n, w.err
	}
	// Grown as needed, not to chunkingAt at once: the pooled scratch
	// space keeps it between responses.
	w.buf = append(w.buf, p...)
	return n + len(p), nil
}

// errFinished is the error of a write after Answer returned.
var errFinished = errors.New("h1: write after the response was finished")

// Flush sends the head and the body written so far.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush for http.ResponseController.
func (w *responseWriter) FlushError() error {
	if w.done {
		return errFinished
	}
	w.touched = true
	w.passBuffered()
	w.send()
	return w.err
}

// SetWriteDeadline sets the connection's write deadline, for
// http.ResponseController. It may be called from another goroutine.
// While the deadline is the one the connection armed, lifting it (the
// zero time) may be put off, and a deadline a little before it keeps it
// (see conn.setWriteDeadline).
func (w *responseWriter) SetWriteDeadline(t time.Time) error {
	return w.c.setWriteDeadline(t)
}

// SetReadDeadline sets the connection's read deadline, for
// http.ResponseController. No request here has a body: it bounds
// nothing the handler reads.
func (w *responseWriter) SetReadDeadline(t time.Time) error {
	w.c.rdlTouched.Store(true)
	return w.c.rw.SetReadDeadline(t)
}

// frame passes a piece of the body on (net/http's chunkWriter.Write):
// the head first if it has not gone, then the piece, chunked or not.
func (w *responseWriter) frame(p []byte) {
	if !w.headDone {
		w.finalHead(p)
	}
	if w.req.Method == http.MethodHead {
		return
	}
	if w.chunking {
		w.out = strconv.AppendInt(w.out, int64(len(p)), 16)
		w.out = append(w.out, "\r\n"...)
		w.out = append(w.out, p...)
		w.out = append(w.out, "\r\n"...)
	} else {
		w.out = append(w.out, p...)
	}
	if len(w.out) >= sendAt {
		w.send()
	}
}

// passBuffered completes the head if it has not gone and passes the
// buffered body on (net/http's flush of its bufio.Writer, then of its
// chunkWriter).
func (w *responseWriter) passBuffered() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err == nil && len(w.buf) > 0 {
		w.frame(w.buf)
		w.buf = w.buf[:0]
	}
	if !w.headDone {
		w.finalHead(nil)
	}
}

// send writes what is ready.
func (w *responseWriter) send() {
	if len(w.out) == 0 || w.broken {
		return
	}
	if w.err == nil {
		_, w.err = w.c.rw.Write(w.out)
	}
	w.out = w.out[:0]
}

// finish completes the response once Answer returned, as net/http's
// finishRequest does: the buffered body, the head if it has not gone
// (with a Content-Length, the whole body being known), the last chunk
// and the trailers; then it sends, unless hold: the bytes then stay in
// w.out, for the connection to send (see conn.loop).
func (w *responseWriter) finish(hold bool) error {
	w.done = true
	if w.broken {
		return w.err
	}
	w.passBuffered()
	if w.chunking {
		w.out = append(w.out, "0\r\n"...)
		w.out = w.appendTrailers(w.out)
		w.out = append(w.out, "\r\n"...)
	}
	if !hold {
		w.send()
	}
	return w.err
}

// closes reports whether the connection must close after this response;
// cut, whether the response is incomplete (a body shorter than its
// Content-Length, a write error): the connection is then closed at
// once, without a graceful end.
func (w *responseWriter) closes() (closes, cut bool) {
	short := w.req.Method != http.MethodHead && w.contentLength != -1 && bodyAllowed(w.status) && w.contentLength != w.written
	cut = short || w.err != nil || w.broken
	return cut || w.closeAfter, cut
}

// bodyAllowed reports whether a response with status may have a body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// appendStatusLine appends a status line as net/http writes it.
func appendStatusLine(b []byte, minor, code int) []byte {
	if code < len(statusLines[0]) && statusLines[0][code] != "" {
		return append(b, statusLines[min(minor, 1)][code]...)
	}
	return appendStatusLineSlow(b, minor, code)
}

// statusLines are the status lines of the codes with a text, by minor
// version and code, made once rather than for every response.
var statusLines = func() (t [2][600]string) {
	for minor := range 2 {
		for code := 100; code < len(t[minor]); code++ {
			if http.StatusText(code) != "" {
				t[minor][code] = string(appendStatusLineSlow(nil, minor, code))
			}
		}
	}
	return t
}()

// appendStatusLineSlow is appendStatusLine for any code.
func appendStatusLineSlow(b []byte, minor, code int) []byte {
	if minor == 0 {
		b = append(b, "HTTP/1.0 "...)
	} else {
		b = append(b, "HTTP/1.1 "...)
	}
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	if text := http.StatusText(code); text != "" {
		b = append(b, text...)
	} else {
		b = append(b, "status code "...)
		b = strconv.AppendInt(b, int64(code), 10)
	}
	return append(b, "\r\n"...)
}

// headerField is a field of the handler's header.
type headerField struct {
	key    string
	values []string
}

// appendFields appends the handler's fields in key order, as
// http.Header.WriteSubset does, but those skip excludes. It returns
// where the Connection field(s) are in b.
func (w *responseWriter) appendFields(b []byte, skip func(string) bool) ([]byte, [2]int) {
	w.fields = w.fields[:0]
	for k, v := range w.header {
		w.fields = append(w.fields, headerField{k, v})
	}
	return w.appendCollected(b, skip)
}

// appendCollected is appendFields for the fields in w.fields, which it
// sorts.
func (w *responseWriter) appendCollected(b []byte, skip func(string) bool) ([]byte, [2]int) {
	sortFields(w.fields)
	var conn [2]int
	for _, f := range w.fields {
		k := f.key
		if !validFieldName(k) || skip(k) {
			continue
		}
		if k == "Connection" {
			conn[0] = len(b)
		}
		for _, v := range f.values {
			b = append(b, k...)
			b = append(b, ": "...)
			b = appendFieldValue(b, v)
			b = append(b, "\r\n"...)
		}
		if k == "Connection" {
			conn[1] = len(b)
		}
	}
	return b, conn
}

// sortFields sorts fields by key. A response has a handful of fields,
// most of them with different first letters: an insertion sort that
// compares those first costs a fraction of slices.SortFunc's.
func sortFields(fields []headerField) {
	if len(fields) > 12 {
		slices.SortFunc(fields, func(a, b headerField) int { return strings.Compare(a.key, b.key) })
		return
	}
	for i := 1; i < len(fields); i++ {
		for j := i; j > 0 && keyLess(fields[j].key, fields[j-1].key); j-- {
			fields[j], fields[j-1] = fields[j-1], fields[j]
		}
	}
}

// keyLess reports whether a sorts before b.
func keyLess(a, b string) bool {
	if a != "" && b != "" && a[0] != b[0] {
		return a[0] < b[0]
	}
	return a < b
}

// writeHead notes what the final head depends on and writes its status
// line and the handler's fields, leaving out those net/http would leave
// out whatever comes next; only the Connection field's fate waits for
// the body (see finalHead).
func (w *responseWriter) writeHead() {
	r, h := w.req, w.header
	// One pass over the fields notes those the head depends on and
	// collects the fields to write, rather than a lookup per name.
	first := func(v []string) string {
		if len(v) == 0 {
			return ""
		}
		return v[0]
	}
	var cl, ce string
	var trailer []string
	w.fields = w.fields[:0]
	for k, v := range h {
		w.fields = append(w.fields, headerField{k, v})
		switch k {
		case "Content-Length":
			cl, w.haveCL = first(v), true
		case "Connection":
			w.connFirst, w.haveConn = first(v), true
		case "Content-Type":
			w.haveType = true
		case "Date":
			w.haveDate = true
		case "Content-Encoding":
			ce = first(v)
		case "Transfer-Encoding":
			w.te = first(v)
		case "Trailer":
			trailer = v
		default:
			if strings.HasPrefix(k, http.TrailerPrefix) {
				w.trailers = true
			}
		}
	}
	if cl != "" {
		if v, err := strconv.ParseInt(cl, 10, 64); err == nil && v >= 0 {
			w.contentLength = v
		}
	}
	w.hasCE = ce != ""
	for _, v := range trailer {
		w.trailers = true
		for name := range strings.SplitSeq(v, ",") {
			name = http.CanonicalHeaderKey(strings.Trim(name, " \t"))
			if name != "" && validTrailer(name) {
				w.declared = append(w.declared, name)
			}
		}
	}
	status, hasTE := w.status, w.te != ""
	validCL := w.contentLength != -1
	// net/http ignores a length sent with a transfer coding for the
	// framing (not for the checks of Write).
	w.clIgnored = validCL && hasTE && w.te != "identity"
	noBody := r.Method == http.MethodHead || !bodyAllowed(status)
	// Whether the body may be chunked: then a field Content-Length (an
	// invalid one: a valid one prevents chunking) is left out too.
	mayChunk := !noBody && (!validCL || w.clIgnored) && r.ProtoMinor == 1 && !(hasTE && w.te == "identity")
	keepTE := mayChunk && hasTE && w.te != "chunked"
	dropCL := w.haveCL && (w.clIgnored || !validCL && mayChunk)
	b := appendStatusLine(w.out, r.ProtoMinor, status)
	b, w.connSpan = w.appendCollected(b, func(k string) bool {
		switch k {
		case "Content-Length":
			return dropCL || !bodyAllowed(status)
		case "Transfer-Encoding":
			return !keepTE
		case "Content-Type":
			return status == http.StatusNotModified
		}
		return strings.HasPrefix(k, http.TrailerPrefix)
	})
	w.out = b
}

// finalHead completes the head before the first piece of the body, p
// (net/http's chunkWriter.writeHeader): it decides the framing and adds
// what net/http adds to the handler's fields (Date, Content-Length,
// a sniffed Content-Type, Connection, Transfer-Encoding).
func (w *responseWriter) finalHead(p []byte) {
	w.headDone = true
	r, status := w.req, w.status
	isHead := r.Method == http.MethodHead
	hasTE := w.te != ""
	autoCL := w.done && !w.trailers && !hasTE && bodyAllowed(status) && !w.haveCL && (!isHead || len(p) > 0)
	if autoCL {
		w.contentLength = int64(len(p))
	}
	hasCL := w.contentLength != -1
	wants10KeepAlive := r.ProtoMinor == 0 && w.c.sc.head.keepAlive
	wantsClose := r.Close
	setConn := ""
	if wants10KeepAlive && (isHead || hasCL || !bodyAllowed(status)) {
		if !w.haveConn {
			setConn = "keep-alive"
		}
	} else if r.ProtoMinor == 0 || wantsClose {
		w.closeAfter = true
	}
	if w.connFirst == "close" {
		w.closeAfter = true
	}
	if w.clIgnored {
		hasCL = false
	}
	setTE := ""
	switch {
	case isHead || !bodyAllowed(status):
	case hasCL:
	case r.ProtoMinor == 1:
		if hasTE && w.te == "identity" {
			w.closeAfter = true
		} else {
			w.chunking = true
			setTE = "chunked"
		}
	default:
		w.closeAfter = true
	}
	b := w.out
	if w.closeAfter && !hasToken1(w.connFirst, "close") && !(status == http.StatusSwitchingProtocols && len(w.header["Upgrade"]) > 0) {
		if s := w.connSpan; s[1] > s[0] {
			b = append(b[:s[0]], b[s[1]:]...)
		}
		if r.ProtoMinor == 1 {
			setConn = "close"
		}
	}
	if !w.haveDate {
		b = append(b, "Date: "...)
		now := w.c.now // when the request was read: close enough for a response sent whole
		if !w.done {
			now = time.Now()
		}
		b = append(b, httpDate(now)...)
		b = append(b, "\r\n"...)
	}
	if autoCL {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, w.contentLength, 10)
		b = append(b, "\r\n"...)
	}
	if bodyAllowed(status) && !w.hasCE && !w.haveType && !hasTE && len(p) > 0 {
		b = append(b, "Content-Type: "...)
		b = append(b, http.DetectContentType(p)...)
		b = append(b, "\r\n"...)
	}
	if setConn != "" {
		b = append(b, "Connection: "...)
		b = append(b, setConn...)
		b = append(b, "\r\n"...)
	}
	if setTE != "" {
		b = append(b, "Transfer-Encoding: "...)
		b = append(b, setTE...)
		b = append(b, "\r\n"...)
	}
	w.out = append(b, "\r\n"...)
}

// appendTrailers appends the trailers, as net/http's finalTrailers makes
// them: the fields named with http.TrailerPrefix, then the declared
// ones, as they are when Answer returned. Only chunked bodies have them.
func (w *responseWriter) appendTrailers(b []byte) []byte {
	// Fields named with the prefix count even when set after the head
	// went.
	var t http.Header
	for k, vv := range w.header {
		if kk, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			if t == nil {
				t = make(http.Header)
			}
			t[kk] = vv
		}
	}
	for _, k := range w.declared {
		if t == nil {
			t = make(http.Header)
		}
		for _, v := range w.header[k] {
			t.Add(k, v)
		}
	}
	if t == nil {
		return b
	}
	var buf bytes.Buffer
	t.Write(&buf)
	return append(b, buf.Bytes()...)
}

// validTrailer reports whether a declared trailer may be sent, as
// httpguts.ValidTrailerHeader says.
func validTrailer(name string) bool {
	switch name {
	case "Authorization", "Cache-Control", "Connection", "Content-Encoding", "Content-Length",
		"Content-Range", "Content-Type", "Expect", "Host", "Keep-Alive", "Max-Forwards", "Pragma",
		"Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "Range", "Realm", "Te",
		"Trailer", "Transfer-Encoding", "Www-Authenticate":
		return false
	}
	return true
}

// appendFieldValue appends v as net/http writes field values: CR and LF
// turned into spaces, then surrounding whitespace trimmed, so that no
// value can start a field of its own.
func appendFieldValue(b []byte, v string) []byte {
	if plainValue(v) {
		return append(b, v...)
	}
	start := len(b)
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	val := bytes.Trim(b[start:], " \t")
	n := copy(b[start:], val)
	return b[:start+n]
}

// plainValue reports whether v can be written as is: no CR or LF, no
// whitespace at either end.
func plainValue(v string) bool {
	if v == "" {
		return true
	}
	if c := v[0]; c == ' ' || c == '\t' {
		return false
	}
	if c := v[len(v)-1]; c == ' ' || c == '\t' {
		return false
	}
	return strings.IndexByte(v, '\r') < 0 && strings.IndexByte(v, '\n') < 0
}

// validFieldName reports whether k is a token, the only field names
// written.
func validFieldName(k string) bool { return k != "" && lex.TokenLen(k) == len(k) }

// hasToken1 reports whether a field value has the option token, as
// net/http's hasToken reads it: ignoring ASCII case, between spaces,
// tabs and commas.
func hasToken1(v, token string) bool {
	if len(token) > len(v) || token == "" {
		return false
	}
	if v == token {
		return true
	}
	boundary := func(b byte) bool { return b == ' ' || b == ',' || b == '\t' }
	for sp := 0; sp <= len(v)-len(token); sp++ {
		if b := v[sp]; b != token[0] && b|0x20 != token[0] {
			continue
		}
		if sp > 0 && !boundary(v[sp-1]) {
			continue
		}
		if end := sp + len(token); end != len(v) && !boundary(v[end]) {
			continue
		}
		if asciiEqualFold([]byte(v[sp:sp+len(token)]), token) {
			return true
		}
	}
	return false
}

// dateCache holds the Date value of the current second.
type dateCache struct {
	sec int64
	val string
}

var date atomic.Pointer[dateCache]

// httpDate returns now in the HTTP date format, formatted once a second.
func httpDate(now time.Time) string {
	sec := now.Unix()
	if d := date.Load(); d != nil && d.sec == sec {
		return d.val
	}
	d := &dateCache{sec: sec, val: now.UTC().Format(http.TimeFormat)}
	date.Store(d)
	return d.val
}

// Received returns when the head of the request that w answers was read,
// so that an Answer function can time the request without reading the
// clock again; false if w is not a writer of this package. It is the
// time the response's Date is taken from.
func Received(w http.ResponseWriter) (time.Time, bool) {
	if rw, ok := w.(*responseWriter); ok && rw.c != nil {
		return rw.c.now, true
	}
	return time.Time{}, false
}

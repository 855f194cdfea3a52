package h1

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/forcehttps/forcehttps/internal/lex"
)

// responseWriter collects the response Answer writes. It is reused for
// every request of a connection.
type responseWriter struct {
	req     *http.Request
	header  http.Header
	status  int
	body    []byte
	out     []byte
	keys    []string
	touched bool // a method was called
	broken  bool // Answer panicked

	// Noted when the head is written.
	handlerClose     bool // the handler's Connection has close
	handlerKeepAlive bool // the handler's Connection has keep-alive
	haveCL           bool // the handler set Content-Length
	haveType         bool // the handler set Content-Type
	haveDate         bool // the handler set Date
}

func (w *responseWriter) reset(r *http.Request) {
	clear(w.header)
	*w = responseWriter{req: r, header: w.header, body: w.body[:0], out: w.out[:0], keys: w.keys[:0]}
}

// Header returns the response header map.
func (w *responseWriter) Header() http.Header {
	w.touched = true
	return w.header
}

// WriteHeader sets the status and takes a copy of the header fields, as
// net/http does: later changes to the map do not count. Informational
// statuses (1xx) are ignored: none is sent here. The first final status
// wins.
func (w *responseWriter) WriteHeader(code int) {
	w.touched = true
	if code < 100 || code > 999 {
		panic("h1: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code < 200 || w.status != 0 {
		return
	}
	w.status = code
	w.writeHead()
}

// Write appends to the body; the response is sent whole when Answer
// returns, with its Content-Length.
func (w *responseWriter) Write(p []byte) (int, error) {
	w.touched = true
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.body = append(w.body, p...)
	return len(p), nil
}

// bodyAllowed reports whether a response with status may have a body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// writeHead writes the status line and the handler's fields, in key
// order, and notes the fields the serializer would otherwise add.
func (w *responseWriter) writeHead() {
	r, h, b := w.req, w.header, w.out[:0]
	if r.ProtoMinor == 0 {
		b = append(b, "HTTP/1.0 "...)
	} else {
		b = append(b, "HTTP/1.1 "...)
	}
	b = strconv.AppendInt(b, int64(w.status), 10)
	b = append(b, ' ')
	if text := http.StatusText(w.status); text != "" {
		b = append(b, text...)
	} else {
		b = append(b, "status code "...)
		b = strconv.AppendInt(b, int64(w.status), 10)
	}
	b = append(b, "\r\n"...)

	w.handlerClose = hasToken(h["Connection"], "close")
	w.handlerKeepAlive = hasToken(h["Connection"], "keep-alive")
	closing := w.handlerClose || r.Close
	_, w.haveCL = h["Content-Length"]
	_, w.haveType = h["Content-Type"]
	_, w.haveDate = h["Date"]
	w.keys = w.keys[:0]
	for k := range h {
		w.keys = append(w.keys, k)
	}
	slices.Sort(w.keys)
	for _, k := range w.keys {
		if !validFieldName(k) || k == "Connection" && closing && !w.handlerClose {
			continue
		}
		for _, v := range h[k] {
			b = append(b, k...)
			b = append(b, ": "...)
			b = appendFieldValue(b, v)
			b = append(b, "\r\n"...)
		}
	}
	w.out = b
}

// serialize completes the response: what net/http adds to the handler's
// fields (Date, Content-Length, a sniffed Content-Type, Connection), then
// the body.
func (w *responseWriter) serialize(now time.Time) []byte {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	r, b := w.req, w.out
	allowed := bodyAllowed(w.status)
	head := r.Method == http.MethodHead
	if !w.haveDate {
		b = append(b, "Date: "...)
		b = append(b, httpDate(now)...)
		b = append(b, "\r\n"...)
	}
	if !w.haveCL && allowed && (!head || len(w.body) > 0) {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(w.body)), 10)
		b = append(b, "\r\n"...)
	}
	if !w.haveType && allowed && len(w.body) > 0 {
		b = append(b, "Content-Type: "...)
		b = append(b, http.DetectContentType(w.body)...)
		b = append(b, "\r\n"...)
	}
	switch {
	case w.handlerClose || r.Close:
		if r.ProtoMinor == 1 && !w.handlerClose {
			b = append(b, "Connection: close\r\n"...)
		}
	case r.ProtoMinor == 0 && !w.handlerKeepAlive:
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	b = append(b, "\r\n"...)
	if allowed && !head {
		b = append(b, w.body...)
	}
	w.out = b
	return b
}

// closes reports whether the connection closes after this response.
func (w *responseWriter) closes() bool { return w.handlerClose || w.req.Close }

// appendFieldValue appends v with CR and LF turned into spaces and
// surrounding whitespace trimmed, as net/http writes field values, so that
// no value can start a field of its own.
func appendFieldValue(b []byte, v string) []byte {
	if plainValue(v) {
		return append(b, v...)
	}
	v = strings.Trim(v, " \t")
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
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

// hasToken reports whether a comma-separated list field has the option
// token, ignoring ASCII case.
func hasToken(vals []string, token string) bool {
	for _, v := range vals {
		for opt := range strings.SplitSeq(v, ",") {
			if asciiEqualFold([]byte(strings.Trim(opt, " \t")), token) {
				return true
			}
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

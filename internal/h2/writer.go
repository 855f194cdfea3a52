package h2

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
)

// bufSize is what a response buffers before its first frames: a body
// complete within it when the handler returns goes out with its
// Content-Length, in one write with its head.
const bufSize = 4096

// responseWriter is a stream's http.ResponseWriter. It is used by the
// handler's goroutine only (as http.ResponseWriter allows), but for
// final, which the goroutine reading the request body may read.
type responseWriter struct {
	st       *stream
	c        *conn
	req      *http.Request
	header   http.Header
	tooLarge bool // the request's header list was too long: 431

	status      int
	wroteHeader bool        // the final status is set
	final       atomic.Bool // wroteHeader, for body.Read
	sentHeader  bool        // its HEADERS are written
	block       []byte      // the final head, encoded at WriteHeader
	hasLength   bool        // the handler set Content-Length
	hasType     bool        // or Content-Type, or Content-Encoding
	hasDate     bool
	trailers    []string // declared in the Trailer field
	buf         []byte   // body not written yet
	declLen     int64    // the Content-Length the handler set, or -1
	written     int64
	isHead      bool
	noBody      bool // the status allows no body
	done        bool // the handler returned
	err         error
}

var (
	_ http.Flusher    = (*responseWriter)(nil)
	_ io.StringWriter = (*responseWriter)(nil)
)

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.wroteHeader || w.done {
		w.c.s.logDebug("h2: superfluous response.WriteHeader call", "remote", w.c.remote)
		return
	}
	if code < 200 {
		w.informational(code)
		return
	}
	w.status = code
	w.noBody = code == 204 || code == 304
	block := appendStatus(w.blockBuf(), code)
	h := w.header
	var arr [16]string
	keys := arr[:0]
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vv := h[k]
		switch k {
		case "Content-Length":
			if len(vv) > 0 {
				n, err := strconv.ParseUint(vv[0], 10, 63)
				if err != nil {
					continue // an invalid value is dropped, as Go's server does
				}
				w.declLen, w.hasLength = int64(n), true
				block = appendField(block, "content-length", vv[0])
			}
			continue
		case "Content-Type", "Content-Encoding":
			w.hasType = true
		case "Date":
			w.hasDate = true
		case "Trailer":
			for _, v := range vv {
				for _, t := range strings.Split(v, ",") {
					if t = http.CanonicalHeaderKey(strings.TrimSpace(t)); t != "" && httpguts.ValidTrailerHeader(t) {
						w.trailers = append(w.trailers, t)
					}
				}
			}
		case "Connection":
			if len(vv) > 0 && strings.EqualFold(vv[0], "close") {
				w.c.goAway(errCodeNo)
			}
		}
		block = appendFields(block, k, vv)
	}
	w.block = block
	w.wroteHeader = true
	w.final.Store(true)
}

// blockBuf returns an empty slice to encode a head into.
func (w *responseWriter) blockBuf() []byte {
	if b := blockPool.Get(); b != nil {
		return (*b.(*[]byte))[:0]
	}
	return make([]byte, 0, 512)
}

// Pools of the buffers of a response's head and body, which are copied
// into the connection's buffer when written.
var blockPool, bodyPool sync.Pool

func put(p *sync.Pool, b []byte, size int) {
	if cap(b) >= size && cap(b) <= 4*size {
		b = b[:0]
		p.Put(&b)
	}
}

// appendFields appends the fields of a header key, leaving out what
// HTTP/2 forbids or net/http would not send.
func appendFields(block []byte, k string, vv []string) []byte {
	if strings.HasPrefix(k, http.TrailerPrefix) || !httpguts.ValidHeaderFieldName(k) {
		return block
	}
	lk := lower(k)
	switch lk {
	case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
		return block
	}
	for _, v := range vv {
		if !httpguts.ValidHeaderFieldValue(v) {
			continue
		}
		if lk == "te" && v != "trailers" {
			continue
		}
		block = appendField(block, lk, v)
	}
	return block
}

// lowerCommon holds the lower-case form of common canonical keys.
var lowerCommon = map[string]string{}

func init() {
	for n := range staticNames {
		if n[0] != ':' {
			lowerCommon[http.CanonicalHeaderKey(n)] = n
		}
	}
	for _, n := range []string{"x-content-type-options", "x-frame-options", "x-request-id", "x-xss-protection",
		"content-security-policy", "referrer-policy", "alt-svc", "grpc-status", "grpc-message", "trailer",
		"permissions-policy", "cross-origin-opener-policy", "x-powered-by", "access-control-allow-credentials",
		"access-control-allow-headers", "access-control-allow-methods", "access-control-expose-headers"} {
		lowerCommon[http.CanonicalHeaderKey(n)] = n
	}
}

func lower(k string) string {
	if l, ok := lowerCommon[k]; ok {
		return l
	}
	for i := 0; i < len(k); i++ {
		if 'A' <= k[i] && k[i] <= 'Z' {
			return strings.ToLower(k)
		}
	}
	return k
}

// informational writes a 1xx head at once.
func (w *responseWriter) informational(code int) {
	block := appendStatus(w.blockBuf(), code)
	for k, vv := range w.header {
		if k == "Content-Length" || k == "Transfer-Encoding" {
			continue
		}
		block = appendFields(block, k, vv)
	}
	c, st := w.c, w.st
	c.lockWrite()
	if st.resetErr == nil && c.werr == nil {
		c.writeHeadersLocked(st.id, block, false)
	}
	c.unlockWrite()
}

func (w *responseWriter) Write(p []byte) (int, error) {
	return w.write(p, "")
}

func (w *responseWriter) WriteString(s string) (int, error) {
	return w.write(nil, s)
}

func (w *responseWriter) write(p []byte, s string) (int, error) {
	if w.done {
		return 0, errHandlerDone
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n := len(p) + len(s)
	if n == 0 {
		return 0, nil
	}
	if w.noBody {
		return 0, http.ErrBodyNotAllowed
	}
	if w.declLen >= 0 && w.written+int64(n) > w.declLen {
		return 0, http.ErrContentLength
	}
	if w.err != nil {
		return 0, w.err
	}
	w.written += int64(n)
	if w.isHead {
		// No body, but its first bytes for the sniffed Content-Type.
		if !w.sentHeader && len(w.buf) < 512 {
			w.buf = append(w.buf, p[:min(len(p), 512)]...)
			w.buf = append(w.buf, s[:min(len(s), 512)]...)
		}
		return n, nil
	}
	if len(w.buf)+n <= bufSize {
		if w.buf == nil {
			if b := bodyPool.Get(); b != nil {
				w.buf = (*b.(*[]byte))[:0]
			} else {
				w.buf = make([]byte, 0, bufSize)
			}
		}
		w.buf = append(w.buf, p...)
		w.buf = append(w.buf, s...)
		return n, nil
	}
	if s != "" {
		p = []byte(s)
	}
	if err := w.send(p, false, nil); err != nil {
		return 0, err
	}
	return n, nil
}

var errHandlerDone = errors.New("h2: write after the handler returned")

// send writes the head if not yet written, then the buffered body and
// p, then trailers; end: the response ends with them.
func (w *responseWriter) send(p []byte, end bool, trailers []byte) error {
	st, c := w.st, w.c
	head := w.head(p)
	if w.isHead {
		w.buf, p = w.buf[:0], nil
	}
	c.lockWrite()
	defer c.unlockWrite()
	if err := w.checkLocked(); err != nil {
		return err
	}
	if head != nil {
		endHead := end && len(w.buf) == 0 && len(p) == 0 && trailers == nil
		c.writeHeadersLocked(st.id, head, endHead)
		w.sentHeader = true
		defer put(&blockPool, head, 512)
		if endHead {
			w.endLocked()
			return nil
		}
	}
	hadBuf := len(w.buf) > 0
	if hadBuf {
		if err := w.dataLocked(w.buf, end && len(p) == 0 && trailers == nil); err != nil {
			return err
		}
		w.buf = w.buf[:0]
	}
	if len(p) > 0 || end && trailers == nil && !hadBuf {
		// (An empty DATA frame carries the END_STREAM of a response
		// whose head and body went out before.)
		if err := w.dataLocked(p, end && trailers == nil); err != nil {
			return err
		}
	}
	if trailers != nil {
		c.writeHeadersLocked(st.id, trailers, true)
	}
	if end {
		w.endLocked()
	}
	return nil
}

func (w *responseWriter) checkLocked() error {
	if w.err == nil {
		if w.st.resetErr != nil {
			w.err = w.st.resetErr
		} else if w.c.werr != nil {
			w.err = errConnClosed
		}
	}
	return w.err
}

func (w *responseWriter) endLocked() {
	st := w.st
	st.localDone = true
	if st.remoteDone {
		w.c.removeLocked(st)
	}
}

// head returns the encoded final head if it is not written yet, with
// the fields computed from the first bytes of the body: data, the
// buffered body or p.
func (w *responseWriter) head(p []byte) []byte {
	if w.sentHeader {
		return nil
	}
	block := w.block
	data := w.buf
	if len(data) == 0 {
		data = p
	}
	if !w.hasLength && w.done && !w.noBody && (w.written > 0 || !w.isHead) {
		block = appendField(block, "content-length", strconv.FormatInt(w.written, 10))
	}
	if !w.hasType && !w.noBody && len(data) > 0 {
		block = appendField(block, "content-type", http.DetectContentType(data))
	}
	if !w.hasDate {
		block = appendField(block, "date", date())
	}
	w.block = nil
	return block
}

// dataLocked writes p as DATA frames within the flow-control windows,
// waiting for them to open.
func (w *responseWriter) dataLocked(p []byte, end bool) error {
	st, c := w.st, w.c
	for {
		if err := w.checkLocked(); err != nil {
			return err
		}
		for len(c.wbuf) >= wbufLimit && c.werr == nil {
			if c.flushing {
				c.waitLocked(&c.flushed)
			} else {
				c.flushLocked()
			}
		}
		if err := w.checkLocked(); err != nil {
			return err
		}
		n := min(int64(len(p)), int64(min(c.peerMaxFrame, maxFrameSize)), st.sendWindow, c.sendWindow)
		if n <= 0 && len(p) > 0 {
			if c.sendWindow <= 0 && !slices.Contains(c.connWaiters, st) {
				c.connWaiters = append(c.connWaiters, st)
			}
			c.waitLocked(&st.cond)
			continue
		}
		last := end && int(n) == len(p)
		var flags http2.Flags
		if last {
			flags = http2.FlagDataEndStream
		}
		c.appendHeader(int(n), http2.FrameData, flags, st.id)
		c.wbuf = append(c.wbuf, p[:n]...)
		st.sendWindow -= n
		c.sendWindow -= n
		p = p[n:]
		if len(p) == 0 {
			return nil
		}
	}
}

// finish ends the response once the handler returned. It reports
// whether the response was cut short: a body of fewer bytes than the
// Content-Length the handler declared is sent as far as it goes, and
// the stream must then be reset rather than ended, so that the client
// sees an incomplete response, never a complete one (a response whose
// DATA differ from its content-length is malformed, RFC 9113 §8.1.1).
func (w *responseWriter) finish() (cut bool) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.done = true
	if w.err != nil {
		return false
	}
	if !w.isHead && !w.noBody && w.declLen >= 0 && w.written < w.declLen {
		w.send(nil, false, nil)
		w.release()
		return true
	}
	w.send(nil, true, w.trailerBlock())
	w.release()
	return false
}

// release gives the body buffer back once the response is over.
func (w *responseWriter) release() {
	if w.buf != nil {
		put(&bodyPool, w.buf, bufSize)
		w.buf = nil
	}
}

// trailerBlock returns the encoded trailers, or nil if there are none
// with a value.
func (w *responseWriter) trailerBlock() []byte {
	var block []byte
	add := func(k string, vv []string) {
		if len(vv) == 0 {
			return
		}
		if block == nil {
			block = make([]byte, 0, 64)
		}
		block = appendFields(block, k, vv)
	}
	for _, k := range w.trailers {
		add(k, w.header[k])
	}
	for k, vv := range w.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			if t := http.CanonicalHeaderKey(k[len(http.TrailerPrefix):]); httpguts.ValidTrailerHeader(t) {
				add(t, vv)
			}
		}
	}
	if block != nil && len(block) == 0 {
		return nil
	}
	return block
}

// Flush writes the head and the body so far.
func (w *responseWriter) Flush() { w.FlushError() }

// FlushError writes the head and the body so far, and reports why it
// could not.
func (w *responseWriter) FlushError() error {
	if w.done {
		return errHandlerDone
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return w.err
	}
	if w.sentHeader && len(w.buf) == 0 {
		return nil
	}
	return w.send(nil, false, nil)
}

// SetReadDeadline bounds the reads of the request body.
func (w *responseWriter) SetReadDeadline(t time.Time) error {
	w.st.setReadDeadline(t)
	return nil
}

// SetWriteDeadline bounds the response: past it, the stream is reset.
func (w *responseWriter) SetWriteDeadline(t time.Time) error {
	w.st.setWriteDeadline(t)
	return nil
}

// EnableFullDuplex does nothing: HTTP/2 streams are full duplex.
func (w *responseWriter) EnableFullDuplex() error { return nil }

// The Date field, formatted once a second.
type dateValue struct {
	sec int64
	s   string
}

var dateCache atomic.Pointer[dateValue]

func date() string {
	now := time.Now()
	if d := dateCache.Load(); d != nil && d.sec == now.Unix() {
		return d.s
	}
	d := &dateValue{sec: now.Unix(), s: now.UTC().Format(http.TimeFormat)}
	dateCache.Store(d)
	return d.s
}

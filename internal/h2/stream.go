package h2

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
)

// stream is one request and its response. Its fields are guarded by the
// connection's mu, but for those of the handler's goroutine (rw).
type stream struct {
	c      *conn
	id     uint32
	cond   sync.Cond // on c.mu: body data, window, reset
	ctx    context.Context
	cancel context.CancelCauseFunc
	rw     *responseWriter
	req    *http.Request

	remoteDone bool  // END_STREAM received
	localDone  bool  // END_STREAM sent
	closed     bool  // out of the connection's streams
	resetErr   error // why writes fail: the stream was reset
	started    bool  // its handler runs (or ran)

	handlerDone bool

	// The request body.
	declLen       int64 // content-length, or -1
	gotLen        int64
	recvWindow    int32 // what the client may still send
	recvUnacked   int32
	body          []byte // received, unread from bodyOff
	bodyOff       int
	bodyErr       error // once body is read: io.EOF or why it ended
	bodyClosed    bool
	needsContinue bool
	trailer       http.Header
	readDeadline  time.Time
	readTimer     *time.Timer

	// The response.
	sendWindow int64
	writeTimer *time.Timer
}

// connHeaders are the connection-specific fields a request must not
// carry (RFC 9113 §8.2.2).
var connHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade"}

func (c *conn) processHeadersLocked(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	if id%2 == 0 {
		return http2.ConnectionError(errCodeProtocol)
	}
	if st := c.streams[id]; st != nil {
		if st.remoteDone {
			c.resetLocked(st, errCodeClosed, true, errStreamReset)
			return nil
		}
		return c.trailersLocked(st, f)
	}
	if id <= c.maxClientID {
		return http2.ConnectionError(errCodeClosed)
	}
	c.maxClientID = id
	if c.goAwaySent {
		return nil // after the last stream the GOAWAY named: ignored
	}
	if f.HasPriority() && f.Priority.StreamDep == id {
		c.writeRSTLocked(id, errCodeProtocol)
		return nil
	}
	if uint32(len(c.streams)) >= c.s.maxStreams() {
		c.writeRSTLocked(id, errCodeRefused)
		if c.noteJunk() {
			return errJunk
		}
		return nil
	}
	st := &stream{
		c:          c,
		id:         id,
		declLen:    -1,
		recvWindow: c.streamWindow(),
		sendWindow: int64(c.peerWindow),
	}
	st.cond.L = &c.mu
	req, code := c.newRequest(st, f)
	if code != errCodeNo {
		c.writeRSTLocked(id, code)
		return nil
	}
	st.ctx, st.cancel = context.WithCancelCause(c.ctx)
	req = req.WithContext(st.ctx)
	st.req = req
	st.rw = &responseWriter{st: st, c: c, req: req, header: make(http.Header), declLen: -1, isHead: req.Method == "HEAD"}
	if f.Truncated {
		st.rw.tooLarge = true
	}
	if f.StreamEnded() {
		st.remoteDone = true
	}
	c.streams[id] = st
	if c.idleArmed {
		c.idleArmed = false
		c.nc.SetReadDeadline(time.Time{})
	}
	c.started++
	if c.running < int(c.s.maxStreams()) {
		c.startLocked(st)
		return nil
	}
	if len(c.queued) >= 4*int(c.s.maxStreams()) {
		return http2.ConnectionError(errCodeCalm)
	}
	c.queued = append(c.queued, st)
	return nil
}

func (c *conn) startLocked(st *stream) {
	c.running++
	st.started = true
	go c.runHandler(st)
}

// newRequest builds the request of a HEADERS frame, or returns the code
// of the stream error that refuses it.
func (c *conn) newRequest(st *stream, f *http2.MetaHeadersFrame) (*http.Request, http2.ErrCode) {
	method := f.PseudoValue("method")
	scheme := f.PseudoValue("scheme")
	authority := f.PseudoValue("authority")
	path := f.PseudoValue("path")
	protocol := f.PseudoValue("protocol")
	if f.PseudoValue("status") != "" || protocol != "" {
		// A response's field; :protocol is extended CONNECT (RFC 8441),
		// which is not announced, as Go's server does not by default.
		return nil, errCodeProtocol
	}
	if method == "CONNECT" {
		if path != "" || scheme != "" || authority == "" {
			return nil, errCodeProtocol
		}
	} else if method == "" || path == "" || (scheme != "https" && scheme != "http") {
		return nil, errCodeProtocol
	}
	fields := f.RegularFields()
	header := make(http.Header, len(fields))
	for _, hf := range fields {
		k := http.CanonicalHeaderKey(hf.Name)
		header[k] = append(header[k], hf.Value)
	}
	for _, k := range connHeaders {
		if _, ok := header[k]; ok {
			return nil, errCodeProtocol
		}
	}
	if te := header["Te"]; len(te) > 1 || len(te) == 1 && te[0] != "trailers" {
		return nil, errCodeProtocol
	}
	if authority == "" {
		authority = header.Get("Host")
	}
	if strings.IndexByte(authority, '@') >= 0 {
		return nil, errCodeProtocol
	}
	if httpguts.HeaderValuesContainsToken(header["Expect"], "100-continue") {
		delete(header, "Expect")
		st.needsContinue = !f.StreamEnded()
	}
	if cookies := header["Cookie"]; len(cookies) > 1 {
		header["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	var trailer http.Header
	for _, v := range header["Trailer"] {
		for _, key := range strings.Split(v, ",") {
			key = http.CanonicalHeaderKey(textproto.TrimString(key))
			switch key {
			case "Transfer-Encoding", "Trailer", "Content-Length", "":
			default:
				if trailer == nil {
					trailer = make(http.Header)
				}
				trailer[key] = nil
			}
		}
	}
	delete(header, "Trailer")
	var u *url.URL
	var requestURI string
	if method == "CONNECT" {
		u, requestURI = &url.URL{Host: authority}, authority
	} else {
		var err error
		if u, err = url.ParseRequestURI(path); err != nil {
			return nil, errCodeProtocol
		}
		requestURI = path
	}
	r := &http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     header,
		Host:       authority,
		RemoteAddr: c.remote,
		RequestURI: requestURI,
		Trailer:    trailer,
	}
	if scheme == "https" {
		r.TLS = c.tls
	}
	st.trailer = trailer
	if f.StreamEnded() {
		r.Body = http.NoBody
	} else {
		r.ContentLength = -1
		if vv, ok := header["Content-Length"]; ok {
			if n, err := strconv.ParseUint(vv[0], 10, 63); err == nil {
				r.ContentLength, st.declLen = int64(n), int64(n)
			} else {
				r.ContentLength = 0
			}
		}
		r.Body = &body{st: st}
	}
	return r, errCodeNo
}

// trailersLocked takes the HEADERS that end a request body.
func (c *conn) trailersLocked(st *stream, f *http2.MetaHeadersFrame) error {
	if !f.StreamEnded() {
		c.resetLocked(st, errCodeProtocol, true, errStreamReset)
		return nil
	}
	if len(f.PseudoFields()) > 0 {
		c.resetLocked(st, errCodeProtocol, true, errStreamReset)
		return nil
	}
	for _, hf := range f.RegularFields() {
		k := http.CanonicalHeaderKey(hf.Name)
		if !httpguts.ValidTrailerHeader(k) {
			c.resetLocked(st, errCodeProtocol, true, errStreamReset)
			return nil
		}
		if st.trailer != nil {
			st.trailer[k] = append(st.trailer[k], hf.Value)
		}
	}
	c.endRemoteLocked(st)
	return nil
}

// endRemoteLocked ends the request body: END_STREAM arrived.
func (c *conn) endRemoteLocked(st *stream) {
	st.remoteDone = true
	if st.bodyErr == nil {
		if st.declLen >= 0 && st.gotLen != st.declLen {
			st.bodyErr = fmt.Errorf("h2: request declared a content-length of %d but sent %d bytes", st.declLen, st.gotLen)
		} else {
			st.bodyErr = io.EOF
		}
	}
	st.cond.Broadcast()
	if st.localDone {
		c.removeLocked(st)
	}
}

// resetLocked ends st before its time: with RST_STREAM(code) when send,
// its context canceled with cause, its body and writes failing.
func (c *conn) resetLocked(st *stream, code http2.ErrCode, send bool, cause error) {
	if st.closed {
		return
	}
	if send {
		c.writeRSTLocked(st.id, code)
	}
	st.resetErr = cause
	if st.bodyErr == nil || st.bodyErr == io.EOF && st.bodyOff < len(st.body) {
		st.bodyErr = cause
	}
	if st.cancel != nil {
		st.cancel(cause)
	}
	c.removeLocked(st)
}

// removeLocked takes st out of the open streams.
func (c *conn) removeLocked(st *stream) {
	if st.closed {
		return
	}
	st.closed = true
	st.cond.Broadcast()
	delete(c.streams, st.id)
	if n := int32(len(st.body) - st.bodyOff); n > 0 && !st.bodyClosed {
		st.body, st.bodyOff = nil, 0
		if c.werr == nil {
			c.creditConnLocked(n)
		}
	}
	if len(c.streams) == 0 && c.werr == nil {
		c.armIdleLocked()
	}
}

// runHandler runs the handler of st in its goroutine.
func (c *conn) runHandler(st *stream) {
	rw := st.rw
	cut := false
	defer func() {
		p := recover()
		if p != nil && p != http.ErrAbortHandler {
			c.s.logError("h2: panic serving "+c.remote, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
		c.handlerDone(st, p != nil || cut)
	}()
	var h http.Handler = c.s.Handler
	if rw.tooLarge {
		h = http.HandlerFunc(headerTooLarge)
	}
	h.ServeHTTP(rw, st.req)
	cut = rw.finish()
}

func headerTooLarge(w http.ResponseWriter, r *http.Request) {
	const msg = "431 Request Header Fields Too Large"
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusRequestHeaderFieldsTooLarge)
	io.WriteString(w, "<h1>"+msg+"</h1>")
}

// handlerDone ends the stream once its handler returned (failed: it
// panicked, or its response fell short of its Content-Length; then with
// RST_STREAM(INTERNAL_ERROR)), and starts a handler waiting for a slot.
func (c *conn) handlerDone(st *stream, failed bool) {
	c.lockWrite()
	c.running--
	st.handlerDone = true
	if st.readTimer != nil {
		st.readTimer.Stop()
	}
	if st.writeTimer != nil {
		st.writeTimer.Stop()
	}
	switch {
	case failed:
		c.resetLocked(st, errCodeInternal, true, errHandlerPanic)
	case !st.closed && st.localDone:
		// A complete response while the request goes on: the client may
		// stop sending (RFC 9113 §8.1).
		c.resetLocked(st, errCodeNo, true, errStreamReset)
	case !st.closed:
		c.resetLocked(st, errCodeCancel, true, errStreamReset)
	}
	st.cancel(nil)
	for len(c.queued) > 0 && c.running < int(c.s.maxStreams()) {
		next := c.queued[0]
		c.queued = c.queued[1:]
		if !next.closed {
			c.startLocked(next)
		}
	}
	c.unlockWrite()
}

// body is a request body.
type body struct{ st *stream }

func (b *body) Read(p []byte) (int, error) {
	st := b.st
	c := st.c
	c.lockWrite()
	defer c.unlockWrite()
	if st.needsContinue {
		st.needsContinue = false
		if !st.closed && !st.rw.final.Load() && st.bodyErr == nil && len(st.body) == st.bodyOff {
			c.writeHeadersLocked(st.id, appendStatus(nil, 100), false)
		}
	}
	for len(st.body) == st.bodyOff && st.bodyErr == nil {
		if !st.readDeadline.IsZero() && !time.Now().Before(st.readDeadline) {
			return 0, os.ErrDeadlineExceeded
		}
		if st.bodyClosed {
			return 0, errBodyClosed
		}
		c.waitLocked(&st.cond)
	}
	if st.bodyClosed {
		return 0, errBodyClosed
	}
	if len(st.body) == st.bodyOff {
		return 0, st.bodyErr
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := copy(p, st.body[st.bodyOff:])
	st.bodyOff += n
	if st.bodyOff == len(st.body) {
		st.body, st.bodyOff = st.body[:0], 0
		if cap(st.body) > 64<<10 {
			st.body = nil
		}
	}
	if !st.closed {
		c.creditLocked(st, int32(n))
	} else if c.werr == nil {
		c.creditConnLocked(int32(n))
	}
	return n, nil
}

func (b *body) Close() error {
	st := b.st
	c := st.c
	c.lockWrite()
	defer c.unlockWrite()
	if st.bodyClosed {
		return nil
	}
	st.bodyClosed = true
	st.needsContinue = false
	if n := int32(len(st.body) - st.bodyOff); n > 0 {
		st.body, st.bodyOff = nil, 0
		if !st.closed {
			c.creditLocked(st, n)
		} else if c.werr == nil {
			c.creditConnLocked(n)
		}
	}
	st.cond.Broadcast()
	return nil
}

// setReadDeadline sets when reads of the body fail with
// os.ErrDeadlineExceeded.
func (st *stream) setReadDeadline(t time.Time) {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	st.readDeadline = t
	rearm(&st.readTimer, t, func() {
		c.mu.Lock()
		st.cond.Broadcast()
		c.mu.Unlock()
	})
}

// setWriteDeadline sets when the response is abandoned: the stream is
// reset (INTERNAL_ERROR, as Go's server does) and writes fail.
func (st *stream) setWriteDeadline(t time.Time) {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	rearm(&st.writeTimer, t, func() {
		c.lockWrite()
		if !st.localDone && !st.handlerDone {
			c.resetLocked(st, errCodeInternal, true, errWriteDeadline)
		}
		c.unlockWrite()
	})
}

// rearm stops *timer and, for a t that is not zero, sets it to call f
// at t.
func rearm(timer **time.Timer, t time.Time, f func()) {
	if *timer != nil {
		(*timer).Stop()
	}
	if !t.IsZero() {
		*timer = time.AfterFunc(time.Until(t), f)
	}
}

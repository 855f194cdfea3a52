package edge

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// HTTP/2 request framing the edge checks itself.
//
// RFC 9113 §8.1.1: a request whose content-length differs from the sum
// of its DATA payloads is malformed, and a proxy must not forward it.
// Go's HTTP/2 server resets the stream when more DATA than declared
// arrives, but it hands the handler a request whose content-length
// exceeds its DATA: with END_STREAM on the HEADERS (the body is then
// empty, content-length 0, the header left in place), or on a DATA frame
// before the declared length (the body then fails at its end). Forwarded
// as such, the app would get a request announcing bytes that never come,
// and the client a 502 blaming the app. The edge instead refuses the
// first kind before anything reaches the app, and for the second it
// stops the upstream request when the body ends short, so that the app
// sees an incomplete request and a closed connection, never a complete
// one, and it answers the client 400.

// h2MaxFrameSize is the largest frame the edge accepts, and announces
// in its SETTINGS: the protocol's initial value (RFC 9113 §4.2), as
// nginx keeps, rather than Go's 1 MiB. A larger frame is a connection
// error (FRAME_SIZE_ERROR), as clients and conformance tests that assume
// the initial value expect, and a peer gets no more than 16 KiB buffered
// per frame.
const h2MaxFrameSize = 16 << 10

// h2Config is the HTTP/2 configuration of the edge's servers.
func h2Config(clientIdle time.Duration) *http.HTTP2Config {
	return &http.HTTP2Config{
		MaxReadFrameSize: h2MaxFrameSize,
		// A connection on which nothing can be written for that long is
		// closed: the client stopped reading altogether.
		WriteByteTimeout: clientIdle,
	}
}

// h2Malformed returns why r, an HTTP/2 request, is malformed in a way
// Go's server lets through, or "". HTTP/1 requests are checked by
// net/http's parser (or the fast path's) and are left alone.
func h2Malformed(r *http.Request) string {
	if r.ProtoMajor != 2 {
		return ""
	}
	cl := r.Header["Content-Length"]
	if len(cl) == 0 {
		return ""
	}
	var declared int64 = -1
	for _, v := range cl {
		n, ok := parseLength(v)
		if !ok {
			return "400 Bad Request: invalid content-length."
		}
		if declared >= 0 && n != declared {
			return "400 Bad Request: conflicting content-length values."
		}
		declared = n
	}
	if r.ContentLength != declared {
		return "400 Bad Request: the request ended before the body its content-length declares."
	}
	if declared == 0 && r.Body != nil && r.Body != http.NoBody {
		// The proxy forwards a request declaring no body at once, without
		// reading it: wait for the end of the stream first, so that DATA
		// beyond the declared 0 bytes (which Go's server answers with a
		// stream reset) cannot race a complete request to the app. A
		// stream that ended with its HEADERS reads io.EOF at once.
		var b [1]byte
		if n, err := r.Body.Read(b[:]); n > 0 || !errors.Is(err, io.EOF) {
			return "400 Bad Request: the request body is longer than its content-length."
		}
	}
	return ""
}

// bodyLengthError is the error of a request body that ended before its
// declared content-length.
type bodyLengthError struct {
	declared, got int64
	err           error // the reader's, if not io.EOF
}

func (e *bodyLengthError) Error() string {
	return "request body ended after " + strconv.FormatInt(e.got, 10) + " of the " + strconv.FormatInt(e.declared, 10) + " bytes its content-length declares"
}

func (e *bodyLengthError) Unwrap() error { return e.err }

// h2Body counts what is read of an HTTP/2 request body with a declared
// length, and turns an end before that length into a [bodyLengthError],
// which makes the transport abandon the upstream request and the proxy
// answer 400.
type h2Body struct {
	io.ReadCloser
	declared, n int64
}

func (b *h2Body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err == nil || b.n >= b.declared && errors.Is(err, io.EOF) {
		return n, err
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, &bodyLengthError{declared: b.declared, got: b.n, err: err}
}

// guardH2Body returns r with its body counted against its content-length
// when r is an HTTP/2 request that declares one, else r.
func guardH2Body(r *http.Request) *http.Request {
	if r.ProtoMajor != 2 || r.ContentLength <= 0 || r.Body == nil || r.Body == http.NoBody {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.Body = &h2Body{ReadCloser: r.Body, declared: r.ContentLength}
	return r2
}

// parseLength parses a content-length value: 1*DIGIT (RFC 9110 §8.6),
// no sign, at most 18 digits.
func parseLength(v string) (int64, bool) {
	if v == "" || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

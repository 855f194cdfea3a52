package upstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"syscall"
)

// Where a chunked body is.
type chunkState int

const (
	stData    chunkState = iota // in a chunk's data (remain bytes left)
	stSize                      // at a chunk-size line
	stCRLF                      // at the CRLF after a chunk's data
	stTrailer                   // at the trailer section
)

// maxChunkLine and maxTrailer bound a chunk-size line and the trailer
// section, as net/http does (its buffer size).
const (
	maxChunkLine = 4096
	maxTrailer   = 4096
)

// body is a response body read from its connection with the framing its
// head gave. At the end of a complete body the connection goes back to
// the pool (if it may carry another exchange and nothing follows); on
// any error, or a Close before the end, it is closed.
//
// Reads return what the connection has: a read never waits for more
// once it has bytes to return, so a stream (server-sent events, a slow
// body) reaches the proxy's writer as the app sends it.
type body struct {
	c      *conn
	h      *head
	ctx    context.Context
	remain int64 // bytes left in the body (sized) or the chunk (chunked)
	state  chunkState
	err    error // io.EOF once complete, or why the body failed
}

var errClosed = errors.New("upstream: read on a closed response body")

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var err error
	switch b.h.framing {
	case sized:
		n, err = b.readSized(p)
	case chunked:
		n, err = b.readChunked(p)
	default: // tillEOF
		n, err = b.c.br.Read(p)
		if err == io.EOF {
			b.finish(false)
		}
	}
	if err != nil && err != io.EOF {
		err = b.fail(err)
	}
	return n, err
}

func (b *body) readSized(p []byte) (int, error) {
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.c.br.Read(p)
	b.remain -= int64(n)
	if b.remain == 0 {
		b.finish(b.h.keep)
		return n, io.EOF
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF // short of its Content-Length
	}
	return n, err
}

func (b *body) readChunked(p []byte) (int, error) {
	br := b.c.br
	n := 0
	for {
		switch b.state {
		case stSize:
			if n > 0 && !lineBuffered(br) {
				return n, nil
			}
			size, err := chunkSize(br)
			if err != nil {
				return n, err
			}
			if size == 0 {
				b.state = stTrailer
			} else {
				b.remain, b.state = size, stData
			}
		case stData:
			if n == len(p) || (n > 0 && br.Buffered() == 0) {
				return n, nil
			}
			q := p[n:]
			if int64(len(q)) > b.remain {
				q = q[:b.remain]
			}
			k, err := br.Read(q)
			n += k
			b.remain -= int64(k)
			if b.remain == 0 {
				b.state = stCRLF
			}
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return n, err
			}
		case stCRLF:
			if n > 0 && br.Buffered() < 2 {
				return n, nil
			}
			crlf, err := br.Peek(2)
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return n, err
			}
			if crlf[0] != '\r' || crlf[1] != '\n' {
				return n, malformed("chunk data not followed by CRLF")
			}
			br.Discard(2)
			b.state = stSize
		case stTrailer:
			if n > 0 && !trailerBuffered(br) {
				return n, nil
			}
			if err := b.readTrailer(); err != nil {
				return n, err
			}
			b.finish(b.h.keep)
			return n, io.EOF
		}
	}
}

// chunkSize reads a chunk-size line: 1*HEXDIG, optional whitespace, an
// optional chunk extension (ignored), CRLF (RFC 9112 §7.1). A bare LF
// or CR, a size of more than 15 digits, or control bytes are refused.
func chunkSize(br *bufio.Reader) (int64, error) {
	line, err := br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull || len(line) > maxChunkLine:
		return 0, malformed("chunk-size line too long")
	case err == io.EOF:
		return 0, io.ErrUnexpectedEOF
	case err != nil:
		return 0, err
	}
	return parseChunkSize(line)
}

// parseChunkSize parses a chunk-size line, CRLF included.
func parseChunkSize(line []byte) (int64, error) {
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return 0, malformed("chunk-size line %q", trunc(line))
	}
	line = line[:len(line)-2]
	var size int64
	i := 0
	for ; i < len(line); i++ {
		c := line[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			goto rest
		}
		if i >= 15 {
			return 0, malformed("chunk size too large")
		}
		size = size<<4 | int64(d)
	}
rest:
	if i == 0 {
		return 0, malformed("chunk-size line %q", trunc(line))
	}
	for ; i < len(line) && (line[i] == ' ' || line[i] == '\t'); i++ {
	}
	if i < len(line) && line[i] != ';' {
		return 0, malformed("chunk-size line %q", trunc(line))
	}
	for ; i < len(line); i++ {
		if !valueByte(line[i]) {
			return 0, malformed("chunk extension %q", trunc(line))
		}
	}
	return size, nil
}

// readTrailer reads the trailer section and merges its fields into the
// response's Trailer, as net/http does.
func (b *body) readTrailer() error {
	budget := maxTrailer
	hdr, err := readFields(b.c.br, &budget, nil)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if len(hdr) == 0 {
		return nil
	}
	resp := b.h.resp
	if resp.Trailer == nil {
		resp.Trailer = hdr
		return nil
	}
	for k, vv := range hdr {
		resp.Trailer[k] = vv
	}
	return nil
}

// lineBuffered reports whether a whole line is buffered.
func lineBuffered(br *bufio.Reader) bool {
	buf, _ := br.Peek(br.Buffered())
	return bytes.IndexByte(buf, '\n') >= 0
}

// trailerBuffered reports whether the whole trailer section is
// buffered.
func trailerBuffered(br *bufio.Reader) bool {
	buf, _ := br.Peek(br.Buffered())
	return bytes.HasPrefix(buf, []byte("\r\n")) || bytes.Contains(buf, []byte("\r\n\r\n"))
}

// finish ends a complete body.
func (b *body) finish(keep bool) {
	b.err = io.EOF
	b.c.done(b.c.unwatch() && keep)
}

// fail ends a body that could not be read to its end: the connection is
// closed and every later read fails the same way.
func (b *body) fail(err error) error {
	if b.ctx.Err() != nil {
		err = b.ctx.Err()
	}
	b.err = err
	b.c.unwatch()
	b.c.nc.Close()
	return err
}

// Close ends the body; before its end, the connection is closed.
func (b *body) Close() error {
	if b.err == nil {
		b.err = errClosed
		b.c.unwatch()
		b.c.nc.Close()
	}
	return nil
}

// isReset reports whether err is a connection reset by the peer.
func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

var _ io.ReadCloser = (*body)(nil)
var _ http.RoundTripper = (*Transport)(nil)

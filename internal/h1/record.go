package h1

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/forcehttps/forcehttps/internal/rawio"
)

// recordConn is what crypto/tls reads and writes a TLS connection
// through, so that the connection can wait for its next request the way
// a plain one does (see loop): the end of a response written as the wait
// starts, and no read that finds nothing (package rawio). For that, the
// connection must know that crypto/tls holds no byte it has not yet
// made into plaintext, which crypto/tls does not tell. So recordConn
// reads the socket into a buffer of its own and gives crypto/tls one
// TLS record at a time, never a byte past the end of the record it is
// in: once crypto/tls returned plaintext, whatever it was given is
// consumed, and what is left is in recordConn, where it can be seen.
//
// It costs an idle connection nothing: the read buffer is taken from a
// pool for a read and given back once emptied, and a read waits for the
// socket with no buffer (a raw read). Held bytes (the end of a
// response) stay only until the wait starts.
//
// Once the connection goes to net/http (HTTP/2, or a request h1 does
// not take), pass makes it an ordinary connection again.
type recordConn struct {
	net.Conn
	raw syscall.RawConn

	buf      *[]byte // read and not yet given to crypto/tls: (*buf)[off:end]
	off, end int
	readFn   func(uintptr) bool // readRaw
	rn       int                // readRaw's result
	rerr     error

	hdr  [recordHeaderLen]byte // the header of the record being started
	hn   int                   // bytes of hdr seen
	left int                   // bytes of the current record's body not yet given

	pass    bool    // an ordinary connection: no records, no holding
	holding bool    // writes go to held instead of the socket
	held    *[]byte // written by crypto/tls while holding, not yet sent

	pooled atomic.Int32 // buffers taken from recordBufs and not given back
}

const (
	recordHeaderLen = 5
	recordBufSize   = 4 << 10
	maxHeld         = 16 << 10 // more is sent at once
)

var recordBufs = sync.Pool{New: func() any { b := make([]byte, recordBufSize); return &b }}

// newRecordConn returns nc ready for crypto/tls, or nil if nc has no
// raw connection (the TLS connection then uses nc as it is).
func newRecordConn(nc net.Conn, raw syscall.RawConn) *recordConn {
	if raw == nil {
		return nil
	}
	return &recordConn{Conn: nc, raw: raw}
}

// Read gives crypto/tls what it read and has not given, up to the end of
// the current record, reading the socket when it has nothing.
func (r *recordConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.off == r.end {
		if r.pass {
			return r.Conn.Read(p)
		}
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	avail := (*r.buf)[r.off:r.end]
	if !r.pass {
		avail = avail[:r.deliverable(avail)]
	}
	n := copy(p, avail)
	r.track(p[:n])
	r.off += n
	if r.off == r.end {
		r.release()
	}
	return n, nil
}

// fill reads the socket into a pooled buffer, waiting for it to be
// readable with no buffer taken.
func (r *recordConn) fill() error {
	if r.readFn == nil {
		r.readFn = r.readRaw // made once: a method value allocates
	}
	rerr := r.raw.Read(r.readFn)
	n, err := r.rn, r.rerr
	r.rerr = nil
	switch {
	case rerr != nil: // a deadline, or the connection closed
		r.release()
		if oe, ok := rerr.(*net.OpError); ok {
			oe.Op = "read"
			return oe
		}
		return r.opError(rerr)
	case err != nil:
		r.release()
		return r.opError(os.NewSyscallError("read", err))
	case n <= 0:
		r.release()
		return io.EOF
	}
	r.off, r.end = 0, n
	return nil
}

// readRaw is fill's raw read: the result in rn and rerr.
func (r *recordConn) readRaw(fd uintptr) bool {
	if r.buf == nil {
		r.buf = r.get()
	}
	r.rn, r.rerr = rawio.Read(fd, *r.buf)
	if r.rerr == syscall.EAGAIN {
		r.release() // wait without it
		return false
	}
	return true
}

func (r *recordConn) opError(err error) error {
	return &net.OpError{Op: "read", Net: "tcp", Source: r.LocalAddr(), Addr: r.RemoteAddr(), Err: err}
}

func (r *recordConn) release() {
	if r.buf != nil {
		r.put(r.buf)
		r.buf, r.off, r.end = nil, 0, 0
	}
}

func (r *recordConn) get() *[]byte {
	r.pooled.Add(1)
	return recordBufs.Get().(*[]byte)
}

func (r *recordConn) put(b *[]byte) {
	r.pooled.Add(-1)
	if cap(*b) <= maxHeld {
		*b = (*b)[:cap(*b)]
		recordBufs.Put(b)
	}
}

// deliverable returns how many bytes of avail belong to the current
// record: all of them up to its end, the header included.
func (r *recordConn) deliverable(avail []byte) int {
	if r.left > 0 {
		return min(len(avail), r.left)
	}
	need := recordHeaderLen - r.hn
	if len(avail) < need {
		return len(avail)
	}
	var h [recordHeaderLen]byte
	copy(h[:], r.hdr[:r.hn])
	copy(h[r.hn:], avail[:need])
	return need + min(len(avail)-need, int(h[3])<<8|int(h[4]))
}

// track follows the record framing through b, the bytes given.
func (r *recordConn) track(b []byte) {
	for len(b) > 0 {
		if r.left > 0 {
			k := min(len(b), r.left)
			r.left -= k
			b = b[k:]
			continue
		}
		k := copy(r.hdr[r.hn:], b)
		r.hn += k
		b = b[k:]
		if r.hn == recordHeaderLen {
			r.left, r.hn = int(r.hdr[3])<<8|int(r.hdr[4]), 0
		}
	}
}

// quiet reports whether crypto/tls was given every byte read, whole
// records only: with its plaintext read to the end, it then holds
// nothing either.
func (r *recordConn) quiet() bool {
	return !r.pass && r.off == r.end && r.hn == 0 && r.left == 0
}

// Write sends p, or keeps it while holding.
func (r *recordConn) Write(p []byte) (int, error) {
	if !r.holding {
		return r.Conn.Write(p)
	}
	if r.held == nil {
		r.held = r.get()
		*r.held = (*r.held)[:0]
	}
	if len(*r.held)+len(p) > maxHeld {
		// Too much to keep: what is held, then p, go now.
		r.holding = false
		if err := r.sendHeld(); err != nil {
			return 0, err
		}
		return r.Conn.Write(p)
	}
	*r.held = append(*r.held, p...)
	return len(p), nil
}

// sendHeld writes what is held the ordinary way.
func (r *recordConn) sendHeld() error {
	if r.held == nil {
		return nil
	}
	_, err := r.Conn.Write(*r.held)
	r.dropHeld()
	return err
}

func (r *recordConn) dropHeld() {
	if r.held == nil {
		return
	}
	r.put(r.held)
	r.held = nil
}

//go:build unix

package rawio

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// maxRaw bounds the bytes of one call: a goroutine in a raw call cannot
// be preempted, so a garbage collection waiting for it waits no longer
// than a copy of this many bytes.
const maxRaw = 128 << 10

// Read reads once into b from the socket fd with read(2), as [Wrap]'s
// connections do: outside the scheduler's system-call state where the
// system allows it, at most 128 KiB, again after EINTR. fd must be
// non-blocking. As with syscall.Read, n is -1 on an error, and the error
// is a syscall.Errno (EAGAIN when there is nothing to read), or nil.
func Read(fd uintptr, b []byte) (int, error) {
	n, e := rawRead(fd, b)
	if e != 0 {
		return n, e
	}
	return n, nil
}

// Wrap returns c with a Read and a Write whose system calls are made
// outside the Go scheduler's system-call state, or c itself where that
// does not apply (c is not a *net.TCPConn, or has no raw connection).
//
// Why: the runtime's monitor thread sleeps deeply while every P is idle,
// and the first system call made through the syscall package after that
// wakes it; it then polls every 20 µs for a millisecond before it backs
// off. A server that goes idle between bursts of requests (any server
// not loaded to its last cycle) wakes it hundreds of times a second,
// and on a server pinned to one CPU each poll preempts the goroutine
// answering a request. read(2) and write(2) on a non-blocking socket
// never block, so they need none of that state: made as plain calls,
// they leave the monitor asleep, and save entering and leaving the
// state on every call too.
//
// Deadlines, Close and every other method behave as c's own: the waits
// are the poller's, through c's syscall.RawConn.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	w := &tcpConn{TCPConn: tc, rc: rc}
	w.r.fn = w.r.call
	w.w.fn = w.w.call
	return w
}

// tcpConn is what Wrap returns for a TCP connection.
type tcpConn struct {
	*net.TCPConn
	rc syscall.RawConn
	rm sync.Mutex // held by a Read: it uses r
	r  readOp
	wm sync.Mutex // held by a Write: it uses w
	w  writeOp
}

// Read reads as net.Conn's Read does.
func (c *tcpConn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	c.rm.Lock()
	c.r.b, c.r.n, c.r.err = b, 0, nil
	err := c.rc.Read(c.r.fn)
	n, rerr := c.r.n, c.r.err
	c.r.b, c.r.err = nil, nil
	c.rm.Unlock()
	if err == nil {
		err = rerr
	}
	if err != nil && err != io.EOF {
		err = c.opError("read", err)
	}
	return n, err
}

// Write writes as net.Conn's Write does.
func (c *tcpConn) Write(b []byte) (int, error) {
	c.wm.Lock()
	c.w.b, c.w.sent, c.w.err = b, 0, nil
	err := c.rc.Write(c.w.fn)
	n, werr := c.w.sent, c.w.err
	c.w.b, c.w.err = nil, nil
	c.wm.Unlock()
	if err == nil {
		err = werr
	}
	if err != nil {
		err = c.opError("write", err)
	}
	return n, err
}

// opError wraps err as the net package wraps the errors of a Read or a
// Write; an error of the raw connection is already wrapped, for its own
// operation.
func (c *tcpConn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

type readOp struct {
	b   []byte
	n   int
	err error
	fn  func(uintptr) bool
}

func (o *readOp) call(fd uintptr) bool {
	n, e := rawRead(fd, o.b)
	switch {
	case e == syscall.EAGAIN:
		return false
	case e != 0:
		o.n, o.err = 0, os.NewSyscallError("read", e)
	case n == 0:
		o.n, o.err = 0, io.EOF
	default:
		o.n = n
	}
	return true
}

type writeOp struct {
	b    []byte
	sent int
	err  error
	fn   func(uintptr) bool
}

func (o *writeOp) call(fd uintptr) bool {
	for o.sent < len(o.b) {
		n, e := rawWrite(fd, o.b[o.sent:])
		switch {
		case e == syscall.EAGAIN:
			return false
		case e != 0:
			o.err = os.NewSyscallError("write", e)
			return true
		case n <= 0:
			o.err = os.NewSyscallError("write", syscall.EIO)
			return true
		}
		o.sent += n
	}
	return true
}

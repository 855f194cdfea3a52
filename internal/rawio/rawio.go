// Package rawio writes a message on a socket and waits for the answer in
// one system call fewer than a net.Conn's Write then Read.
//
// Go's poller reads before it waits: a Read just after a Write that
// asks a question (a request to an app, a response to a keep-alive
// client) almost always fails with EAGAIN, then parks the goroutine,
// then reads again once the socket is readable: three system calls for
// a write and a read. [WriteWait] makes the write inside a raw read
// (syscall.RawConn.Read), which arms the poller before it calls its
// function: the answer cannot come before the poller is armed, so
// waiting without a first read cannot miss it, and the read that
// follows finds it there.
//
// The bytes are written with one non-blocking write(2); what the
// socket's buffer does not take (never, for a request head or a small
// response) is left to the caller's ordinary Write. Where raw
// connections do not exist, [Conn] returns nil and callers use their
// net.Conn as usual.
//
// [Wrap] makes a connection's reads and writes plain function calls to
// read(2) and write(2), outside the Go scheduler's system-call state; its
// doc says why that matters to a server's tail latency.
package rawio

import (
	"net"
	"sync"
	"syscall"
)

// Conn returns c's raw connection, or nil if c has none.
func Conn(c net.Conn) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// WriteWait writes b on rc's socket, then calls then (when not nil),
// then, if then returned true, waits until the socket is readable, has
// an error, or the read deadline passes or the connection closes. It
// returns how many bytes of b were written and the error of the write.
// Fewer than len(b) bytes with a nil error means the socket's buffer was
// full, or the connection could not be waited on at all (closed, or its
// read deadline already passed): nothing was waited for, and the caller
// writes the rest with the net.Conn, which then meets that error too.
// An error of the wait is not returned: the read that follows meets it
// too.
func WriteWait(rc syscall.RawConn, b []byte, then func() bool) (int, error) {
	w := waiters.Get().(*waiter)
	w.b, w.then, w.sent, w.err, w.first = b, then, 0, nil, true
	rc.Read(w.fn)
	sent, err := w.sent, w.err
	w.b, w.then, w.err = nil, nil, nil
	waiters.Put(w)
	return sent, err
}

// waiter is the state of a WriteWait, pooled with its callback so that
// a call allocates nothing.
type waiter struct {
	b     []byte
	then  func() bool
	sent  int
	err   error
	first bool
	fn    func(uintptr) bool // w.call
}

var waiters = sync.Pool{New: func() any {
	w := new(waiter)
	w.fn = w.call
	return w
}}

func (w *waiter) call(fd uintptr) bool {
	if !w.first {
		return true // readable, or woken: the read that follows finds out
	}
	w.first = false
	w.sent, w.err = write(fd, w.b)
	if w.err != nil || w.sent < len(w.b) {
		return true
	}
	if w.then != nil && !w.then() {
		return true
	}
	return false // wait until readable
}

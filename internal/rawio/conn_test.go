//go:build unix

package rawio

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestWrapLeavesOtherConnsAlone(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := Wrap(a); got != a {
		t.Errorf("Wrap(pipe) = %T, want the pipe itself", got)
	}
	c, _ := pair(t)
	w := Wrap(c)
	if _, ok := w.(*tcpConn); !ok {
		t.Fatalf("Wrap(TCP) = %T, want *tcpConn", w)
	}
	if Conn(w) == nil {
		t.Error("a wrapped connection has no raw connection")
	}
	if _, ok := w.(interface{ CloseWrite() error }); !ok {
		t.Error("a wrapped connection lost CloseWrite")
	}
}

// TestWrapStreams sends several times maxRaw both ways at once through
// wrapped ends: every byte arrives, in order.
func TestWrapStreams(t *testing.T) {
	t.Parallel()
	c, s := pair(t)
	wc, ws := Wrap(c), Wrap(s)
	const size = 5*maxRaw + 12345
	out1, out2 := make([]byte, size), make([]byte, size)
	rand.Read(out1)
	rand.Read(out2)
	type result struct {
		got []byte
		err error
	}
	recv := func(r net.Conn) chan result {
		ch := make(chan result, 1)
		go func() {
			var buf bytes.Buffer
			b := make([]byte, 7000) // reads of odd sizes
			for buf.Len() < size {
				n, err := r.Read(b)
				buf.Write(b[:n])
				if err != nil {
					ch <- result{buf.Bytes(), err}
					return
				}
			}
			ch <- result{buf.Bytes(), nil}
		}()
		return ch
	}
	r1, r2 := recv(ws), recv(wc)
	errs := make(chan error, 2)
	go func() { _, err := wc.Write(out1); errs <- err }()
	go func() { _, err := ws.Write(out2); errs <- err }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal("write:", err)
		}
	}
	for i, pr := range []struct {
		ch   chan result
		want []byte
	}{{r1, out1}, {r2, out2}} {
		res := <-pr.ch
		if res.err != nil || !bytes.Equal(res.got, pr.want) {
			t.Errorf("direction %d: %d bytes, error %v; want %d bytes as sent", i, len(res.got), res.err, size)
		}
	}
}

// errShape is what callers look at in an error of a Read or a Write.
type errShape struct {
	op       string // of the *net.OpError, "" if not one
	timeout  bool
	eof      bool
	closed   bool // net.ErrClosed
	deadline bool // os.ErrDeadlineExceeded
	errno    syscall.Errno
}

func shapeOf(err error) errShape {
	var s errShape
	var oe *net.OpError
	if errors.As(err, &oe) {
		s.op = oe.Op
		if oe.Source == nil || oe.Addr == nil {
			s.op += " (no addresses)"
		}
	}
	var ne net.Error
	s.timeout = errors.As(err, &ne) && ne.Timeout()
	s.eof = err == io.EOF
	s.closed = errors.Is(err, net.ErrClosed)
	s.deadline = errors.Is(err, os.ErrDeadlineExceeded)
	errors.As(err, &s.errno)
	return s
}

// TestWrapErrorsAsNet runs each case on a plain TCP connection and on a
// wrapped one: the errors must look the same to a caller.
func TestWrapErrorsAsNet(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		run  func(c net.Conn, peer *net.TCPConn) (int, error)
	}{
		{"read deadline", func(c net.Conn, _ *net.TCPConn) (int, error) {
			c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			return c.Read(make([]byte, 10))
		}},
		{"read past deadline", func(c net.Conn, _ *net.TCPConn) (int, error) {
			c.SetReadDeadline(time.Now().Add(-time.Second))
			return c.Read(make([]byte, 10))
		}},
		{"read at end", func(c net.Conn, peer *net.TCPConn) (int, error) {
			peer.Close()
			return c.Read(make([]byte, 10))
		}},
		{"read after close", func(c net.Conn, _ *net.TCPConn) (int, error) {
			c.Close()
			return c.Read(make([]byte, 10))
		}},
		{"read empty", func(c net.Conn, _ *net.TCPConn) (int, error) {
			return c.Read(nil)
		}},
		{"read reset", func(c net.Conn, peer *net.TCPConn) (int, error) {
			c.Write([]byte("unread")) // closing with unread bytes resets
			time.Sleep(20 * time.Millisecond)
			peer.SetLinger(0)
			peer.Close()
			time.Sleep(20 * time.Millisecond)
			return c.Read(make([]byte, 10))
		}},
		{"write deadline", func(c net.Conn, _ *net.TCPConn) (int, error) {
			b := make([]byte, 64<<20) // more than the buffers hold
			c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
			n, err := c.Write(b)
			if n > 0 && n < 64<<20 {
				n = 1 // how much fit depends on the buffers
			}
			return n, err
		}},
		{"write after close", func(c net.Conn, _ *net.TCPConn) (int, error) {
			c.Close()
			return c.Write([]byte("x"))
		}},
		{"write to reset", func(c net.Conn, peer *net.TCPConn) (int, error) {
			peer.SetLinger(0)
			peer.Close()
			time.Sleep(20 * time.Millisecond)
			var err error
			for range 100 { // the first write may be taken before the reset is seen
				if _, err = c.Write([]byte("x")); err != nil {
					return 0, err
				}
				time.Sleep(time.Millisecond)
			}
			return 0, err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c1, p1 := pair(t)
			n1, err1 := tc.run(c1, p1)
			c2, p2 := pair(t)
			n2, err2 := tc.run(Wrap(c2), p2)
			if n1 != n2 || shapeOf(err1) != shapeOf(err2) {
				t.Errorf("net: %d, %v (%+v)\nwrapped: %d, %v (%+v)", n1, err1, shapeOf(err1), n2, err2, shapeOf(err2))
			}
		})
	}
}

func TestReadFD(t *testing.T) {
	t.Parallel()
	c, s := pair(t)
	rc := rawOf(t, s)
	var n int
	var err error
	buf := make([]byte, 10)
	read := func(fd uintptr) bool { n, err = Read(fd, buf); return true }
	rc.Read(read)
	if n != -1 || err != syscall.EAGAIN {
		t.Fatalf("Read with nothing to read = %d, %v; want -1, EAGAIN", n, err)
	}
	c.Write([]byte("hello"))
	rc.Read(func(fd uintptr) bool { n, err = Read(fd, buf); return err != syscall.EAGAIN })
	if n != 5 || err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %d, %v, %q; want 5, nil, hello", n, err, buf[:max(n, 0)])
	}
}

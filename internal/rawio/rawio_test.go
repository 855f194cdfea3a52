package rawio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// pair returns both ends of a loopback TCP connection, closed when the
// test ends, with deadlines far enough to matter only if something
// hangs.
func pair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	for _, x := range []net.Conn{c, s} {
		x.SetDeadline(time.Now().Add(10 * time.Second))
		t.Cleanup(func() { x.Close() })
	}
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func rawOf(t *testing.T, c net.Conn) syscall.RawConn {
	t.Helper()
	rc := Conn(c)
	if rc == nil {
		t.Fatal("Conn returned nil for a TCP connection")
	}
	return rc
}

// TestPingPong exchanges many small messages with a peer that answers at
// once: every answer must end the wait it answers.
func TestPingPong(t *testing.T) {
	t.Parallel()
	c, s := pair(t)
	go func() {
		b := make([]byte, 4)
		for {
			if _, err := io.ReadFull(s, b); err != nil {
				return
			}
			if _, err := s.Write(bytes.ToUpper(b)); err != nil {
				return
			}
		}
	}()
	rc := rawOf(t, c)
	b := make([]byte, 4)
	for i := 0; i < 2000; i++ {
		// A missed answer would leave WriteWait waiting until the read
		// deadline, and the read after it would then succeed: the
		// deadline tells.
		deadline := time.Now().Add(5 * time.Second)
		c.SetReadDeadline(deadline)
		n, err := WriteWait(rc, []byte("ping"), nil)
		if n != 4 || err != nil {
			t.Fatalf("round %d: WriteWait = %d, %v", i, n, err)
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("round %d: the wait missed an answer that had come", i)
		}
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatalf("round %d: read: %v", i, err)
		}
		if string(b) != "PING" {
			t.Fatalf("round %d: read %q", i, b)
		}
	}
}

// TestWaitsForTheAnswer checks that WriteWait returns once the answer
// can be read, not before: the peer answers only after a while.
func TestWaitsForTheAnswer(t *testing.T) {
	t.Parallel()
	c, s := pair(t)
	answered := make(chan struct{})
	go func() {
		b := make([]byte, 5)
		io.ReadFull(s, b)
		time.Sleep(50 * time.Millisecond)
		close(answered)
		s.Write([]byte("world"))
	}()
	if n, err := WriteWait(rawOf(t, c), []byte("hello"), nil); n != 5 || err != nil {
		t.Fatalf("WriteWait = %d, %v", n, err)
	}
	select {
	case <-answered:
	default:
		t.Fatal("WriteWait returned before the peer answered")
	}
	b := make([]byte, 5)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "world" {
		t.Fatalf("read %q, %v", b, err)
	}
}

// TestThenFalse checks that WriteWait does not wait when then says no.
func TestThenFalse(t *testing.T) {
	t.Parallel()
	c, s := pair(t)
	returned := make(chan struct{})
	go func() {
		b := make([]byte, 2)
		io.ReadFull(s, b)
		<-returned // answers only once WriteWait returned
		s.Write([]byte("ok"))
	}()
	called := false
	n, err := WriteWait(rawOf(t, c), []byte("hi"), func() bool { called = true; return false })
	close(returned)
	if n != 2 || err != nil || !called {
		t.Fatalf("WriteWait = %d, %v (then called: %v)", n, err, called)
	}
	b := make([]byte, 2)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "ok" {
		t.Fatalf("read %q, %v", b, err)
	}
}

// TestFullBuffer checks that what the socket's buffer does not take is
// reported, without an error and without a wait.
func TestFullBuffer(t *testing.T) {
	t.Parallel()
	c, _ := pair(t) // the peer never reads
	big := make([]byte, 64<<20)
	n, err := WriteWait(rawOf(t, c), big, func() bool { t.Error("then called after a partial write"); return true })
	if err != nil {
		t.Fatalf("WriteWait: %v", err)
	}
	if n <= 0 || n >= len(big) {
		t.Fatalf("WriteWait wrote %d of %d bytes, want part of them", n, len(big))
	}
}

// TestWriteError checks that a write on a connection the peer reset
// fails with the system's error.
func TestWriteError(t *testing.T) {
	t.Parallel()
	c, s := pair(t)
	s.SetLinger(0) // close with a reset
	s.Close()
	rc := rawOf(t, c)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = WriteWait(rc, []byte("x"), func() bool { return false })
		time.Sleep(5 * time.Millisecond)
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || !(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
		t.Fatalf("WriteWait on a reset connection: %v, want a write error with ECONNRESET or EPIPE", err)
	}
}

// TestDeadline checks that the wait ends at the read deadline, and that
// the read that follows reports it.
func TestDeadline(t *testing.T) {
	t.Parallel()
	c, _ := pair(t) // the peer never answers
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := WriteWait(rawOf(t, c), []byte("hello"), nil); n != 5 || err != nil {
		t.Fatalf("WriteWait = %d, %v", n, err)
	}
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after the wait: %v, want %v", err, os.ErrDeadlineExceeded)
	}
}

// TestClosedWhileWaiting checks that closing the connection ends a wait.
func TestClosedWhileWaiting(t *testing.T) {
	t.Parallel()
	c, _ := pair(t)
	go func() {
		time.Sleep(50 * time.Millisecond)
		c.Close()
	}()
	if _, err := WriteWait(rawOf(t, c), []byte("hello"), nil); err != nil {
		t.Fatalf("WriteWait: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after close: %v, want %v", err, net.ErrClosed)
	}
}

func TestConnWithoutRaw(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if rc := Conn(a); rc != nil {
		t.Fatalf("Conn(pipe) = %v, want nil", rc)
	}
}

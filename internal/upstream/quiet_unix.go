//go:build unix

package upstream

import (
	"net"
	"syscall"

	"github.com/forcehttps/forcehttps/internal/rawio"
)

// quiet returns a check that nc, idle, is still open and has received
// nothing: one non-blocking read, which must find nothing to read. Bytes
// an app sends on an idle connection answer no request (a desync), and
// an end of file means the app closed it; either way it is not reused.
func quiet(nc net.Conn) func() bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return func() bool { return true }
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return func() bool { return false }
	}
	var buf [1]byte
	var n int
	var rerr error
	read := func(fd uintptr) bool {
		n, rerr = rawio.Read(fd, buf[:])
		return true // never wait
	}
	return func() bool {
		if err := rc.Read(read); err != nil {
			return false
		}
		return n < 0 && rerr == syscall.EAGAIN
	}
}

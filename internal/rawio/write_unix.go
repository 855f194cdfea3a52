//go:build unix

package rawio

import (
	"os"
	"syscall"
)

// write writes b with non-blocking write(2) calls (rawWrite) until it is written,
// the socket's buffer is full, or a write fails.
func write(fd uintptr, b []byte) (int, error) {
	sent := 0
	for sent < len(b) {
		n, e := rawWrite(fd, b[sent:])
		switch {
		case e == syscall.EAGAIN:
			return sent, nil
		case e != 0:
			return sent, os.NewSyscallError("write", e)
		case n <= 0:
			return sent, os.NewSyscallError("write", syscall.EIO)
		}
		sent += n
	}
	return sent, nil
}

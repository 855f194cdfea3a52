//go:build unix

package rawio

import (
	"os"
	"syscall"
)

// write writes b with non-blocking write(2) calls until it is written,
// the socket's buffer is full, or a write fails.
func write(fd uintptr, b []byte) (int, error) {
	sent := 0
	for sent < len(b) {
		n, err := syscall.Write(int(fd), b[sent:])
		if n > 0 {
			sent += n
		}
		switch err {
		case nil:
			if n <= 0 {
				return sent, os.NewSyscallError("write", syscall.EIO)
			}
		case syscall.EINTR:
		case syscall.EAGAIN:
			return sent, nil
		default:
			return sent, os.NewSyscallError("write", err)
		}
	}
	return sent, nil
}

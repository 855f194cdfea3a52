//go:build linux && !race

// Under the race detector, the syscall package's Read and Write are used
// instead (sys_other.go): they tell the detector that what one goroutine
// wrote to a socket happens before what another reads from it, which
// tests of a server and its client in one process rely on.

package rawio

import (
	"syscall"
	"unsafe"
)

// rawRead reads once into b with read(2), outside the scheduler's
// system-call state: the socket is non-blocking, so the call is as
// short as any function call that copies memory.
func rawRead(fd uintptr, b []byte) (int, syscall.Errno) {
	b = b[:min(len(b), maxRaw)]
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
		if e != syscall.EINTR {
			return int(n), e
		}
	}
}

// rawWrite writes once from b with write(2), as rawRead reads.
func rawWrite(fd uintptr, b []byte) (int, syscall.Errno) {
	b = b[:min(len(b), maxRaw)]
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
		if e != syscall.EINTR {
			return int(n), e
		}
	}
}

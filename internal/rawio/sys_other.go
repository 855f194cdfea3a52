//go:build unix && (!linux || race)

package rawio

import "syscall"

// rawRead reads once into b with read(2), through the syscall package.
func rawRead(fd uintptr, b []byte) (int, syscall.Errno) {
	for {
		n, err := syscall.Read(int(fd), b)
		if err != syscall.EINTR {
			return n, errno(err)
		}
	}
}

// rawWrite writes once from b with write(2), through the syscall package.
func rawWrite(fd uintptr, b []byte) (int, syscall.Errno) {
	for {
		n, err := syscall.Write(int(fd), b)
		if err != syscall.EINTR {
			return n, errno(err)
		}
	}
}

func errno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO
}

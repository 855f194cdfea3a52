package main

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// waiter sleeps for short, exact times. time.Sleep cannot: when the
// program is idle, the runtime waits for its next timer in epoll_wait,
// whose timeout is whole milliseconds, so a 100 µs sleep may last a
// millisecond, and a generator sending on time only when other events
// happen to wake it would add that to the latencies it reports. A
// timerfd fires on the kernel's high-resolution clock instead, and the
// runtime's poller wakes the goroutine waiting on it.
type waiter struct {
	f    *os.File
	raw  syscall.RawConn
	fd   uintptr
	spec itimerspec
	buf  [8]byte
	poll func(fd uintptr) bool // w.expired, bound once
}

type itimerspec struct {
	interval, value syscall.Timespec
}

const (
	clockMonotonic = 1
	tfdNonblock    = syscall.O_NONBLOCK
	tfdCloexec     = syscall.O_CLOEXEC
)

func newWaiter() (*waiter, error) {
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, tfdNonblock|tfdCloexec, 0)
	if errno != 0 {
		return nil, os.NewSyscallError("timerfd_create", errno)
	}
	// A non-blocking descriptor is registered with the runtime's poller.
	f := os.NewFile(fd, "timerfd")
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	w := &waiter{f: f, raw: raw, fd: fd}
	w.poll = w.expired
	return w, nil
}

// sleep returns after d, or at once if d is not positive.
func (w *waiter) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	w.spec.value = syscall.NsecToTimespec(int64(d))
	_, _, errno := syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, w.fd, 0, uintptr(unsafe.Pointer(&w.spec)), 0, 0, 0)
	if errno != 0 || w.raw.Read(w.poll) != nil {
		time.Sleep(d) // not expected; late rather than early
	}
}

// expired reads the timer's expiry count; false while it has not fired.
// It reads even on the first call: the poller forgets a readiness that
// came before the wait began, so a timer that fired early would
// otherwise never wake the goroutine.
func (w *waiter) expired(fd uintptr) bool {
	_, err := syscall.Read(int(fd), w.buf[:])
	return err != syscall.EAGAIN
}

func (w *waiter) close() { w.f.Close() }

//go:build !linux

package main

import "time"

// waiter sleeps with time.Sleep, which may overshoot short waits by up to
// the runtime's poll granularity; late_p99_us shows by how much.
type waiter struct{}

func newWaiter() (*waiter, error) { return &waiter{}, nil }

// sleep returns after d, or at once if d is not positive.
func (*waiter) sleep(d time.Duration) {
	if d > 0 {
		time.Sleep(d)
	}
}

func (*waiter) close() {}

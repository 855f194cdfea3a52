//go:build unix

package certs

import (
	"testing"
	"time"
)

// The ACME tests run Pebble, Let's Encrypt's test CA, on loopback (package
// pebbletest).

// waitLimit bounds every wait on Pebble or on certmagic.
const waitLimit = 60 * time.Second

// waitFor polls cond until it reports true, failing the test after limit.
// cond returns a description of what it saw, for the failure message.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s; last: %s", limit, what, detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

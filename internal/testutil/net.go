package testutil

import (
	"net"
	"testing"
)

// ClosedAddr returns a loopback host:port where nothing listens (a port
// that was free a moment ago), for tests of "connection refused".
func ClosedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

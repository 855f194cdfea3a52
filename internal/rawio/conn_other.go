//go:build !unix

package rawio

import "net"

// Wrap returns c: raw system calls are for Unix systems.
func Wrap(c net.Conn) net.Conn { return c }

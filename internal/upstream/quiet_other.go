//go:build !unix

package upstream

import "net"

// quiet cannot look at an idle connection here: it is reused as it is,
// and a response that does not parse is answered 502.
func quiet(net.Conn) func() bool { return func() bool { return true } }

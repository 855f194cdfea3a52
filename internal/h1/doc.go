// Package h1 is a lean HTTP/1.1 server for the answers an edge makes from
// a request head alone (a redirect to HTTPS, a refusal), in front of a
// net/http server that handles everything else on the same listener.
//
// A plain-HTTP listener under Force HTTPS answers almost every request
// with a redirect. net/http spends about as much time on its own
// per-request work as the kernel spends moving the bytes; this package
// reads the head into a per-connection buffer, builds a reused
// *http.Request, asks [Server.Answer], and writes the response with one
// system call, so that the answer costs little more than the system
// calls.
//
// # Which requests it reads
//
// Only the plainest form of HTTP/1.1: a known method (GET, HEAD, POST,
// PUT, DELETE, OPTIONS, PATCH, TRACE), an origin-form target of printable
// ASCII, HTTP/1.0 or HTTP/1.1, CRLF line ends, token field names with the
// colon right after them, field values of visible bytes, spaces and
// tabs, one Host (required for HTTP/1.1, and valid for net/http), at most
// 64 fields, a head of at most 4 KiB, and no body: no Transfer-Encoding,
// no Content-Length other than a single 0, no Expect, no Upgrade, no
// Trailer, no Connection option other than close and keep-alive.
//
// Anything else, valid or not, is not judged here: the connection, with
// every byte read and not answered, goes to net/http through the
// [Listener] given to http.Server.Serve, and net/http reads the request
// from its first byte with its own rules, limits and error answers. So
// does a request Answer declines. A connection handed over stays with
// net/http to its end. The request a handler sees is the one net/http
// would build (same Method, URL, Host, Header, Close); the tests compare
// both, and the responses byte for byte.
//
// # Responses
//
// Answer writes through an http.ResponseWriter. The response is sent
// whole when Answer returns, as net/http writes it: the handler's fields
// in key order as they were at WriteHeader, then Date, Content-Length, a
// sniffed Content-Type and Connection unless the handler set them; field
// values have CR and LF replaced. Unlike net/http, a body of any size is
// sent with its Content-Length rather than chunked, informational (1xx)
// statuses are not sent, and the writer has no Flush or Hijack: Answer
// must only take requests it can answer in full at once.
//
// # Timeouts and shutdown
//
// ReadHeaderTimeout, IdleTimeout and WriteTimeout have net/http's
// meaning. Idle and write deadlines are re-armed lazily (a timer update
// per request is measurable): they are never shorter than configured and
// at most a sixteenth longer. A connection handed over gets net/http's
// timeouts afresh. [Server.Shutdown] closes the connections waiting for
// a request and lets the others finish their response; the connections
// handed over are net/http's to shut down.
//
// # Memory per connection
//
// A TLS connection waiting for its next request holds a 512-byte buffer
// and its goroutine, not the 4 KiB read buffer, the parsed head and the
// request's header, which come from a pool when a request arrives and
// go back when the connection waits again. The goroutine that waits
// after a connection's first request is a fresh one, with a small
// stack (see loop in server.go). A plain-HTTP connection keeps its
// buffer: reading in two steps there would cost a system call more.
package h1

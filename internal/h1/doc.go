// Package h1 is a lean HTTP/1.1 server for the requests an edge serves
// without their connection (redirects, refusals, static answers, and
// requests proxied without a body), in front of a net/http server that
// handles everything else on the same listener.
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
// A TLS connection that negotiates h2 goes to net/http too, unless
// [Server.HTTP2] is set: that server ([h2.Server]) then serves it in the
// connection's goroutine, and the connection stays tracked here, for
// Shutdown and Close.
//
// # Responses
//
// Answer writes through an http.ResponseWriter that writes what
// net/http's writes, byte for byte (the tests send the same requests to
// both and compare the bytes and whether the connection stays open):
// the handler's fields in key order as they were at WriteHeader, then
// Date, Content-Length, a sniffed Content-Type, Connection and
// Transfer-Encoding as net/http adds them; field values have CR and LF
// replaced. A response whose body fits in 2048 bytes and is complete
// when Answer returns goes out with its Content-Length in one write.
// Otherwise the head goes with the first 2048 bytes or at the first
// Flush, and the body follows as net/http frames it: with the
// Content-Length the handler declared (never more bytes; fewer, and the
// connection is closed rather than reused), chunked for HTTP/1.1, or
// until the connection closes for HTTP/1.0. Informational heads (1xx,
// such as 103 Early Hints) are sent at once, trailers (the Trailer
// field and [http.TrailerPrefix]) after the last chunk, and the writer
// has Flush, FlushError, SetWriteDeadline and SetReadDeadline for
// [http.ResponseController]. It has no Hijack: requests that would need
// the connection (an upgrade, a body) go to net/http before Answer sees
// them. A panic in Answer closes the connection without sending more,
// so that a client reading a streamed response sees it cut;
// [http.ErrAbortHandler] is not logged.
//
// # Request context
//
// Each request has a context, derived from BaseContext, canceled when
// the request ends. net/http also cancels it when the client goes away
// during the handler, with a background read per request; here a read
// costs a goroutine and a system call only for requests still running
// after 100 ms: one sweeper goroutine per Server starts a read of their
// connection, which cancels the context if the connection ends, and
// keeps the byte it reads if the client sent its next request already.
// The read is stopped with a deadline in the past when the request
// ends. The context is one of this package's, which behaves as
// context.WithCancelCause's (context.Cause included) and makes that one
// only when something waits on it (Done, AfterFunc, a derived context).
// One that nothing waited on is reset and serves the connection's next
// request: an answer that never waits, such as a redirect, costs no
// allocation for its context (Server.Answer says what this asks of it).
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
// and its goroutine, not the 4 KiB read buffer, the parsed head, the
// request's header and the response's byte buffers, which come from a
// pool when a request arrives and go back when the connection waits
// again (a response writer refuses writes once its response is
// finished). The goroutine that waits after a connection's first
// request is a fresh one, with a small stack (see loop in server.go). A
// plain-HTTP connection keeps its buffer: reading in two steps there
// would cost a system call more. The text of a request (its Host and
// field values) is copied into a block of 1 KiB shared with the requests
// before and after it, rather than into a string of its own: one
// allocation every few requests, and a block the scratch space holds.
package h1

// Package upstream is a lean HTTP/1.1 client transport for a reverse
// proxy: it sends the plainest requests over a pool of keep-alive
// connections itself, and gives every other request to a fallback
// [http.RoundTripper] (net/http's Transport).
//
// net/http's Transport runs two goroutines per connection (a reader and
// a writer), and every request crosses three channel handoffs between
// them and the caller, each a park and a wake of a goroutine. Here the
// caller's goroutine does everything: it takes an idle connection,
// writes the request head with one system call and waits for the
// answer without a read that would find nothing (package rawio), reads
// and parses the response head, and reads the body through the returned
// [http.Response]. There is no goroutine per connection and none per
// request.
//
// # Which requests it takes
//
// See [Transport.Takes]: an http:// request without a body (what
// httputil.ReverseProxy sends for GET, HEAD, DELETE, OPTIONS and a POST
// of zero bytes) or with a body of a known length of at most
// [MaxInlineBody] (a form, a JSON document), without Upgrade, Expect,
// Trailer, Transfer-Encoding or Connection fields, with names and
// values net/http would send unchanged. Its head is written as net/http
// writes it (the tests compare both byte for byte); a body is read whole
// first, must have exactly its length, and goes out in the same write.
// Larger bodies and bodies of unknown length (streamed uploads),
// upgrades (WebSocket), and anything net/http would refuse or rewrite go
// to the fallback, which answers or fails them as it always did.
//
// # Which responses it reads
//
// Responses are parsed by this package's own parser, strictly (RFC 9112):
// HTTP/1.0 or HTTP/1.1, a three-digit status of 100 or more, CRLF line
// ends, token field names with the colon right after them, values
// without control bytes, no obs-fold, at most MaxResponseHeaderBytes.
// The body is framed as RFC 9112 §6.3 says: none for HEAD, 1xx, 204 and
// 304 (whatever the fields say), chunked when Transfer-Encoding is
// exactly chunked (chunk lines ending in CRLF, trailers passed on as
// net/http passes them), Content-Length otherwise, or until the
// connection closes when neither is there. The ambiguous framings that
// smuggling and response splitting rely on are refused with an error
// wrapping [ErrMalformed] (the proxy answers 502): Transfer-Encoding
// together with Content-Length, a transfer coding other than chunked,
// differing or non-numeric Content-Length values, a bare LF or CR.
// Where net/http accepts such a response, this package is the stricter
// of the two, never the looser; otherwise what the proxy's client gets
// is what it would get through net/http's Transport (the tests send the
// same scripted responses through both).
//
// Interim 1xx responses are passed to the request's
// httptrace.ClientTrace (Got1xxResponse), as net/http does, at most 15
// of them; a 101 answers a request that asked for no upgrade and is
// refused.
//
// A body whose connection ends early is an error
// (io.ErrUnexpectedEOF), never a short body reported as complete. A
// body read never waits for more bytes once it has some to return, so
// streams such as server-sent events reach the proxy's writer as the
// app sends them; memory is bounded by the 4 KiB read buffer and the
// caller's buffer, whatever the body's size.
//
// # Connections
//
// A connection goes back to the idle pool only after a complete,
// correctly framed response, with HTTP/1.1, no Connection: close, and
// no byte after the response; any error closes it. Before an idle
// connection is reused, one non-blocking read checks that the app has
// neither closed it nor sent anything unasked (net/http's reader
// goroutine pays the same read after each response); a connection that
// fails the check is closed. A request written on a reused connection
// that ended before any byte of a response is sent once more on a new
// connection if it is idempotent and has no body, as net/http does.
//
// # Timeouts and cancellation
//
// DialTimeout (or the DialContext given) bounds the dial and
// ResponseHeaderTimeout the wait for the head after the request is
// written (a timeout error, which proxies answer 504). Its deadline is
// set lazily, as package h1's are: a sixteenth of the timeout later than
// asked, kept across the requests that follow within that slack, and
// left in place after the head; a read of the body that reaches it lifts
// it and reads again. A request costs no timer update then, where
// setting the deadline and lifting it after the head cost two. Canceling the
// request's context ends a dial, a write, or a read of the head or the
// body at once: the connection's deadlines are put in the past and it
// is closed. The transport learns of the cancellation through the
// context's [DoneNotifier] methods when it has them (the edge's exchange
// context does: no allocation per request), and through
// context.AfterFunc otherwise. Idle connections older than
// IdleConnTimeout are closed when next looked at, and by
// CloseIdleConnections.
package upstream

// Package h2 is an HTTP/2 server (RFC 9113) for TLS connections that
// negotiated "h2" with ALPN, serving an http.Handler as net/http's own
// HTTP/2 server would, with less work per response.
//
// Go's HTTP/2 server runs every connection through one serve loop: a
// handler's HEADERS and DATA go to that loop over channels, and the loop
// starts a goroutine to write each HEADERS frame whose encoding may not
// fit its buffer (all of them, in practice). For an edge that proxies
// many small responses, that is a goroutine and several channel hops per
// response. Here, there are none.
//
// # Design
//
// One goroutine per connection reads frames (with golang.org/x/net/http2's
// Framer, which assembles CONTINUATION frames, decodes HPACK within
// MAX_HEADER_LIST_SIZE and validates field names and pseudo-headers)
// and acts on them. A request starts its handler in a goroutine of its
// own. Handlers write their frames themselves into the connection's
// write buffer, under the connection's mutex; the writer that leaves
// last (no other one waiting for the mutex) writes the buffer out with
// one system call, without holding the mutex, while others may add to
// a second buffer meanwhile. The reader writes out its own answers
// (SETTINGS and PING acknowledgements, WINDOW_UPDATE, RST_STREAM) when
// it has no more input buffered, so a batch of frames costs one write.
// A response complete when its handler returns (up to 4 KiB of body)
// leaves as HEADERS and DATA with END_STREAM (HEADERS with END_STREAM
// for an empty body) in one write, with its Content-Length.
//
// Response heads are encoded by the handler's goroutine, before it takes
// the mutex, without HPACK's dynamic table (static table references and
// literals, Huffman-coded when shorter), as nginx does: a head then
// depends on no connection state. Request heads are decoded with the
// dynamic table the client chooses (4096 bytes).
//
// A handler whose DATA the flow-control windows hold back waits on a
// condition variable, without the mutex. Request bodies are buffered
// per stream up to the window granted (StreamWindow, ConnWindow: 1 MiB
// by default); WINDOW_UPDATE frames give the space back as the handler
// reads, a quarter of the window at a time.
//
// # Requests
//
// Requests are built as net/http builds them: Method, URL (from :path;
// a CONNECT without :protocol has the :authority as URL.Host and
// RequestURI), Host (from :authority, else the Host field), Header
// (Cookie fields joined with "; ", Expect: 100-continue removed and
// answered at the body's first read), Trailer (the keys the Trailer
// field declares), ContentLength (from content-length; 0 for a request
// whose HEADERS end the stream, whose Body is http.NoBody; -1 when
// unknown), Proto "HTTP/2.0", RemoteAddr, RequestURI, TLS (for scheme
// https) and a context derived from BaseContext and ConnContext,
// canceled when the stream is reset, the connection ends or the handler
// returns. Malformed requests are a stream error (RST_STREAM with
// PROTOCOL_ERROR): connection-specific fields, te other than
// "trailers", upper-case field names, missing or invalid pseudo-headers,
// userinfo in :authority, response pseudo-headers, and extended CONNECT
// (:protocol, RFC 8441, which is not announced, as Go does not by
// default). A header list longer than MaxHeaderBytes is answered 431. A
// body longer than its content-length resets the stream; one shorter
// fails at its end.
//
// # Responses
//
// The ResponseWriter has Header, WriteHeader (1xx heads, 103 Early
// Hints included, are sent at once and may repeat; codes outside
// 100-999 panic, as net/http's do), Write, WriteString, Flush,
// FlushError, and for [http.ResponseController] SetReadDeadline,
// SetWriteDeadline (past it the stream is reset) and EnableFullDuplex
// (a no-op: streams are full duplex). It has no Hijack and no
// CloseNotify. The head is the handler's fields as they were at
// WriteHeader, plus Date, a sniffed Content-Type and, for a body
// complete within the buffer, Content-Length, as net/http adds them;
// connection-specific fields are left out. Trailers are declared with the
// Trailer field or set with [http.TrailerPrefix]. A handler that
// returns before the request's body ended has the stream reset
// (NO_ERROR after a complete response). A panic resets the stream with
// INTERNAL_ERROR and is logged, but for [http.ErrAbortHandler]. A
// body shorter than the Content-Length the handler declared is sent as
// far as it goes, then the stream is reset with INTERNAL_ERROR: the
// client sees the response cut, never complete (Go's server ends such
// a stream as if it were).
//
// # Limits and protections
//
//   - MaxConcurrentStreams (250) streams at once; a stream beyond is
//     refused (REFUSED_STREAM). Handlers running on a connection, those
//     of streams the client reset included, are bounded by the same
//     number: further requests wait for a slot, and a connection with more
//     than four times as many waiting is ended (ENHANCE_YOUR_CALM).
//   - Rapid reset (CVE-2023-44487): a client that resets more than
//     1000 streams while their handler runs within 10 seconds, more than
//     half of the streams it opened, gets GOAWAY(ENHANCE_YOUR_CALM).
//   - CONTINUATION flood (CVE-2023-45288): the Framer stops decoding a
//     header block as soon as it exceeds MAX_HEADER_LIST_SIZE by far,
//     and the connection ends (PROTOCOL_ERROR).
//   - Frames that make no progress (PING, SETTINGS, PRIORITY, empty
//     DATA, unknown types, frames for closed streams, refused streams):
//     more than 5000 within 10 seconds end the connection
//     (ENHANCE_YOUR_CALM). Answers to control frames the client does not
//     read are bounded too: 1 MiB queued ends the connection.
//   - ReadHeaderTimeout bounds the wait for the preface and first
//     SETTINGS; IdleTimeout closes (GOAWAY) a connection without open
//     streams; WriteByteTimeout closes one on which a write of the
//     buffer (at most 64 KiB and a frame) does not end in time.
//   - Frames larger than 16 KiB (MAX_FRAME_SIZE, announced) are a
//     connection error (FRAME_SIZE_ERROR).
//
// Server push is not supported (ENABLE_PUSH is ignored); PRIORITY and
// PRIORITY_UPDATE frames are validated and ignored: streams are served
// in the order their handlers write.
//
// # Memory per connection
//
// A connection waiting for its next request holds its reader goroutine,
// a 4 KiB read buffer, the Framer's buffer for the largest frame it read
// (16 KiB at most) and HPACK's table (4 KiB): its write buffers go back
// to a pool once no stream is open. A request body is buffered up to the
// windows granted, and released once read.
//
// # Shutdown
//
// [Server.Shutdown] sends every connection a GOAWAY naming the last
// stream it will serve, lets running streams finish, and closes each
// connection once it has none, until the caller's context is done, when
// [Server.Close] closes them all. A connection ending, whatever the
// reason, cancels the contexts of its requests; ServeConn does not wait
// for their handlers to return.
//
// # Conformance
//
// The tests run h2spec (generic, http2 and hpack sections): every case
// passes.
package h2

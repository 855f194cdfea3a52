// Package accesslog writes the edge's access log: one line per request,
// its fields gathered once in a [Line].
//
// A [Logger] writes a Line either through a [log/slog.Logger] (the text
// format, or a logger a program passes) or, for the JSON format, with
// [AppendJSON]: the line slog's JSONHandler (with nil options) would
// write for the same record, byte for byte, appended to a pooled buffer
// and given to the writer in one Write. slog's general path (a Record,
// its attributes, a handler's state and its formatting of each kind of
// value) was a tenth of the edge's time on plain-HTTP redirects; the
// appender knows the fields and their types, allocates nothing, and the
// tests compare its bytes with slog's on tables and fuzzed input.
//
// The format is slog's, so the rules are too: the time as
// [time.RFC3339Nano] in the time's own zone (with slog's error text
// before it for a year outside 0 to 9999), strings escaped as
// encoding/json escapes them without HTML escaping (control characters,
// quotes, backslashes, invalid UTF-8 as \ufffd, U+2028 and U+2029),
// integers in decimal, and duration_ms as encoding/json writes a float64
// (no exponent from 1e-6 up to 1e21; NaN and infinities, which JSON has
// no number for, as slog's error string).
package accesslog

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Line is one request's access log line. Its fields are written in this
// order; UpstreamError, Cut, GRPCStatus and GRPCMessage are left out when
// empty.
type Line struct {
	App, Host, Method, Path string
	Status                  int
	Bytes                   int64
	DurationMS              float64
	RequestID, Scheme       string
	Peer, ClientIP          string
	Action, Reason          string

	UpstreamError, Cut, GRPCStatus, GRPCMessage string
}

// Message is every line's msg.
const Message = "request"

// maxAttrs is the most attributes a Line has.
const maxAttrs = 17

// Attrs appends the line's attributes to dst, in order, and returns the
// extended slice.
func (l *Line) Attrs(dst []slog.Attr) []slog.Attr {
	dst = append(dst,
		slog.String("app", l.App),
		slog.String("host", l.Host),
		slog.String("method", l.Method),
		slog.String("path", l.Path),
		slog.Int("status", l.Status),
		slog.Int64("bytes", l.Bytes),
		slog.Float64("duration_ms", l.DurationMS),
		slog.String("request_id", l.RequestID),
		slog.String("scheme", l.Scheme),
		slog.String("peer", l.Peer),
		slog.String("client_ip", l.ClientIP),
		slog.String("action", l.Action),
		slog.String("reason", l.Reason),
	)
	for _, opt := range [...]struct{ key, val string }{
		{"upstream_error", l.UpstreamError},
		{"cut", l.Cut},
		{"grpc_status", l.GRPCStatus},
		{"grpc_message", l.GRPCMessage},
	} {
		if opt.val != "" {
			dst = append(dst, slog.String(opt.key, opt.val))
		}
	}
	return dst
}

// Logger writes Lines. A nil *Logger is no log: callers check for nil
// before gathering a Line. Its methods may be called from any number of
// goroutines.
type Logger struct {
	slog *slog.Logger // nil when json is set
	json io.Writer
}

// New returns a Logger that logs each Line through l at level INFO with
// [Message], or nil when l is nil.
func New(l *slog.Logger) *Logger {
	if l == nil {
		return nil
	}
	return &Logger{slog: l}
}

// NewJSON returns a Logger that writes each Line to w as [AppendJSON]
// formats it at the time of the call, in one Write. w must be safe for
// concurrent use (a [github.com/forcehttps/forcehttps/internal/groupwrite.Writer] is);
// what slog's JSONHandler serializes with a mutex of its own, the Logger
// leaves to w.
func NewJSON(w io.Writer) *Logger { return &Logger{json: w} }

// Log writes l's line. A write error is dropped, as a slog.Logger drops
// its handler's.
func (lg *Logger) Log(l *Line) {
	if lg.json == nil {
		lg.logSlog(l)
		return
	}
	lg.writeJSON(time.Now(), l)
}

// logSlog logs l through the slog.Logger. It is a function of its own for
// its frame (the attributes), which the JSON path does not need.
func (lg *Logger) logSlog(l *Line) {
	var attrs [maxAttrs]slog.Attr
	lg.slog.LogAttrs(context.Background(), slog.LevelInfo, Message, l.Attrs(attrs[:0])...)
}

// bufPool holds the buffers lines are formatted in.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 512)
	return &b
}}

// maxPooled is the largest buffer put back in the pool: a line with a
// long path or message does not keep its buffer's memory.
const maxPooled = 16 << 10

// writeJSON writes l as logged at t.
func (lg *Logger) writeJSON(t time.Time, l *Line) {
	bp := bufPool.Get().(*[]byte)
	b := AppendJSON((*bp)[:0], t, l)
	_, _ = lg.json.Write(b) // an error is dropped, as slog's Logger drops it
	if cap(b) <= maxPooled {
		*bp = b
		bufPool.Put(bp)
	}
}

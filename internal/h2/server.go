package h2

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the [Server] fields left zero.
const (
	defaultMaxStreams   = 250
	defaultStreamWindow = 1 << 20
	defaultConnWindow   = 1 << 20
	// maxFrameSize is the largest frame read, announced in SETTINGS: the
	// protocol's initial value (RFC 9113 §4.2).
	maxFrameSize = 16 << 10
)

// Server serves HTTP/2 on TLS connections that negotiated "h2" with
// ALPN, calling Handler for each request. Its fields must not change once
// it serves. The zero value is not usable: Handler is required.
type Server struct {
	// Handler answers the requests.
	Handler http.Handler

	// MaxConcurrentStreams is the number of streams a client may have
	// open at once, announced in SETTINGS; a stream beyond it is refused
	// (REFUSED_STREAM). It also bounds the handlers running per
	// connection, streams the client reset included. Zero: 250, as Go's.
	MaxConcurrentStreams uint32

	// MaxHeaderBytes bounds the size of a request's header list (as
	// HPACK counts it, RFC 9113 §6.5.2), announced as
	// MAX_HEADER_LIST_SIZE. A longer one is answered 431. Zero:
	// http.DefaultMaxHeaderBytes.
	MaxHeaderBytes int

	// StreamWindow and ConnWindow are the flow-control windows granted to
	// the client for a request body and for all of a connection's
	// bodies: what a handler has not read yet is buffered, up to these.
	// Zero: 1 MiB each.
	StreamWindow int32
	ConnWindow   int32

	// ReadHeaderTimeout bounds the time from the handshake to the
	// client's preface and first SETTINGS. Zero: IdleTimeout.
	ReadHeaderTimeout time.Duration

	// IdleTimeout closes a connection (with GOAWAY) that has had no open
	// stream for that long. Zero: none.
	IdleTimeout time.Duration

	// WriteByteTimeout closes a connection on which a write makes no
	// progress for that long: the client stopped reading. Each write of
	// the connection's buffer (at most 64 KiB and a frame) must end
	// within it. Zero: none.
	WriteByteTimeout time.Duration

	// BaseContext is the parent of every request's context. Nil:
	// context.Background().
	BaseContext context.Context

	// ConnContext, when set, derives a connection's context (the parent
	// of its requests') from BaseContext, as http.Server.ConnContext.
	ConnContext func(ctx context.Context, c net.Conn) context.Context

	// ErrorLog, when set, receives the errors logged (handler panics,
	// protocol errors worth a look), as http.Server.ErrorLog. Nil: they
	// go to Logger.
	ErrorLog *log.Logger

	// Logger receives handler panics at error level and connection
	// errors at debug level when ErrorLog is nil. Nil: slog.Default().
	Logger *slog.Logger

	mu       sync.Mutex
	conns    map[*conn]struct{}
	shutdown atomic.Bool
	changed  chan struct{} // closed and replaced when a connection ends
}

// New returns a Server for the HTTP/2 connections of hs, with its
// handler and limits: MaxHeaderBytes, IdleTimeout (or ReadTimeout, as
// net/http falls back), ReadHeaderTimeout, ErrorLog, ConnContext and
// the HTTP2 configuration's MaxConcurrentStreams, MaxReceiveBufferPerStream,
// MaxReceiveBufferPerConnection and WriteByteTimeout. hs.BaseContext
// needs a listener, so it is not used: set BaseContext.
func New(hs *http.Server) *Server {
	s := &Server{
		Handler:           hs.Handler,
		MaxHeaderBytes:    hs.MaxHeaderBytes,
		ReadHeaderTimeout: hs.ReadHeaderTimeout,
		IdleTimeout:       cmp.Or(hs.IdleTimeout, hs.ReadTimeout),
		ErrorLog:          hs.ErrorLog,
		ConnContext:       hs.ConnContext,
	}
	if s.Handler == nil {
		s.Handler = http.DefaultServeMux
	}
	if c := hs.HTTP2; c != nil {
		s.MaxConcurrentStreams = uint32(max(c.MaxConcurrentStreams, 0))
		s.StreamWindow = int32(min(max(c.MaxReceiveBufferPerStream, 0), 1<<31-1))
		s.ConnWindow = int32(min(max(c.MaxReceiveBufferPerConnection, 0), 1<<31-1))
		s.WriteByteTimeout = c.WriteByteTimeout
	}
	return s
}

// ErrServerClosed is returned by [Server.ServeConn] once the server is
// shutting down.
var ErrServerClosed = errors.New("h2: server closed")

// ServeConn serves c, whose handshake is done and negotiated "h2", until
// the connection ends, and closes it. It returns nil when the connection
// ended in an orderly way (GOAWAY, idle timeout, shutdown, the client's
// close), else why it ended. It does not wait for handlers still running
// after the connection ended: their contexts are canceled.
func (s *Server) ServeConn(c *tls.Conn) error {
	if s.Handler == nil {
		c.Close()
		return errors.New("h2: Server.Handler is nil")
	}
	st := c.ConnectionState()
	return s.serveConn(c, &st)
}

// serveConn serves nc, of TLS state st (nil in tests over a net.Pipe).
func (s *Server) serveConn(nc net.Conn, st *tls.ConnectionState) error {
	cn := newConn(s, nc, st)
	if !s.track(cn, true) {
		nc.Close()
		return ErrServerClosed
	}
	defer s.track(cn, false)
	return cn.serve()
}

func (s *Server) track(c *conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.conns, c)
		if s.changed != nil {
			close(s.changed)
			s.changed = nil
		}
		return true
	}
	if s.shutdown.Load() {
		return false
	}
	if s.conns == nil {
		s.conns = map[*conn]struct{}{}
	}
	s.conns[c] = struct{}{}
	return true
}

// Shutdown stops the server gracefully: every connection gets a GOAWAY
// naming the last stream it will serve, and closes once its streams are
// done; ServeConn refuses new connections. When ctx is done first, the
// connections left are closed and ctx's error returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdown.Store(true)
	for {
		s.mu.Lock()
		for c := range s.conns {
			if !c.shutdown.Swap(true) {
				// Not under s.mu: the write may wait for a slow client.
				go c.goAway(errCodeNo)
			}
		}
		if len(s.conns) == 0 {
			s.mu.Unlock()
			return nil
		}
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		}
	}
}

// Close closes every connection at once; running handlers see their
// contexts canceled.
func (s *Server) Close() error {
	s.shutdown.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.nc.Close()
	}
	return nil
}

func (s *Server) maxStreams() uint32 {
	return cmp.Or(s.MaxConcurrentStreams, defaultMaxStreams)
}

// maxHeaderBytes is the MAX_HEADER_LIST_SIZE announced: MaxHeaderBytes
// and, as Go's server adds, 32 bytes for each of 10 typical fields
// (HPACK counts 32 bytes per field beyond the name and value).
func (s *Server) maxHeaderBytes() uint32 {
	n := s.MaxHeaderBytes
	if n <= 0 {
		n = http.DefaultMaxHeaderBytes
	}
	return uint32(min(n, 1<<30) + 10*32)
}

func (s *Server) logError(msg string, args ...any) {
	if s.ErrorLog != nil {
		for i := 0; i+1 < len(args); i += 2 {
			msg += fmt.Sprintf(" %v=%v", args[i], args[i+1])
		}
		s.ErrorLog.Print(msg)
		return
	}
	s.logger().Error(msg, args...)
}

func (s *Server) logDebug(msg string, args ...any) {
	if s.ErrorLog != nil {
		return // http.Server's ErrorLog has no levels: keep it for errors
	}
	s.logger().Debug(msg, args...)
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

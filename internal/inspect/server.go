package inspect

import (
	"log/slog"
	"net/http"
	"time"
)

// Limits of the server [NewServer] returns.
const (
	// MaxHeaderBytes bounds the request line and header fields the server
	// reads. net/http answers a request whose header is larger with 431
	// Request Header Fields Too Large (it allows a few KiB of slack
	// beyond the limit before it counts).
	MaxHeaderBytes = 64 << 10
	// ReadHeaderTimeout bounds the time to read the request line and
	// header fields: a client that trickles them in is cut off.
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout bounds the time to read a whole request.
	ReadTimeout = 30 * time.Second
	// WriteTimeout bounds the time from the end of the request header to
	// the end of the response.
	WriteTimeout = 30 * time.Second
	// IdleTimeout bounds how long a keep-alive connection waits for its
	// next request.
	IdleTimeout = 120 * time.Second
)

// NewServer returns an http.Server for h with the limits above and its
// error log sent to logger at warning level (nil: slog.Default()). Set
// Addr, or call Serve with a listener.
func NewServer(h http.Handler, logger *slog.Logger) *http.Server {
	if logger == nil {
		logger = slog.Default()
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

package upstream

import (
	"errors"
	"iter"
	"maps"
	"net"
	"net/http"
	"runtime"
)

// runtimeMem is the heap's cumulative allocation count, in bytes.
type runtimeMem struct{ alloc uint64 }

func (m *runtimeMem) read() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.alloc = ms.TotalAlloc
}

func asNetError(err error, ne *net.Error) bool { return errors.As(err, ne) }

func mapsKeys(h http.Header) iter.Seq[string] { return maps.Keys(h) }

// nopConn is a connection that does nothing, for readers tested alone.
type nopConn struct{ net.Conn }

func (nopConn) Close() error { return nil }

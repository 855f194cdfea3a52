package h2

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Error codes (RFC 9113 §7).
const (
	errCodeNo       = http2.ErrCodeNo
	errCodeProtocol = http2.ErrCodeProtocol
	errCodeInternal = http2.ErrCodeInternal
	errCodeFlow     = http2.ErrCodeFlowControl
	errCodeClosed   = http2.ErrCodeStreamClosed
	errCodeSize     = http2.ErrCodeFrameSize
	errCodeRefused  = http2.ErrCodeRefusedStream
	errCodeCancel   = http2.ErrCodeCancel
	errCodeCalm     = http2.ErrCodeEnhanceYourCalm
)

const (
	// wbufLimit is the size of the write buffer past which a writer
	// writes it out (or waits for the write in progress) before adding
	// more.
	wbufLimit = 64 << 10
	// wbufHardLimit is the size of the write buffer past which the
	// client is too far behind reading the answers to its control frames
	// (SETTINGS, PING, RST_STREAM floods): the connection is closed.
	wbufHardLimit = 1 << 20
	// junkLimit bounds the frames that make no progress (empty DATA,
	// PRIORITY, PING, SETTINGS, unknown types, frames for closed
	// streams) within junkWindow.
	junkLimit  = 5000
	junkWindow = 10 * time.Second
	// resetLimit bounds the streams a client may reset while their
	// handler runs, within resetWindow, when they are more than half of
	// the streams it opened meanwhile (CVE-2023-44487): a browser
	// cancels requests at times, an attack thousands a second.
	resetLimit  = 1000
	resetWindow = 10 * time.Second
	// drainTime bounds the reading after a GOAWAY for an error, so that
	// the close does not turn into a TCP reset that could destroy the
	// GOAWAY before the client reads it.
	drainTime = 250 * time.Millisecond
	// maxWindow is the largest flow-control window (RFC 9113 §6.9.1).
	maxWindow = 1<<31 - 1
)

var (
	errClientReset   = errors.New("h2: stream reset by the client")
	errStreamReset   = errors.New("h2: stream reset")
	errConnClosed    = errors.New("h2: connection closed")
	errBodyClosed    = errors.New("http: invalid Read on closed Body")
	errHandlerPanic  = errors.New("h2: handler panicked")
	errWriteDeadline = errors.New("h2: write deadline exceeded")
)

// conn is one HTTP/2 connection.
//
// One goroutine (serve) reads frames and acts on them. Handlers write
// their frames into wbuf themselves, under mu; whoever leaves the
// writing last (pending drops to zero) writes wbuf out with one system
// call, without holding mu, while others may append (see flushLocked).
type conn struct {
	s      *Server
	nc     net.Conn // a *tls.Conn, but in tests
	tls    *tls.ConnectionState
	remote string
	ctx    context.Context // the parent of the streams' contexts
	cancel context.CancelCauseFunc
	br     *bufio.Reader
	fr     *http2.Framer

	pending  atomic.Int32 // writers between lockWrite and unlockWrite
	shutdown atomic.Bool  // Shutdown sent its GOAWAY

	mu        sync.Mutex
	wbuf      []byte // frames to write
	spare     []byte // the other buffer, while one is written
	flushing  bool
	flushed   sync.Cond // broadcast after each write of wbuf
	werr      error     // set once the connection is broken
	closeDone bool      // close the connection once wbuf is written
	wdlArmed  time.Time // when the write deadline was last set (by the flusher)

	streams      map[uint32]*stream
	maxClientID  uint32
	running      int       // handlers running
	queued       []*stream // streams waiting for a handler slot
	sendWindow   int64     // the connection's window for our DATA
	peerWindow   int32     // the client's INITIAL_WINDOW_SIZE
	peerMaxFrame uint32
	recvWindow   int32 // what the client may still send on the connection
	recvUnacked  int32 // bytes consumed and not yet granted back
	connWaiters  []*stream
	goAwaySent   bool
	idleArmed    bool
	closeAtIdle  bool // close once no stream is open (shutdown, GOAWAY)
	resets       int  // streams the client reset while their handler ran, in the window
	started      int  // streams whose handler was started or queued, in the window
	resetStart   time.Time
	junk         int
	junkStart    time.Time
}

func newConn(s *Server, nc net.Conn, st *tls.ConnectionState) *conn {
	c := &conn{
		s:            s,
		nc:           nc,
		tls:          st,
		remote:       nc.RemoteAddr().String(),
		streams:      map[uint32]*stream{},
		sendWindow:   65535,
		peerWindow:   65535,
		peerMaxFrame: 16384,
		recvWindow:   65535,
		resetStart:   time.Now(),
	}
	c.flushed.L = &c.mu
	ctx := cmp.Or(s.BaseContext, context.Background())
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, nc.LocalAddr())
	if s.ConnContext != nil {
		ctx = s.ConnContext(ctx, nc)
	}
	c.ctx, c.cancel = context.WithCancelCause(ctx)
	c.br = bufio.NewReaderSize(nc, 4096)
	c.fr = http2.NewFramer(nil, c.br)
	c.fr.SetMaxReadFrameSize(maxFrameSize)
	c.fr.MaxHeaderListSize = s.maxHeaderBytes()
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.SetReuseFrames()
	return c
}

func (c *conn) streamWindow() int32 { return cmp.Or(c.s.StreamWindow, defaultStreamWindow) }
func (c *conn) connWindow() int32   { return cmp.Or(c.s.ConnWindow, defaultConnWindow) }

// serve reads and acts on frames until the connection ends.
func (c *conn) serve() (err error) {
	defer func() {
		c.mu.Lock()
		c.failLocked(errConnClosed)
		c.mu.Unlock()
		c.nc.Close()
	}()
	if c.s.shutdown.Load() {
		return ErrServerClosed
	}
	// Our SETTINGS go out before the client's preface is read.
	c.lockWrite()
	c.writeSettingsLocked()
	c.unlockWrite()

	if d := cmp.Or(c.s.ReadHeaderTimeout, c.s.IdleTimeout); d > 0 {
		c.nc.SetReadDeadline(time.Now().Add(d))
	}
	var preface [len(http2.ClientPreface)]byte
	if _, err := io.ReadFull(c.br, preface[:]); err != nil {
		return nil
	}
	if string(preface[:]) != http2.ClientPreface {
		return c.connError(http2.ConnectionError(errCodeProtocol), "bad connection preface")
	}
	first := true
	for {
		if c.br.Buffered() == 0 {
			c.mu.Lock()
			if c.pending.Load() == 0 {
				c.flushLocked()
			}
			c.mu.Unlock()
		}
		f, err := c.fr.ReadFrame()
		if err != nil {
			if done, err := c.readError(err); done {
				return err
			}
			continue
		}
		if first {
			if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
				return c.connError(http2.ConnectionError(errCodeProtocol), "the first frame is not SETTINGS")
			}
			first = false
			c.mu.Lock()
			c.armIdleLocked()
			c.mu.Unlock()
		}
		c.mu.Lock()
		err = c.processLocked(f)
		if err == nil && len(c.wbuf) >= wbufLimit {
			if len(c.wbuf) >= wbufHardLimit {
				err = http2.ConnectionError(errCodeCalm)
			} else if !c.flushing {
				c.flushLocked()
			}
		}
		werr := c.werr
		c.mu.Unlock()
		if err != nil {
			return c.connError(err, "")
		}
		if werr != nil {
			return nil
		}
	}
}

// readError handles an error of ReadFrame; it reports whether the
// connection is done.
func (c *conn) readError(err error) (bool, error) {
	var se http2.StreamError
	if errors.As(err, &se) {
		c.lockWrite()
		if se.StreamID > c.maxClientID && se.StreamID%2 == 1 {
			c.maxClientID = se.StreamID // a malformed HEADERS opened and closed it
		}
		if st := c.streams[se.StreamID]; st != nil {
			c.resetLocked(st, se.Code, true, errStreamReset)
		} else {
			c.writeRSTLocked(se.StreamID, se.Code)
		}
		c.unlockWrite()
		return false, nil
	}
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		return true, c.connError(ce, "")
	}
	if errors.Is(err, http2.ErrFrameTooLarge) {
		return true, c.connError(http2.ConnectionError(errCodeSize), "")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.mu.Lock()
		idle := c.idleArmed || c.maxClientID == 0
		c.mu.Unlock()
		if idle {
			c.goAway(errCodeNo)
			return true, nil
		}
	}
	return true, nil
}

// connError ends the connection for a connection error: GOAWAY with
// its code, then the close.
func (c *conn) connError(err error, debug string) error {
	code := errCodeInternal
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		code = http2.ErrCode(ce)
	}
	if debug == "" {
		if d := c.fr.ErrorDetail(); d != nil {
			debug = d.Error()
		}
	}
	c.s.logDebug("h2: connection error", "remote", c.remote, "code", code.String(), "detail", debug)
	c.lockWrite()
	if !c.goAwaySent {
		c.goAwaySent = true
		c.writeGoAwayLocked(c.maxClientID, code, debug)
	}
	c.failStreamsLocked(errConnClosed)
	c.pending.Add(-1)
	for (len(c.wbuf) > 0 || c.flushing) && c.werr == nil {
		if c.flushing {
			c.flushed.Wait()
		} else {
			c.flushLocked()
		}
	}
	c.mu.Unlock()
	c.nc.SetReadDeadline(time.Now().Add(drainTime))
	io.CopyN(io.Discard, c.br, 1<<20)
	return err
}

// lockWrite takes mu to write frames; unlockWrite writes them out
// unless another writer is about to add more.
func (c *conn) lockWrite() {
	c.pending.Add(1)
	c.mu.Lock()
}

func (c *conn) unlockWrite() {
	if c.pending.Add(-1) != 0 || len(c.wbuf) == 0 || c.flushing {
		c.mu.Unlock()
		return
	}
	// Let the other goroutines ready to run (handlers of the same batch
	// of requests, most often) add their frames first: one write then
	// carries them all. The first writer back writes.
	c.mu.Unlock()
	runtime.Gosched()
	c.mu.Lock()
	if c.pending.Load() == 0 {
		c.flushLocked()
	}
	c.mu.Unlock()
}

// waitLocked waits on cond, mu held, as a writer (between lockWrite and
// unlockWrite): what was written so far goes out first. If that write
// released mu, it returns at once instead: what the caller waits for may
// have happened meanwhile, and its broadcast would be lost. Callers wait
// in a loop that checks their condition.
func (c *conn) waitLocked(cond *sync.Cond) {
	c.pending.Add(-1)
	if !c.flushLocked() {
		cond.Wait()
	}
	c.pending.Add(1)
}

// flushLocked writes wbuf out unless another goroutine is doing so (it
// then writes what was added meanwhile too). mu is released during the
// write; it reports whether it was.
func (c *conn) flushLocked() (released bool) {
	defer func() {
		if c.closeDone && !c.flushing && len(c.wbuf) == 0 {
			c.nc.Close()
		}
	}()
	for len(c.wbuf) > 0 && !c.flushing && c.werr == nil {
		released = true
		c.flushing = true
		buf := c.wbuf
		c.wbuf, c.spare = c.spare[:0], nil
		c.mu.Unlock()
		if t := c.s.WriteByteTimeout; t > 0 {
			if now := time.Now(); now.Sub(c.wdlArmed) > t/16 {
				c.wdlArmed = now
				c.nc.SetWriteDeadline(now.Add(t + t/16))
			}
		}
		_, err := c.nc.Write(buf)
		c.mu.Lock()
		c.flushing = false
		// A connection without open streams may wait long for its next
		// request: it keeps no buffer meanwhile, nor a large one ever.
		switch buf = buf[:0]; {
		case cap(buf) <= smallBuf && len(c.streams) > 0:
			c.spare = buf
		case cap(buf) <= smallBuf:
			smallBufs.Put(&buf)
		case cap(buf) <= 4*wbufLimit:
			bigBufs.Put(&buf)
		}
		if len(c.streams) == 0 && len(c.wbuf) == 0 && cap(c.wbuf) > 0 {
			b := c.wbuf
			c.wbuf = nil
			smallBufs.Put(&b)
		}
		if err != nil {
			c.failLocked(err)
		}
		c.flushed.Broadcast()
	}
	return released
}

// failLocked marks the connection broken: writers fail, handlers see
// their contexts canceled, the reader ends.
func (c *conn) failLocked(err error) {
	if c.werr == nil {
		c.werr = err
		c.nc.Close()
	}
	c.failStreamsLocked(err)
	c.flushed.Broadcast()
}

func (c *conn) failStreamsLocked(err error) {
	for _, st := range c.streams {
		c.resetLocked(st, 0, false, err)
	}
	for _, st := range c.queued {
		st.cancel(err)
	}
	c.queued = nil
	c.cancel(err)
}

// smallBuf is the largest write buffer a connection keeps between
// writes; larger ones go to bigBufs.
const smallBuf = 16 << 10

var smallBufs, bigBufs sync.Pool

// reserve makes room for n more bytes in wbuf, with a pooled buffer when
// it must grow past smallBuf.
func (c *conn) reserve(n int) {
	need := len(c.wbuf) + n
	if need <= cap(c.wbuf) {
		return
	}
	var b []byte
	pool, size := &bigBufs, max(need, wbufLimit+maxFrameSize+9)
	if need <= smallBuf {
		pool, size = &smallBufs, smallBuf
	}
	if p, ok := pool.Get().(*[]byte); ok && cap(*p) >= need {
		b = (*p)[:0]
	} else {
		b = make([]byte, 0, size)
	}
	old := c.wbuf
	c.wbuf = append(b, old...)
	if cap(old) > 0 && cap(old) <= smallBuf {
		old = old[:0]
		smallBufs.Put(&old)
	}
}

// Frame writing, mu held.

func (c *conn) appendHeader(length int, typ http2.FrameType, flags http2.Flags, id uint32) {
	c.reserve(9 + length)
	c.wbuf = append(c.wbuf, byte(length>>16), byte(length>>8), byte(length), byte(typ), byte(flags),
		byte(id>>24)&0x7f, byte(id>>16), byte(id>>8), byte(id))
}

func (c *conn) writeSettingsLocked() {
	settings := [...]http2.Setting{
		{ID: http2.SettingMaxFrameSize, Val: maxFrameSize},
		{ID: http2.SettingMaxConcurrentStreams, Val: c.s.maxStreams()},
		{ID: http2.SettingMaxHeaderListSize, Val: c.s.maxHeaderBytes()},
		{ID: http2.SettingInitialWindowSize, Val: uint32(c.streamWindow())},
	}
	c.appendHeader(6*len(settings), http2.FrameSettings, 0, 0)
	for _, s := range settings {
		c.wbuf = binary.BigEndian.AppendUint16(c.wbuf, uint16(s.ID))
		c.wbuf = binary.BigEndian.AppendUint32(c.wbuf, s.Val)
	}
	if inc := c.connWindow() - c.recvWindow; inc > 0 {
		c.writeWindowUpdateLocked(0, uint32(inc))
		c.recvWindow += inc
	}
}

func (c *conn) writeWindowUpdateLocked(id, inc uint32) {
	c.appendHeader(4, http2.FrameWindowUpdate, 0, id)
	c.wbuf = binary.BigEndian.AppendUint32(c.wbuf, inc)
}

func (c *conn) writeRSTLocked(id uint32, code http2.ErrCode) {
	c.appendHeader(4, http2.FrameRSTStream, 0, id)
	c.wbuf = binary.BigEndian.AppendUint32(c.wbuf, uint32(code))
}

func (c *conn) writeGoAwayLocked(last uint32, code http2.ErrCode, debug string) {
	debug = debug[:min(len(debug), 256)]
	c.appendHeader(8+len(debug), http2.FrameGoAway, 0, 0)
	c.wbuf = binary.BigEndian.AppendUint32(c.wbuf, last&0x7fffffff)
	c.wbuf = binary.BigEndian.AppendUint32(c.wbuf, uint32(code))
	c.wbuf = append(c.wbuf, debug...)
}

// writeHeadersLocked writes a header block as HEADERS and CONTINUATION
// frames.
func (c *conn) writeHeadersLocked(id uint32, block []byte, end bool) {
	max := int(min(c.peerMaxFrame, maxFrameSize))
	typ, flags := http2.FrameHeaders, http2.Flags(0)
	if end {
		flags = http2.FlagHeadersEndStream
	}
	for {
		n := min(len(block), max)
		if n == len(block) {
			flags |= http2.FlagHeadersEndHeaders
		}
		c.appendHeader(n, typ, flags, id)
		c.wbuf = append(c.wbuf, block[:n]...)
		block = block[n:]
		if len(block) == 0 {
			return
		}
		typ, flags = http2.FrameContinuation, 0
	}
}

// noteJunk counts a frame that makes no progress and reports whether the
// client sends too many.
func (c *conn) noteJunk() bool {
	c.junk++
	if c.junk < junkLimit/2 {
		return false
	}
	if now := time.Now(); now.Sub(c.junkStart) > junkWindow {
		c.junk, c.junkStart = 0, now
		return false
	}
	return c.junk > junkLimit
}

var errJunk = http2.ConnectionError(errCodeCalm)

// processLocked acts on one frame, mu held (as the reader, not counted
// in pending: it writes out at the end of its batch). It returns a
// connection error or nil.
func (c *conn) processLocked(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		return c.processHeadersLocked(f)
	case *http2.DataFrame:
		return c.processDataLocked(f)
	case *http2.SettingsFrame:
		return c.processSettingsLocked(f)
	case *http2.WindowUpdateFrame:
		return c.processWindowUpdateLocked(f)
	case *http2.RSTStreamFrame:
		return c.processRSTLocked(f)
	case *http2.PingFrame:
		if !f.IsAck() {
			c.appendHeader(8, http2.FramePing, http2.FlagPingAck, 0)
			c.wbuf = append(c.wbuf, f.Data[:]...)
		}
		if c.noteJunk() {
			return errJunk
		}
	case *http2.GoAwayFrame:
		if f.ErrCode != errCodeNo {
			c.s.logDebug("h2: GOAWAY from the client", "remote", c.remote, "code", f.ErrCode.String())
		}
		c.goAwayLocked(errCodeNo)
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			c.streamErrorLocked(f.StreamID, errCodeProtocol)
		}
		if c.noteJunk() {
			return errJunk
		}
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(errCodeProtocol)
	default: // PRIORITY_UPDATE (validated by the Framer), unknown types
		if c.noteJunk() {
			return errJunk
		}
	}
	return nil
}

// streamErrorLocked resets the stream id for a stream error.
func (c *conn) streamErrorLocked(id uint32, code http2.ErrCode) {
	if st := c.streams[id]; st != nil {
		c.resetLocked(st, code, true, errStreamReset)
		return
	}
	c.writeRSTLocked(id, code)
}

func (c *conn) processSettingsLocked(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - int64(c.peerWindow)
			c.peerWindow = int32(s.Val)
			for _, st := range c.streams {
				st.sendWindow += delta
				if st.sendWindow > maxWindow {
					return http2.ConnectionError(errCodeFlow)
				}
				st.cond.Broadcast()
			}
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = s.Val
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.appendHeader(0, http2.FrameSettings, http2.FlagSettingsAck, 0)
	if c.noteJunk() {
		return errJunk
	}
	return nil
}

func (c *conn) processWindowUpdateLocked(f *http2.WindowUpdateFrame) error {
	if f.StreamID == 0 {
		c.sendWindow += int64(f.Increment)
		if c.sendWindow > maxWindow {
			return http2.ConnectionError(errCodeFlow)
		}
		for _, st := range c.connWaiters {
			st.cond.Broadcast()
		}
		c.connWaiters = c.connWaiters[:0]
		return nil
	}
	st, err := c.knownStream(f.StreamID)
	if st == nil {
		return err
	}
	st.sendWindow += int64(f.Increment)
	if st.sendWindow > maxWindow {
		c.resetLocked(st, errCodeFlow, true, errStreamReset)
		return nil
	}
	st.cond.Broadcast()
	return nil
}

// idle reports whether the stream id is idle: never opened.
func (c *conn) idle(id uint32) bool {
	return id%2 == 0 || id > c.maxClientID
}

// knownStream returns the open stream of a WINDOW_UPDATE or RST_STREAM,
// or nil: for a closed one (the frame then counts as junk), or with a
// connection error for an idle one.
func (c *conn) knownStream(id uint32) (*stream, error) {
	if c.idle(id) {
		return nil, http2.ConnectionError(errCodeProtocol)
	}
	st := c.streams[id]
	if st == nil && c.noteJunk() {
		return nil, errJunk
	}
	return st, nil
}

func (c *conn) processRSTLocked(f *http2.RSTStreamFrame) error {
	st, err := c.knownStream(f.StreamID)
	if st == nil {
		return err
	}
	if !st.handlerDone {
		c.resets++
		if c.resets > resetLimit && 2*c.resets > c.started {
			c.resetLocked(st, 0, false, errClientReset)
			if now := time.Now(); now.Sub(c.resetStart) > resetWindow {
				c.resets, c.started, c.resetStart = 0, 0, now // slow enough: a new window
				return nil
			}
			return http2.ConnectionError(errCodeCalm)
		}
	}
	c.resetLocked(st, 0, false, errClientReset)
	return nil
}

func (c *conn) processDataLocked(f *http2.DataFrame) error {
	id := f.StreamID
	n := int32(f.Length)
	if n > c.recvWindow {
		return http2.ConnectionError(errCodeFlow)
	}
	c.recvWindow -= n
	st := c.streams[id]
	if st == nil || st.remoteDone {
		c.creditConnLocked(n)
		if c.idle(id) {
			return http2.ConnectionError(errCodeProtocol)
		}
		if st != nil {
			c.resetLocked(st, errCodeClosed, true, errStreamReset)
		} else {
			c.writeRSTLocked(id, errCodeClosed)
		}
		if c.noteJunk() {
			return errJunk
		}
		return nil
	}
	if n > st.recvWindow {
		c.creditConnLocked(n)
		c.resetLocked(st, errCodeFlow, true, errStreamReset)
		return nil
	}
	st.recvWindow -= n
	data := f.Data()
	if pad := n - int32(len(data)); pad > 0 {
		c.creditLocked(st, pad)
	}
	if st.declLen >= 0 && st.gotLen+int64(len(data)) > st.declLen {
		c.creditConnLocked(int32(len(data)))
		c.resetLocked(st, errCodeProtocol, true, errStreamReset)
		return nil
	}
	st.gotLen += int64(len(data))
	if len(data) > 0 {
		if st.bodyClosed {
			c.creditLocked(st, int32(len(data)))
		} else {
			if st.bodyOff > 0 && st.bodyOff == len(st.body) {
				st.body, st.bodyOff = st.body[:0], 0
			}
			st.body = append(st.body, data...)
			st.cond.Broadcast()
		}
	} else if !f.StreamEnded() && c.noteJunk() {
		return errJunk
	}
	if f.StreamEnded() {
		c.endRemoteLocked(st)
	}
	return nil
}

// creditConnLocked gives back n bytes of the connection's window.
func (c *conn) creditConnLocked(n int32) {
	c.recvUnacked += n
	if c.recvUnacked >= c.connWindow()/4 {
		c.writeWindowUpdateLocked(0, uint32(c.recvUnacked))
		c.recvWindow += c.recvUnacked
		c.recvUnacked = 0
	}
}

// creditLocked gives back n bytes consumed of st's body: of the
// connection's window, and of the stream's while its body may go on.
func (c *conn) creditLocked(st *stream, n int32) {
	c.creditConnLocked(n)
	if st.remoteDone || st.closed {
		return
	}
	st.recvUnacked += n
	if st.recvUnacked >= c.streamWindow()/4 {
		c.writeWindowUpdateLocked(st.id, uint32(st.recvUnacked))
		st.recvWindow += st.recvUnacked
		st.recvUnacked = 0
	}
}

// goAway starts a graceful close: GOAWAY with the last stream served,
// then the close once the streams are done.
func (c *conn) goAway(code http2.ErrCode) {
	c.lockWrite()
	c.goAwayLocked(code)
	c.unlockWrite()
}

func (c *conn) goAwayLocked(code http2.ErrCode) {
	if !c.goAwaySent {
		c.goAwaySent = true
		c.writeGoAwayLocked(c.maxClientID, code, "")
	}
	c.closeAtIdle = true
	if len(c.streams) == 0 {
		c.closeDone = true
	}
}

// armIdleLocked starts the idle timeout once no stream is open.
func (c *conn) armIdleLocked() {
	if c.closeAtIdle {
		c.closeDone = true
		return
	}
	if d := c.s.IdleTimeout; d > 0 {
		c.nc.SetReadDeadline(time.Now().Add(d))
		c.idleArmed = true
	} else if c.maxClientID == 0 {
		c.nc.SetReadDeadline(time.Time{}) // the preface's
	}
}

package h2

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// FuzzConn feeds arbitrary bytes, after the client preface and a
// SETTINGS frame, to a server connection: it must neither panic nor
// hang (it ends when the client closes the connection, if not before).
func FuzzConn(f *testing.F) {
	var seed bytes.Buffer
	fr := http2.NewFramer(&seed, nil)
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(get...), EndHeaders: true})
	fr.WriteData(1, false, []byte("hello"))
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block("x-t", "1"), EndStream: true, EndHeaders: true})
	fr.WriteWindowUpdate(0, 1000)
	fr.WritePing(false, [8]byte{1})
	fr.WriteRSTStream(3, http2.ErrCodeCancel)
	f.Add(seed.Bytes())
	seed.Reset()
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(with("content-length", "3")...)})
	fr.WriteContinuation(1, true, block("x-a", "b"))
	fr.WriteData(1, true, []byte("abcd"))
	fr.WriteGoAway(1, http2.ErrCodeNo, nil)
	f.Add(seed.Bytes())
	f.Add([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0})
	s := &Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(w, r.Body)
		}),
		IdleTimeout:      100 * time.Millisecond,
		WriteByteTimeout: time.Second,
		Logger:           slog.New(slog.DiscardHandler),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		defer client.Close()
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.serveConn(server, nil)
		}()
		go io.Copy(io.Discard, client)
		client.SetWriteDeadline(time.Now().Add(2 * time.Second))
		client.Write([]byte(http2.ClientPreface))
		client.Write([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0})
		client.Write(data)
		select {
		case <-done:
			return
		case <-time.After(20 * time.Millisecond):
		}
		// A stream may rightly wait for more: the client goes away.
		client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the connection did not end after the client closed it")
		}
	})
}

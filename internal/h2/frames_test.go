package h2

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// block encodes header fields, given as name, value pairs.
func block(kv ...string) []byte {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for i := 0; i+1 < len(kv); i += 2 {
		enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return buf.Bytes()
}

// get is the pseudo-header fields of a GET of / on example.com.
var get = []string{":method", "GET", ":scheme", "https", ":authority", "example.com", ":path", "/"}

// blockReq is a GET of /block.
var blockReq = []string{":method", "GET", ":scheme", "https", ":authority", "example.com", ":path", "/block"}

func with(extra ...string) []string { return append(append([]string(nil), get...), extra...) }

func writeHeaders(t testing.TB, fr *http2.Framer, id uint32, end bool, kv ...string) {
	t.Helper()
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block(kv...), EndStream: end, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
}

// blocking answers /block only when its request's context ends.
var blocking = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/block" {
		<-r.Context().Done()
		return
	}
	io.Copy(io.Discard, r.Body)
	io.WriteString(w, r.Method+" "+r.Host+" "+r.RequestURI)
})

// TestConnectionErrors: frames that break the protocol end the
// connection with a GOAWAY carrying the right code.
func TestConnectionErrors(t *testing.T) {
	h := start(t, &Server{Handler: blocking, MaxHeaderBytes: 4 << 10})
	for _, tc := range []struct {
		name      string
		noPreface bool
		send      func(t *testing.T, fr *http2.Framer, raw io.Writer)
		code      http2.ErrCode
	}{
		{"bad preface", true, func(t *testing.T, fr *http2.Framer, raw io.Writer) {
			io.WriteString(raw, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		}, http2.ErrCodeProtocol},
		{"first frame not SETTINGS", true, func(t *testing.T, fr *http2.Framer, raw io.Writer) {
			io.WriteString(raw, http2.ClientPreface)
			fr.WritePing(false, [8]byte{})
		}, http2.ErrCodeProtocol},
		{"DATA on an idle stream", false, func(t *testing.T, fr *http2.Framer, raw io.Writer) {
			fr.WriteData(1, true, []byte("x"))
		}, http2.ErrCodeProtocol},
		{"HEADERS on an even stream", false, func(t *testing.T, fr *http2.Framer, raw io.Writer) {
			writeHeaders(t, fr, 2, true, get...)
		}, http2.ErrCodeProtocol},
		{"frame larger than MAX_FRAME_SIZE", false, func(t *testing.T, fr *http2.Framer, raw io.Writer) {
			writeHeaders(t, fr, 1, false, with(":method", "POST")[2:]...)
			fr.WriteData(1, false, make([]byte, 20000))
		}, http2.ErrCodeFrameSize},
		{"connection window overflow", false, func(t *testing.T, fr *http2.Framer, raw io.Writer) {
			fr.WriteWindowUpdate(0, 1<<31-1)
		}, http2.ErrCodeFlowControl},
		{"RST_STREAM on an idle stream", false, func(t *testing.T, fr *http2.Framer, raw io.Writer) {
			fr.WriteRSTStream(5, http2.ErrCodeCancel)
		}, http2.ErrCodeProtocol},
		{"PUSH_PROMISE from the client", false, func(t *testing.T, fr *http2.Framer, raw io.Writer) {
			writeHeaders(t, fr, 1, false, get...)
			fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: block(get...), EndHeaders: true})
		}, http2.ErrCodeProtocol},
		{"HEADERS on a closed stream", false, func(t *testing.T, fr *http2.Framer, raw io.Writer) {
			writeHeaders(t, fr, 3, true, get...)
			writeHeaders(t, fr, 1, true, get...)
		}, http2.ErrCodeStreamClosed},
		{"CONTINUATION flood", false, func(t *testing.T, fr *http2.Framer, raw io.Writer) {
			b := block(with("x-filler", strings.Repeat("a", 3000))...)
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b})
			for i := 0; i < 1000; i++ {
				if fr.WriteContinuation(1, false, block("x-more", strings.Repeat("b", 3000))) != nil {
					return // the server hung up early
				}
			}
		}, http2.ErrCodeProtocol},
		{"SETTINGS flood", false, func(t *testing.T, fr *http2.Framer, raw io.Writer) {
			for i := 0; i < 2*junkLimit; i++ {
				if fr.WriteSettings() != nil {
					return
				}
			}
		}, http2.ErrCodeEnhanceYourCalm},
		{"PING flood", false, func(t *testing.T, fr *http2.Framer, raw io.Writer) {
			for i := 0; i < 2*junkLimit; i++ {
				if fr.WritePing(false, [8]byte{1}) != nil {
					return
				}
			}
		}, http2.ErrCodeEnhanceYourCalm},
		{"empty DATA flood", false, func(t *testing.T, fr *http2.Framer, raw io.Writer) {
			writeHeaders(t, fr, 1, false, with(":method", "POST")[2:]...)
			for i := 0; i < 2*junkLimit; i++ {
				if fr.WriteData(1, false, nil) != nil {
					return
				}
			}
		}, http2.ErrCodeEnhanceYourCalm},
		{"rapid reset", false, func(t *testing.T, fr *http2.Framer, raw io.Writer) {
			b := block(blockReq...)
			for id := uint32(1); id < 2*resetLimit*2+10; id += 2 {
				if fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b, EndStream: true, EndHeaders: true}) != nil ||
					fr.WriteRSTStream(id, http2.ErrCodeCancel) != nil {
					return // the server hung up
				}
			}
		}, http2.ErrCodeEnhanceYourCalm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, fr := h.dial(t, tc.noPreface)
			go tc.send(t, fr, c)
			expectGoAway(t, fr, tc.code)
		})
	}
}

// TestStreamErrors: malformed requests reset their stream only.
func TestStreamErrors(t *testing.T) {
	h := start(t, &Server{Handler: blocking, MaxHeaderBytes: 4 << 10})
	post := with(":method", "POST")[2:]
	for _, tc := range []struct {
		name string
		send func(t *testing.T, fr *http2.Framer)
		code http2.ErrCode
	}{
		{"upper-case field name", func(t *testing.T, fr *http2.Framer) { writeHeaders(t, fr, 1, true, with("X-Upper", "1")...) }, http2.ErrCodeProtocol},
		{"connection field", func(t *testing.T, fr *http2.Framer) { writeHeaders(t, fr, 1, true, with("connection", "close")...) }, http2.ErrCodeProtocol},
		{"transfer-encoding", func(t *testing.T, fr *http2.Framer) {
			writeHeaders(t, fr, 1, true, with("transfer-encoding", "chunked")...)
		}, http2.ErrCodeProtocol},
		{"te other than trailers", func(t *testing.T, fr *http2.Framer) { writeHeaders(t, fr, 1, true, with("te", "gzip")...) }, http2.ErrCodeProtocol},
		{"no :path", func(t *testing.T, fr *http2.Framer) { writeHeaders(t, fr, 1, true, get[:6]...) }, http2.ErrCodeProtocol},
		{"bad :scheme", func(t *testing.T, fr *http2.Framer) {
			writeHeaders(t, fr, 1, true, ":method", "GET", ":scheme", "ftp", ":authority", "x", ":path", "/")
		}, http2.ErrCodeProtocol},
		{"extended CONNECT", func(t *testing.T, fr *http2.Framer) {
			writeHeaders(t, fr, 1, true, ":method", "CONNECT", ":protocol", "websocket", ":scheme", "https", ":authority", "x", ":path", "/")
		}, http2.ErrCodeProtocol},
		{"CONNECT with a path", func(t *testing.T, fr *http2.Framer) {
			writeHeaders(t, fr, 1, true, ":method", "CONNECT", ":authority", "x:443", ":path", "/")
		}, http2.ErrCodeProtocol},
		{"pseudo-field after a regular one", func(t *testing.T, fr *http2.Framer) {
			writeHeaders(t, fr, 1, true, ":method", "GET", "x-a", "b", ":scheme", "https", ":path", "/")
		}, http2.ErrCodeProtocol},
		{"DATA beyond content-length", func(t *testing.T, fr *http2.Framer) {
			writeHeaders(t, fr, 1, false, append(post, "content-length", "2")...)
			fr.WriteData(1, true, []byte("abc"))
		}, http2.ErrCodeProtocol},
		{"trailers without END_STREAM", func(t *testing.T, fr *http2.Framer) {
			writeHeaders(t, fr, 1, false, post...)
			writeHeaders(t, fr, 1, false, "x-t", "1")
		}, http2.ErrCodeProtocol},
		{"DATA after END_STREAM", func(t *testing.T, fr *http2.Framer) {
			writeHeaders(t, fr, 1, true, blockReq...)
			fr.WriteData(1, true, []byte("x"))
		}, http2.ErrCodeStreamClosed},
		{"stream window overflow", func(t *testing.T, fr *http2.Framer) {
			writeHeaders(t, fr, 1, true, blockReq...)
			fr.WriteWindowUpdate(1, 1<<31-1)
		}, http2.ErrCodeFlowControl},
		{"PRIORITY on itself", func(t *testing.T, fr *http2.Framer) {
			fr.WritePriority(1, http2.PriorityParam{StreamDep: 1})
		}, http2.ErrCodeProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, fr := h.dial(t, false)
			tc.send(t, fr)
			f := readUntil(t, fr, "RST_STREAM", func(f http2.Frame) bool {
				if g, ok := f.(*http2.GoAwayFrame); ok {
					t.Fatalf("GOAWAY %v, want a stream error", g.ErrCode)
				}
				_, ok := f.(*http2.RSTStreamFrame)
				return ok
			})
			if r := f.(*http2.RSTStreamFrame); r.ErrCode != tc.code || r.StreamID != 1 {
				t.Fatalf("RST_STREAM %d %v, want 1 %v", r.StreamID, r.ErrCode, tc.code)
			}
			// The connection goes on.
			writeHeaders(t, fr, 3, true, get...)
			readUntil(t, fr, "the next response", func(f http2.Frame) bool { return f.Header().StreamID == 3 })
		})
	}
}

// response reads the response of stream id: its status and body.
func response(t testing.TB, fr *http2.Framer, id uint32) (string, string) {
	t.Helper()
	var status string
	var body []byte
	dec := hpack.NewDecoder(4096, nil)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if f.Header().StreamID != id {
			continue
		}
		switch f := f.(type) {
		case *http2.HeadersFrame:
			fields, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				t.Fatal(err)
			}
			for _, hf := range fields {
				if hf.Name == ":status" {
					status = hf.Value
				}
			}
			if f.StreamEnded() {
				return status, string(body)
			}
		case *http2.DataFrame:
			body = append(body, f.Data()...)
			if f.StreamEnded() {
				return status, string(body)
			}
		case *http2.RSTStreamFrame:
			t.Fatalf("RST_STREAM %v", f.ErrCode)
		}
	}
}

func TestRequests(t *testing.T) {
	h := start(t, &Server{Handler: blocking, MaxHeaderBytes: 4 << 10})
	for _, tc := range []struct {
		name   string
		fields []string
		status string
		body   string
	}{
		{"CONNECT", []string{":method", "CONNECT", ":authority", "backend:443"}, "200", "CONNECT backend:443 backend:443"},
		{"OPTIONS *", []string{":method", "OPTIONS", ":scheme", "https", ":authority", "x", ":path", "*"}, "200", "OPTIONS x *"},
		{"host field", []string{":method", "GET", ":scheme", "https", ":path", "/p", "host", "h.example"}, "200", "GET h.example /p"},
		{"header list too long", with("x-a", strings.Repeat("a", 2000), "x-b", strings.Repeat("b", 2000), "x-c", strings.Repeat("c", 2000)), "431", "<h1>431 Request Header Fields Too Large</h1>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, fr := h.dial(t, false)
			writeHeaders(t, fr, 1, true, tc.fields...)
			status, body := response(t, fr, 1)
			if status != tc.status || body != tc.body {
				t.Fatalf("got %s %q, want %s %q", status, body, tc.status, tc.body)
			}
		})
	}
}

// TestRefusedStream: streams beyond MaxConcurrentStreams are refused.
func TestRefusedStream(t *testing.T) {
	h := start(t, &Server{Handler: blocking, MaxConcurrentStreams: 2})
	_, fr := h.dial(t, false)
	for id := uint32(1); id <= 5; id += 2 {
		writeHeaders(t, fr, id, true, blockReq...)
	}
	f := readUntil(t, fr, "RST_STREAM", func(f http2.Frame) bool { _, ok := f.(*http2.RSTStreamFrame); return ok })
	if r := f.(*http2.RSTStreamFrame); r.StreamID != 5 || r.ErrCode != http2.ErrCodeRefusedStream {
		t.Fatalf("RST_STREAM %d %v", r.StreamID, r.ErrCode)
	}
}

// TestNoGoroutineLeft: once the connections are closed, nothing the
// server started runs. Not parallel: it counts the goroutines.
func TestNoGoroutineLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("traffic", func(t *testing.T) {
		h := start(t, &Server{Handler: blocking})
		c := &http.Client{Transport: h.transport(t)}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", h.url("/block"), nil)
		c.Do(req)
		for range 5 {
			resp, err := c.Post(h.url("/"), "text/plain", strings.NewReader("hello"))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		_, fr := h.dial(t, false)
		writeHeaders(t, fr, 1, true, blockReq...)
	})
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines left (before: %d):\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestShortBodyIsReset: a handler that writes fewer bytes than the
// Content-Length it declared has its stream reset after what it wrote,
// never ended as if the response were complete; HEAD and 304, which
// carry no body, end as usual.
func TestShortBodyIsReset(t *testing.T) {
	h := start(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		switch r.URL.Path {
		case "/304":
			w.WriteHeader(http.StatusNotModified)
		case "/large":
			// Past the buffer: the head and the first DATA left already.
			w.Header().Set("Content-Length", "100000")
			w.Write(bytes.Repeat([]byte("x"), 50000))
		default:
			io.WriteString(w, "abc")
		}
	})})
	for _, tc := range []struct {
		name   string
		fields []string
		want   string // "reset after N bytes", or the status of a response that ends
		bytes  int
	}{
		{"short body", get, "reset", 3},
		{"short body past the buffer", []string{":method", "GET", ":scheme", "https", ":authority", "example.com", ":path", "/large"}, "reset", 50000},
		{"HEAD", []string{":method", "HEAD", ":scheme", "https", ":authority", "example.com", ":path", "/"}, "200", 0},
		{"304", []string{":method", "GET", ":scheme", "https", ":authority", "example.com", ":path", "/304"}, "304", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fields := tc.fields
			_, fr := h.dial(t, false)
			fr.WriteWindowUpdate(0, 1<<20) // room for the large body
			writeHeaders(t, fr, 1, true, fields...)
			got, ended, reset := 0, false, http2.ErrCode(0)
			for !ended && reset == 0 {
				f, err := fr.ReadFrame()
				if err != nil {
					t.Fatal(err)
				}
				if f.Header().StreamID != 1 {
					continue
				}
				switch f := f.(type) {
				case *http2.HeadersFrame:
					ended = f.StreamEnded()
				case *http2.DataFrame:
					got += len(f.Data())
					ended = f.StreamEnded()
					fr.WriteWindowUpdate(1, uint32(max(len(f.Data()), 1)))
				case *http2.RSTStreamFrame:
					reset = f.ErrCode
				}
			}
			if got != tc.bytes {
				t.Errorf("got %d body bytes, want %d", got, tc.bytes)
			}
			switch {
			case tc.want == "reset" && (ended || reset != http2.ErrCodeInternal):
				t.Errorf("ended: %v, reset: %v; want RST_STREAM(INTERNAL_ERROR) and no END_STREAM", ended, reset)
			case tc.want != "reset" && !ended:
				t.Errorf("reset with %v; want the response ended", reset)
			}
		})
	}
}

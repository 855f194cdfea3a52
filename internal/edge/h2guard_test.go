package edge

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// appRecord is what the app behind the edge saw of one request.
type appRecord struct {
	path     string
	complete bool // the whole declared body arrived
	n        int
	err      error
}

// recordingBackend records, for each request, whether its body arrived
// whole.
func recordingBackend(t *testing.T) (*httptest.Server, chan appRecord) {
	t.Helper()
	got := make(chan appRecord, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		got <- appRecord{path: r.URL.Path, complete: err == nil && (r.ContentLength < 0 || int64(len(b)) == r.ContentLength), n: len(b), err: err}
		io.WriteString(w, "app read "+strconv.Itoa(len(b))+" bytes")
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// h2Result is what a raw HTTP/2 client got for one stream.
type h2Result struct {
	status string // "" without a response
	grpc   string // the grpc-status header, if any
	reset  http2.ErrCode
	resetd bool
	goaway bool
	away   http2.ErrCode // the GOAWAY's code
	body   string
}

// h2Exchange sends one request as raw frames (header fields, then each
// element of data as a DATA frame, the last with END_STREAM) over TLS to
// addr, and reads until the stream ends.
func h2Exchange(t *testing.T, addr, host string, fields [][2]string, data []string) h2Result {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: testRoot, ServerName: host, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(conn, http2.ClientPreface)
	fr := http2.NewFramer(conn, conn)
	fr.WriteSettings()
	var hb strings.Builder
	enc := hpack.NewEncoder(&hb)
	for _, f := range fields {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte(hb.String()), EndStream: len(data) == 0, EndHeaders: true})
	for i, d := range data {
		fr.WriteData(1, i == len(data)-1, []byte(d))
	}
	var res h2Result
	dec := hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		switch f.Name {
		case ":status":
			res.status = f.Value
		case "grpc-status":
			res.grpc = f.Value
		}
	})
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("read: %v (so far %+v)", err, res)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			dec.Write(f.HeaderBlockFragment())
			if f.StreamEnded() {
				return res
			}
		case *http2.DataFrame:
			res.body += string(f.Data())
			if f.StreamEnded() {
				return res
			}
		case *http2.RSTStreamFrame:
			res.resetd, res.reset = true, f.ErrCode
			return res
		case *http2.GoAwayFrame:
			res.goaway, res.away = true, f.ErrCode
			return res
		}
	}
}

// TestH2RequestFraming sends HTTP/2 requests that Go's server lets
// through or answers in its own way: none may reach the app as a
// complete request, and the client gets a 400 or a stream error, never
// a 502 blaming the app.
func TestH2RequestFraming(t *testing.T) {
	backend, seen := recordingBackend(t)
	h := startEdge(t, fmt.Sprintf("apps:\n  - {name: shop, domains: [shop.example.com], upstream: %s, force_https: false}\n", backend.URL))
	tests := []struct {
		name  string
		extra [][2]string
		data  []string
		ok    bool // a well-formed request, which the app must get whole
	}{
		{"content-length matches", [][2]string{{"content-length", "10"}}, []string{"hello", "world"}, true},
		{"no content-length", nil, []string{"hello"}, true},
		{"content-length 0, no DATA", [][2]string{{"content-length", "0"}}, nil, true},
		{"te trailers", [][2]string{{"te", "trailers"}}, []string{"x"}, true},
		{"content-length above the DATA", [][2]string{{"content-length", "100"}}, []string{"hello"}, false},
		{"content-length above the DATA, no DATA", [][2]string{{"content-length", "100"}}, nil, false},
		{"content-length below the DATA", [][2]string{{"content-length", "3"}}, []string{"hello"}, false},
		{"content-length below the DATA, two frames", [][2]string{{"content-length", "1"}}, []string{"test", "test"}, false},
		{"content-length 0 with DATA", [][2]string{{"content-length", "0"}}, []string{"hello"}, false},
		{"two content-lengths", [][2]string{{"content-length", "5"}, {"content-length", "100"}}, []string{"hello"}, false},
		{"content-length with a sign", [][2]string{{"content-length", "+5"}}, []string{"hello"}, false},
		{"connection header", [][2]string{{"connection", "keep-alive"}}, []string{"x"}, false},
		{"keep-alive header", [][2]string{{"keep-alive", "timeout=5"}}, []string{"x"}, false},
		{"transfer-encoding", [][2]string{{"transfer-encoding", "chunked"}}, []string{"x"}, false},
		{"upgrade", [][2]string{{"upgrade", "websocket"}}, []string{"x"}, false},
		{"proxy-connection", [][2]string{{"proxy-connection", "keep-alive"}}, []string{"x"}, false},
		{"te gzip", [][2]string{{"te", "gzip"}}, []string{"x"}, false},
	}
	records := map[string][]appRecord{}
	collect := func(wait time.Duration, until func() bool) {
		deadline := time.After(wait)
		for !until() {
			select {
			case r := <-seen:
				records[r.path] = append(records[r.path], r)
			case <-deadline:
				return
			}
		}
	}
	for i, tt := range tests {
		path := "/case/" + strconv.Itoa(i)
		fields := append([][2]string{{":method", "POST"}, {":scheme", "https"}, {":authority", "shop.example.com"}, {":path", path}}, tt.extra...)
		res := h2Exchange(t, h.addrs.HTTPS, "shop.example.com", fields, tt.data)
		if tt.ok {
			collect(10*time.Second, func() bool { return len(records[path]) > 0 })
			if res.status != "200" || len(records[path]) != 1 || !records[path][0].complete {
				t.Errorf("%s: client got %+v, app saw %+v; want 200 and the whole body at the app", tt.name, res, records[path])
			}
			continue
		}
		if !(res.status == "400" || res.resetd || res.goaway) {
			t.Errorf("%s: client got %+v, want 400 or a stream error", tt.name, res)
		}
	}
	// The app may see the start of a refused request, cut: give it a
	// moment to arrive, then check that none arrived whole.
	collect(300*time.Millisecond, func() bool { return false })
	for i, tt := range tests {
		for _, r := range records["/case/"+strconv.Itoa(i)] {
			if !tt.ok && r.complete {
				t.Errorf("%s: the app got a complete request (%d bytes)", tt.name, r.n)
			}
		}
	}
}

func TestH2Body(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		declared int64
		body     io.Reader
		wantErr  bool
	}{
		{"whole", 5, strings.NewReader("hello"), false},
		{"short", 5, strings.NewReader("hel"), true},
		{"cut", 5, io.MultiReader(strings.NewReader("he"), iotestErrReader{}), true},
	}
	for _, tt := range tests {
		b := &h2Body{ReadCloser: io.NopCloser(tt.body), declared: tt.declared}
		_, err := io.ReadAll(b)
		var le *bodyLengthError
		if got := errors.As(err, &le); got != tt.wantErr {
			t.Errorf("%s: ReadAll error %v, want a bodyLengthError: %v", tt.name, err, tt.wantErr)
		}
	}
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("stream reset") }

// FuzzH2Malformed: content-length values of an HTTP/2 request are
// accepted only when they all name the request's ContentLength.
func FuzzH2Malformed(f *testing.F) {
	for _, seed := range [][2]string{{"5", ""}, {"5", "100"}, {"+5", ""}, {"-1", ""}, {"", ""}, {"0x10", ""}, {"99999999999999999999", ""}, {"5", "5"}, {"-0", ""}, {"007", ""}} {
		f.Add(seed[0], seed[1], int64(5))
	}
	f.Fuzz(func(t *testing.T, v1, v2 string, contentLength int64) {
		r := &http.Request{ProtoMajor: 2, Header: http.Header{"Content-Length": {v1}}, ContentLength: contentLength, Body: http.NoBody}
		if v2 != "" {
			r.Header["Content-Length"] = append(r.Header["Content-Length"], v2)
		}
		msg := h2Malformed(r)
		if msg != "" && !strings.HasPrefix(msg, "400 Bad Request: ") {
			t.Fatalf("h2Malformed = %q", msg)
		}
		if msg != "" {
			return
		}
		for _, v := range r.Header["Content-Length"] {
			if n, err := strconv.ParseUint(v, 10, 63); err != nil || int64(n) != contentLength || strings.TrimLeft(v, "0123456789") != "" {
				t.Fatalf("content-length %q accepted for ContentLength %d", r.Header["Content-Length"], contentLength)
			}
		}
	})
}

// TestH2OversizedHeadersFrame: a HEADERS frame larger than the edge's
// SETTINGS_MAX_FRAME_SIZE (16384, the default) is a connection error
// (RFC 9113 §4.2); nothing reaches the app.
func TestH2OversizedHeadersFrame(t *testing.T) {
	backend, seen := recordingBackend(t)
	h := startEdge(t, fmt.Sprintf("apps:\n  - {name: shop, domains: [shop.example.com], upstream: %s, force_https: false}\n", backend.URL))
	fields := [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "shop.example.com"}, {":path", "/"}, {"x-big", strings.Repeat("a", 40000)}} // about 25 KB, Huffman-coded
	res := h2Exchange(t, h.addrs.HTTPS, "shop.example.com", fields, nil)
	t.Logf("client got %+v", res)
	if !res.goaway || res.away != http2.ErrCodeFrameSize || res.status != "" {
		t.Errorf("client got %+v, want the connection closed with GOAWAY FRAME_SIZE_ERROR", res)
	}
	select {
	case r := <-seen:
		t.Errorf("the app got a request: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestH2MalformedGRPC: a gRPC call refused for its framing gets a gRPC
// status (13, INTERNAL, as gRPC reads an HTTP 400), not a text page its
// client could not read.
func TestH2MalformedGRPC(t *testing.T) {
	t.Parallel()
	backend, _ := recordingBackend(t)
	h := startEdge(t, fmt.Sprintf("apps:\n  - {name: shop, domains: [shop.example.com], upstream: %s, force_https: false}\n", backend.URL))
	for _, tt := range []struct {
		name string
		data []string
	}{
		{"content-length above the DATA, no DATA", nil},
		{"content-length above the DATA", []string{"hello"}},
	} {
		fields := [][2]string{{":method", "POST"}, {":scheme", "https"}, {":authority", "shop.example.com"}, {":path", "/pkg.Service/Method"},
			{"content-type", "application/grpc"}, {"te", "trailers"}, {"content-length", "100"}}
		res := h2Exchange(t, h.addrs.HTTPS, "shop.example.com", fields, tt.data)
		if res.resetd || res.goaway {
			continue // a stream error is an answer gRPC clients understand too
		}
		if res.status != "200" || res.grpc != grpcInternal {
			t.Errorf("%s: %+v, want 200 with grpc-status %s", tt.name, res, grpcInternal)
		}
	}
}

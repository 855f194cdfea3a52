package upstream

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// script is an upstream on loopback that records each request head it
// reads and answers every one with the same raw bytes, then closes the
// connection if asked.
type script struct {
	ln       net.Listener
	response string
	close    bool
	mu       sync.Mutex
	heads    []string
}

func newScript(t *testing.T, response string, closeAfter bool) *script {
	t.Helper()
	return startScript(t, response, closeAfter)
}

// newScriptB is newScript for benchmarks.
func newScriptB(b *testing.B, response string) *script {
	b.Helper()
	return startScript(b, response, false)
}

func startScript(t testing.TB, response string, closeAfter bool) *script {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &script{ln: ln, response: response, close: closeAfter}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *script) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			head.WriteString(line)
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		// The body, if the head announces one (the requests sent here
		// are never chunked).
		for _, l := range strings.Split(head.String(), "\r\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "Content-Length") {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				b := make([]byte, n)
				if _, err := io.ReadFull(br, b); err != nil {
					return
				}
				head.Write(b)
			}
		}
		s.mu.Lock()
		s.heads = append(s.heads, head.String())
		s.mu.Unlock()
		if _, err := io.WriteString(c, s.response); err != nil || s.close {
			return
		}
	}
}

func (s *script) lastHead() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.heads) == 0 {
		return ""
	}
	return s.heads[len(s.heads)-1]
}

// proxies returns two reverse proxies to the upstream at addr: one on
// net/http's Transport, one on this package's Transport in front of it.
func proxies(t *testing.T, addr string) (std, lean *httptest.Server) {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: addr}
	mk := func(rt http.RoundTripper) *httptest.Server {
		p := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Host = pr.In.Host
			},
			Transport: rt,
			ErrorLog:  log.New(io.Discard, "", 0),
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				w.WriteHeader(http.StatusBadGateway)
			},
		}
		srv := httptest.NewUnstartedServer(p)
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the status 099 case panics in net/http's server
		srv.Start()
		t.Cleanup(srv.Close)
		return srv
	}
	base := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 8, ResponseHeaderTimeout: 5 * time.Second, MaxResponseHeaderBytes: 1 << 20}
	t.Cleanup(base.CloseIdleConnections)
	lt := &Transport{Fallback: base, ResponseHeaderTimeout: 5 * time.Second}
	t.Cleanup(lt.CloseIdleConnections)
	return mk(base), mk(lt)
}

// outcome is what a client of the proxy saw.
type outcome struct {
	Status  int
	Header  http.Header
	Trailer http.Header
	Body    string
	Err     bool // the request or the body failed
}

func fetch(t *testing.T, method, u string, hdr http.Header) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	maps := hdr.Clone()
	if maps != nil {
		req.Header = maps
	}
	tr := &http.Transport{DisableCompression: true, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return outcome{Err: true}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	h := resp.Header.Clone()
	delete(h, "Date")
	return outcome{Status: resp.StatusCode, Header: h, Trailer: resp.Trailer, Body: string(b), Err: err != nil}
}

// strictOK reports whether the lean proxy's outcome is a refusal: a 502
// before anything, or a failed response.
func strictOK(o outcome) bool { return o.Err || o.Status == http.StatusBadGateway }

// TestDifferentialResponses sends scripted upstream responses through
// ReverseProxy on both transports. Where net/http accepts a response,
// the client must see the same through both, or (strict cases) a
// refusal through this one.
func TestDifferentialResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		method   string
		response string
		close    bool
		strict   bool // this transport refuses what net/http may accept
	}{
		{name: "content-length", response: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"},
		{name: "empty", response: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
		{name: "chunked", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"},
		{name: "chunked upper-case and extension", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n5;name=value\r\nhello\r\nA \r\n0123456789\r\n0\r\n\r\n"},
		{name: "announced trailers", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n2\r\nhi\r\n0\r\nX-Sum: 42\r\n\r\n"},
		{name: "unannounced trailers", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nX-Late: yes\r\n\r\n"},
		{name: "until close", response: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", close: true},
		{name: "http/1.0", response: "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold", close: true},
		{name: "http/1.0 until close", response: "HTTP/1.0 200 OK\r\n\r\nold and long", close: true},
		{name: "204 with a body", response: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello"},
		{name: "304 with a body", response: "HTTP/1.1 304 Not Modified\r\nEtag: \"x\"\r\n\r\nhello"},
		{name: "head with length", method: "HEAD", response: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"},
		{name: "head with a body", method: "HEAD", response: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"},
		{name: "connection close", response: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", close: true},
		{name: "keep-alive fields", response: "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nContent-Length: 2\r\n\r\nok"},
		{name: "early hints", response: "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		{name: "100 continue", response: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		{name: "identical lengths", response: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"},
		{name: "pragma", response: "HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 2\r\n\r\nok"},
		{name: "reason phrases", response: "HTTP/1.1 404 Gone Fishing\r\nContent-Length: 2\r\n\r\nno"},
		{name: "no reason", response: "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"},
		{name: "multiple values", response: "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nvary: a\r\nVARY: b\r\nContent-Length: 2\r\n\r\nok"},
		{name: "whitespace around values", response: "HTTP/1.1 200 OK\r\nX-A:  spaced \t\r\nX-B:\r\nContent-Length: 2\r\n\r\nok"},
		{name: "long header", response: "HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("a", 9000) + "\r\nContent-Length: 2\r\n\r\nok"},

		// Framing errors both refuse, or the client sees a failure.
		{name: "dies mid-body", response: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part", close: true},
		{name: "dies mid-chunk", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nonly", close: true},
		{name: "dies before the last chunk", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n", close: true},
		{name: "dies in the head", response: "HTTP/1.1 200 OK\r\nContent-Len", close: true},
		{name: "nothing", response: "", close: true},
		{name: "conflicting lengths", response: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!"},
		{name: "length list", response: "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok"},
		{name: "signed length", response: "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok"},
		{name: "empty length", response: "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\nok"},
		{name: "two encodings", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{name: "gzip, chunked", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"},
		{name: "chunked, gzip", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"},
		{name: "bare LF in chunk size", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\r\n0\r\n\r\n"},
		{name: "chunk data too long", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokay\r\n0\r\n\r\n"},
		{name: "space before colon", response: "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok", close: true, strict: true},
		{name: "101 unasked", response: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"},
		{name: "http/2 status line", response: "HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok", strict: true},
		{name: "status 099", response: "HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\nok", strict: true},
		{name: "oversized head", response: "HTTP/1.1 200 OK\r\nX-Huge: " + strings.Repeat("h", 2<<20) + "\r\nContent-Length: 2\r\n\r\nok"},

		// Accepted by net/http, refused here.
		{name: "CL.TE", response: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", strict: true},
		{name: "TE.CL", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n2\r\nok\r\n0\r\n\r\n", strict: true},
		{name: "obs-fold", response: "HTTP/1.1 200 OK\r\nX-Folded: a\r\n  b\r\nContent-Length: 2\r\n\r\nok", strict: true},
		{name: "bare LF line ends", response: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", strict: true},
		{name: "bare CR in a value", response: "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok", strict: true},
		{name: "two spaces after the version", response: "HTTP/1.1  200 OK\r\nContent-Length: 2\r\n\r\nok", strict: true},
		{name: "http/1.0 chunked", response: "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", close: true, strict: true},
		{name: "chunk size with leading zeros beyond 15 digits", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000002\r\nok\r\n0\r\n\r\n", strict: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := newScript(t, tt.response, tt.close)
			std, lean := proxies(t, up.ln.Addr().String())
			method := tt.method
			if method == "" {
				method = "GET"
			}
			want := fetch(t, method, std.URL+"/p", nil)
			got := fetch(t, method, lean.URL+"/p", nil)
			if !strings.Contains(strings.ToLower(tt.response), "content-type:") {
				// Whether net/http's server sniffs a Content-Type
				// depends on a race in ReverseProxy between its
				// immediate flush of the head (responses without a
				// Content-Length) and the first body write: not the
				// transport's doing.
				delete(want.Header, "Content-Type")
				delete(got.Header, "Content-Type")
			}
			if tt.strict {
				if !strictOK(got) {
					t.Errorf("lean proxy let through what it must refuse: %+v (net/http: %+v)", got, want)
				}
				return
			}
			if want.Err && got.Err {
				// Both failed: whether the head went out before the
				// failure depends on ReverseProxy's flush timer.
				return
			}
			if diff := cmp.Diff(want, got); diff != "" {
				// net/http's Transport deletes a Connection field
				// holding close, and so forgets the fields it names;
				// this one removes them.
				t.Errorf("outcome mismatch (-net/http +lean):\n%s", diff)
			}
		})
	}
}

// TestDifferentialRequests compares the request heads an app receives
// through both transports, byte for byte.
func TestDifferentialRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, target string
		header               http.Header
		body                 string
	}{
		{"post form", "POST", "/f", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "a=1&b=2"},
		{"put json", "PUT", "/j", http.Header{"Content-Type": {"application/json"}}, `{"x":1}`},
		{"get with a body", "GET", "/g", nil, "odd"},
		{"largest inline body", "POST", "/l", nil, strings.Repeat("b", MaxInlineBody)},
		{"streamed body", "POST", "/s", nil, strings.Repeat("s", MaxInlineBody+1)},
		{"get", "GET", "/", nil, ""},
		{"query", "GET", "/a/b?x=1&y=%20z", nil, ""},
		{"escaped path", "GET", "/a%2Fb/c%20d", nil, ""},
		{"odd path bytes", "GET", "/a!b'(c)*~", nil, ""},
		{"empty query", "GET", "/a?", nil, ""},
		{"head", "HEAD", "/h", nil, ""},
		{"delete", "DELETE", "/d", nil, ""},
		{"options", "OPTIONS", "/o", nil, ""},
		{"empty post", "POST", "/p", nil, ""},
		{"empty put", "PUT", "/p", nil, ""},
		{"empty patch", "PATCH", "/p", nil, ""},
		{"extension method", "PURGE", "/p", nil, ""},
		{"headers", "GET", "/", http.Header{"Accept": {"*/*"}, "X-Multi": {"1", " 2 "}, "Cookie": {"a=b"}, "User-Agent": {"agent/1"}}, ""},
		{"empty agent", "GET", "/", http.Header{"User-Agent": {""}}, ""},
		{"te trailers", "GET", "/", http.Header{"Te": {"trailers"}}, ""},
		{"hop-by-hop", "GET", "/", http.Header{"Connection": {"X-Gone"}, "X-Gone": {"1"}, "Keep-Alive": {"1"}, "Proxy-Connection": {"x"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var heads [2]string
			for i := range heads {
				up := newScript(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false)
				std, lean := proxies(t, up.ln.Addr().String())
				srv := std
				if i == 1 {
					srv = lean
				}
				var body io.Reader
				if tt.body != "" {
					body = strings.NewReader(tt.body)
				}
				req, err := http.NewRequest(tt.method, srv.URL+tt.target, body)
				if err != nil {
					t.Fatal(err)
				}
				req.Host = "app.example"
				for k, v := range tt.header {
					req.Header[k] = v
				}
				resp, err := http.DefaultTransport.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("status %d", resp.StatusCode)
				}
				// The client's port differs between the two runs.
				heads[i] = up.lastHead()
			}
			if heads[0] != heads[1] {
				t.Errorf("request heads differ:\nnet/http: %q\nlean:     %q", heads[0], heads[1])
			}
		})
	}
}

// TestTakes checks which requests go to the fallback.
func TestTakes(t *testing.T) {
	t.Parallel()
	tr := &Transport{}
	mk := func(method, u string, f func(*http.Request)) *http.Request {
		r, _ := http.NewRequest(method, u, nil)
		if f != nil {
			f(r)
		}
		return r
	}
	tests := []struct {
		name string
		req  *http.Request
		want bool
	}{
		{"plain get", mk("GET", "http://a.example/", nil), true},
		{"https", mk("GET", "https://a.example/", nil), false},
		{"small body", mk("POST", "http://a.example/", func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader("x")); r.ContentLength = 1 }), true},
		{"large body", mk("POST", "http://a.example/", func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader("x"))
			r.ContentLength = MaxInlineBody + 1
		}), false},
		{"unknown length", mk("POST", "http://a.example/", func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader("x")); r.ContentLength = -1 }), false},
		{"upgrade", mk("GET", "http://a.example/", func(r *http.Request) { r.Header.Set("Upgrade", "websocket") }), false},
		{"expect", mk("GET", "http://a.example/", func(r *http.Request) { r.Header.Set("Expect", "100-continue") }), false},
		{"close", mk("GET", "http://a.example/", func(r *http.Request) { r.Close = true }), false},
		{"connect", mk("CONNECT", "http://a.example/", nil), false},
		{"bad header value", mk("GET", "http://a.example/", func(r *http.Request) { r.Header["X"] = []string{"a\nb"} }), false},
		{"bad header name", mk("GET", "http://a.example/", func(r *http.Request) { r.Header["X Y"] = []string{"a"} }), false},
		{"zone in host", mk("GET", "http://a.example/", func(r *http.Request) { r.Host = "[fe80::1%25eth0]" }), false},
		{"unicode host", mk("GET", "http://a.example/", func(r *http.Request) { r.Host = "bücher.example" }), false},
	}
	for _, tt := range tests {
		if got := tr.Takes(tt.req); got != tt.want {
			t.Errorf("%s: Takes = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestReuse checks that connections are reused after complete responses
// and not after others.
func TestReuse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		response string
		reused   bool
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", true},
		{"no body", "HTTP/1.1 204 No Content\r\n\r\n", true},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", false},
		{"http/1.0", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", false},
		{"bytes after the body", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", false},
		{"204 with a body", "HTTP/1.1 204 No Content\r\n\r\nsurprise", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := newScript(t, tt.response, false)
			d := &countingDialer{bare: true}
			tr := &Transport{Fallback: http.DefaultTransport, DialContext: d.dial}
			defer tr.CloseIdleConnections()
			for range 3 {
				resp := mustGet(t, tr, "http://"+up.ln.Addr().String()+"/")
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			want := map[bool]int{true: 1, false: 3}[tt.reused]
			if conns, _ := d.counts(); conns != want {
				t.Errorf("%d connections for 3 requests, want %d", conns, want)
			}
		})
	}
}

// TestSSE checks that events reach the reader as the app writes them:
// a read returns the first event while the app still holds the second.
func TestSSE(t *testing.T) {
	t.Parallel()
	next := make(chan struct{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-next
		io.WriteString(w, "data: two\n\n")
	}))
	defer app.Close()
	defer close(next)
	tr := &Transport{Fallback: http.DefaultTransport}
	defer tr.CloseIdleConnections()
	resp := mustGet(t, tr, app.URL)
	defer resp.Body.Close()
	buf := make([]byte, 32<<10)
	var got []byte
	for !bytes.Contains(got, []byte("data: one\n\n")) {
		n, err := resp.Body.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if bytes.Contains(got, []byte("two")) {
		t.Fatal("the second event came before the app wrote it")
	}
}

// TestLargeBody streams 100 MB with bounded memory.
func TestLargeBody(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MB")
	}
	const size = 100 << 20
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for _, mode := range []string{"length", "chunked"} {
		t.Run(mode, func(t *testing.T) {
			app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if mode == "length" {
					w.Header().Set("Content-Length", "104857600")
				}
				for n := 0; n < size; n += len(chunk) {
					w.Write(chunk)
				}
			}))
			defer app.Close()
			tr := &Transport{Fallback: http.DefaultTransport}
			defer tr.CloseIdleConnections()
			resp := mustGet(t, tr, app.URL)
			defer resp.Body.Close()
			buf := make([]byte, 32<<10)
			var ms0, ms1 runtimeMem
			ms0.read()
			n, err := io.CopyBuffer(io.Discard, onlyReader{resp.Body}, buf)
			ms1.read()
			if err != nil || n != size {
				t.Fatalf("copied %d bytes, %v", n, err)
			}
			if grew := ms1.alloc - ms0.alloc; grew > 4<<20 {
				t.Errorf("reading the body allocated %d bytes", grew)
			}
		})
	}
}

type onlyReader struct{ io.Reader }

// TestCancel checks that canceling the request ends a body read that
// waits on the app, whether the transport watches the request's context
// through context.AfterFunc or through the context's DoneNotifier.
func TestCancel(t *testing.T) {
	t.Parallel()
	for _, notifier := range []bool{false, true} {
		for _, headTimeout := range []time.Duration{0, time.Minute} {
			// With a head timeout, the body is read with the head's
			// deadline still set (see conn.armHead).
			name := map[bool]string{false: "AfterFunc", true: "DoneNotifier"}[notifier] + map[bool]string{false: "", true: "/head timeout"}[headTimeout > 0]
			testCancel(t, name, notifier, headTimeout)
		}
	}
}

func testCancel(t *testing.T, name string, notifier bool, headTimeout time.Duration) {
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		hold := make(chan struct{})
		app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "12345")
			w.(http.Flusher).Flush()
			<-hold
		}))
		defer app.Close()
		defer close(hold)
		tr := &Transport{Fallback: http.DefaultTransport, ResponseHeaderTimeout: headTimeout}
		defer tr.CloseIdleConnections()
		ctx, cancel := context.WithCancel(context.Background())
		var nc *notifyingContext
		if notifier {
			nc = &notifyingContext{Context: ctx}
			ctx = nc
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", app.URL, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		buf := make([]byte, 5)
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			t.Fatal(err)
		}
		cancel()
		if _, err := resp.Body.Read(buf); err == nil {
			t.Fatal("read after cancel succeeded")
		}
		if nc != nil && nc.given != 1 {
			t.Errorf("the transport gave the context's NotifyDone %d functions, want 1", nc.given)
		}
	})
}

// countingDialer dials loopback connections and counts them, and the
// read deadlines set on them unless bare: a bare connection is TCP's
// own, which the check of an idle connection needs (a wrapper has no
// file descriptor to check).
type countingDialer struct {
	bare      bool
	mu        sync.Mutex
	dials     int
	deadlines int
}

func (d *countingDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.dials++
	d.mu.Unlock()
	if d.bare {
		return c, nil
	}
	return &deadlineCounter{Conn: c, d: d}, nil
}

func (d *countingDialer) counts() (dials, deadlines int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dials, d.deadlines
}

type deadlineCounter struct {
	net.Conn
	d *countingDialer
}

func (c *deadlineCounter) SetReadDeadline(t time.Time) error {
	c.d.mu.Lock()
	c.d.deadlines++
	c.d.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

// TestHeadDeadlineLazy: the head's deadline is set once for requests
// that follow each other on a connection, not set and lifted for each.
func TestHeadDeadlineLazy(t *testing.T) {
	t.Parallel()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer app.Close()
	d := &countingDialer{}
	tr := &Transport{Fallback: http.DefaultTransport, ResponseHeaderTimeout: time.Minute, DialContext: d.dial}
	defer tr.CloseIdleConnections()
	for range 10 {
		resp := mustGet(t, tr, app.URL)
		if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "ok" {
			t.Fatalf("body %q, %v", b, err)
		}
		resp.Body.Close()
	}
	if dials, deadlines := d.counts(); dials != 1 || deadlines != 1 {
		t.Errorf("10 requests: %d connections and %d read deadlines set, want 1 and 1", dials, deadlines)
	}
}

// TestHeadDeadlineStale: a body that arrives after the head's deadline
// is read whole (the deadline, stale once the head is in, is lifted),
// and a connection whose stale deadline has passed is reused.
func TestHeadDeadlineStale(t *testing.T) {
	t.Parallel()
	const timeout = 100 * time.Millisecond
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "12345")
		w.(http.Flusher).Flush()
		if r.URL.Path == "/slow" {
			time.Sleep(3 * timeout)
		}
		io.WriteString(w, "67890")
	}))
	defer app.Close()
	d := &countingDialer{bare: true} // so that the check of the idle connection runs
	tr := &Transport{Fallback: http.DefaultTransport, ResponseHeaderTimeout: timeout, DialContext: d.dial}
	defer tr.CloseIdleConnections()
	// /slow's body lifts its deadline; /fast's stays, and has passed
	// when /again takes the connection.
	for _, path := range []string{"/slow", "/fast", "/again"} {
		resp := mustGet(t, tr, app.URL+path)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(b) != "1234567890" {
			t.Fatalf("%s: body %q, %v", path, b, err)
		}
		time.Sleep(2 * timeout) // the deadline the connection keeps passes
	}
	if dials, _ := d.counts(); dials != 1 {
		t.Errorf("%d connections for 3 requests, want 1", dials)
	}
}

// TestNotifierReuse checks that a request whose context is a
// DoneNotifier leaves its connection to the next request, and its
// context without a registered function.
func TestNotifierReuse(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	up := newScript(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false)
	tr := &Transport{Fallback: http.DefaultTransport, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conns.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	for range 3 {
		nc := &notifyingContext{Context: context.Background()}
		req, _ := http.NewRequestWithContext(nc, "GET", "http://"+up.ln.Addr().String()+"/", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		nc.mu.Lock()
		given, registered := nc.given, nc.stop != nil
		nc.mu.Unlock()
		if given != 1 || registered {
			t.Fatalf("NotifyDone given %d functions, one still registered: %v", given, registered)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 3 requests, want 1", n)
	}
}

// notifyingContext is a DoneNotifier over a context, which counts the
// functions it was given.
type notifyingContext struct {
	context.Context
	mu    sync.Mutex
	stop  func() bool
	given int
}

func (c *notifyingContext) NotifyDone(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop != nil {
		return false
	}
	c.given++
	c.stop = context.AfterFunc(c.Context, f)
	return true
}

func (c *notifyingContext) StopNotify() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	stop := c.stop
	c.stop = nil
	return stop != nil && stop()
}

// TestHeaderTimeout checks that an app that does not answer gets a
// timeout error.
func TestHeaderTimeout(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			io.Copy(io.Discard, c)
		}
	}()
	tr := &Transport{Fallback: http.DefaultTransport, ResponseHeaderTimeout: 50 * time.Millisecond}
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
	_, err = tr.RoundTrip(req)
	var ne net.Error
	if err == nil || !asNetError(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

func TestTrailersKeys(t *testing.T) {
	t.Parallel()
	br := bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-a, X-B\r\n\r\n"))
	h, err := readHead(br, 1<<20, "GET")
	if err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(mapsKeys(h.resp.Trailer))
	if !slices.Equal(keys, []string{"X-A", "X-B"}) {
		t.Errorf("trailer keys %v", keys)
	}
}

// TestStaleIdleConnection checks that a connection the app closed while
// it was idle is not used for the next request: the check before reuse
// finds it closed, or the request is sent again on a new connection.
func TestStaleIdleConnection(t *testing.T) {
	t.Parallel()
	up := newScript(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true)
	tr := &Transport{Fallback: http.DefaultTransport}
	defer tr.CloseIdleConnections()
	for i := range 5 {
		req, _ := http.NewRequest("GET", "http://"+up.ln.Addr().String()+"/", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(b) != "ok" {
			t.Fatalf("request %d: %q, %v", i, b, err)
		}
	}
}

// TestRetryOnlyIdempotent checks which requests are sent again after a
// reused connection ended before any response byte.
func TestRetryOnlyIdempotent(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		method string
		hdr    http.Header
		want   bool
	}{
		{"GET", nil, true},
		{"HEAD", nil, true},
		{"OPTIONS", nil, true},
		{"POST", nil, false},
		{"DELETE", nil, false},
		{"POST", http.Header{"Idempotency-Key": {"k"}}, true},
	} {
		req, _ := http.NewRequest(tt.method, "http://a.example/", nil)
		for k, v := range tt.hdr {
			req.Header[k] = v
		}
		if got := idempotent(req); got != tt.want {
			t.Errorf("%s %v: idempotent = %v, want %v", tt.method, tt.hdr, got, tt.want)
		}
	}
}

// TestIdleSweep checks that idle connections past IdleConnTimeout are
// closed when another connection goes back to the pool, whatever their
// address.
func TestIdleSweep(t *testing.T) {
	t.Parallel()
	a := newScript(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false)
	b := newScript(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false)
	tr := &Transport{Fallback: http.DefaultTransport, IdleConnTimeout: time.Hour}
	defer tr.CloseIdleConnections()
	get := func(s *script) {
		resp := mustGet(t, tr, "http://"+s.ln.Addr().String()+"/")
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get(a)
	tr.mu.Lock()
	for _, c := range tr.idle[a.ln.Addr().String()] {
		c.used = c.used.Add(-2 * time.Hour) // as if idle for two hours
	}
	tr.swept = time.Time{}
	tr.mu.Unlock()
	get(b)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if n := len(tr.idle[a.ln.Addr().String()]); n != 0 {
		t.Errorf("%d old idle connections to a kept", n)
	}
	if n := len(tr.idle[b.ln.Addr().String()]); n != 1 {
		t.Errorf("%d idle connections to b, want 1", n)
	}
}

// TestReadBody checks that a body must have exactly its ContentLength.
func TestReadBody(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		body   string
		length int64
		ok     bool
	}{
		{"abc", 3, true},
		{"ab", 3, false},
		{"abcd", 3, false},
	} {
		req, _ := http.NewRequest("POST", "http://a.example/", io.NopCloser(strings.NewReader(tt.body)))
		req.ContentLength = tt.length
		got, err := readBody(req, nil)
		if (err == nil) != tt.ok || (tt.ok && string(got) != tt.body) {
			t.Errorf("body %q, length %d: %q, %v", tt.body, tt.length, got, err)
		}
	}
}

// mustGet sends a GET for u through tr, failing the test on an error.
func mustGet(t *testing.T, tr *Transport, u string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

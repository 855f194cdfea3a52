package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestScheduled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rate int64
		d    time.Duration
		want int64
	}{
		{"whole", 1000, 100 * time.Millisecond, 100},
		{"the last one is due before the end", 3, time.Second, 3},             // at 0, 1/3, 2/3 s
		{"one due just before the end counts", 3, 1001 * time.Millisecond, 4}, // and at 1 s
		{"one is due at the start", 1, time.Nanosecond, 1},
		{"large", 50_000, 10 * time.Minute, 30_000_000},
		{"no rate", 0, time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := scheduled(tt.rate, tt.d); got != tt.want {
				t.Errorf("scheduled(%d, %v) = %d, want %d", tt.rate, tt.d, got, tt.want)
			}
		})
	}
}

func TestPerMille(t *testing.T) {
	t.Parallel()
	us := func(n int) []time.Duration {
		d := make([]time.Duration, n)
		for i := range d {
			d[i] = time.Duration(i+1) * time.Microsecond
		}
		return d
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		pm     int
		want   time.Duration
	}{
		{"none", nil, 999, 0},
		{"p99.9 of a thousand is the 999th", us(1000), 999, 999 * time.Microsecond},
		{"p99.9 of a hundred is the last", us(100), 999, 100 * time.Microsecond},
		{"p90 of ten is the 9th", us(10), 900, 9 * time.Microsecond},
		{"max", us(7), 1000, 7 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := perMille(tt.sorted, tt.pm); got != tt.want {
				t.Errorf("perMille(%d values, %d) = %v, want %v", len(tt.sorted), tt.pm, got, tt.want)
			}
		})
	}
}

func TestReadResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		in         string
		status     int
		closeAfter bool
		err        error
		rest       string // what is left unread: the next response
	}{
		{"redirect", "HTTP/1.1 301 Moved Permanently\r\nLocation: https://x/\r\nContent-Length: 0\r\n\r\nNEXT", 301, false, nil, "NEXT"},
		{"body", "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\nNEXT", 200, false, nil, "NEXT"},
		{"no reason, bare LF", "HTTP/1.1 200\nContent-Length:  2 \n\nokNEXT", 200, false, nil, "NEXT"},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n", 200, true, nil, ""},
		{"HTTP/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 200, true, nil, ""},
		{"304 needs no length", "HTTP/1.1 304 Not Modified\r\n\r\nNEXT", 304, false, nil, "NEXT"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 0, false, errChunked, ""},
		{"no length", "HTTP/1.1 200 OK\r\n\r\nok", 0, false, errNoLength, ""},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok", 0, false, errMalformed, ""},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, false, errMalformed, ""},
		{"not HTTP", "SSH-2.0-OpenSSH\r\n", 0, false, errMalformed, ""},
		{"HTTP/2", "HTTP/2 200\r\n\r\n", 0, false, errMalformed, ""},
		{"letters in status", "HTTP/1.1 2x0 OK\r\n\r\n", 0, false, errMalformed, ""},
		{"header without colon", "HTTP/1.1 200 OK\r\nbroken\r\n\r\n", 0, false, errMalformed, ""},
		{"line too long", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 70_000) + "\r\n\r\n", 0, false, errHeadTooLong, ""},
		{"cut in the head", "HTTP/1.1 200 OK\r\nContent-Le", 0, false, io.ErrUnexpectedEOF, ""},
		{"cut in the body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok", 0, false, io.EOF, ""},
		{"closed", "", 0, false, io.EOF, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			br := bufio.NewReaderSize(strings.NewReader(tt.in), 16<<10)
			status, closeAfter, err := readResponse(br)
			if status != tt.status || closeAfter != tt.closeAfter || !errors.Is(err, tt.err) {
				t.Fatalf("readResponse(%.40q) = %d, %t, %v; want %d, %t, %v", tt.in, status, closeAfter, err, tt.status, tt.closeAfter, tt.err)
			}
			if err == nil {
				rest, _ := io.ReadAll(br)
				if string(rest) != tt.rest {
					t.Errorf("left %q unread, want %q", rest, tt.rest)
				}
			}
		})
	}
}

func TestReadResponseDoesNotAllocate(t *testing.T) {
	resp := []byte("HTTP/1.1 301 Moved Permanently\r\nLocation: https://bench.test/\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nmoved")
	r := bytes.NewReader(resp)
	br := bufio.NewReaderSize(r, 16<<10)
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(resp)
		br.Reset(r)
		if _, _, err := readResponse(br); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("readResponse allocates %v times per response, want 0", allocs)
	}
}

func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 301 Moved Permanently\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 200\nContent-Length: 3\n\nabc"))
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReader(bytes.NewReader(in))
		status, _, err := readResponse(br)
		if err == nil && (status < 100 || status > 999) {
			t.Errorf("readResponse(%q) = status %d without an error", in, status)
		}
	})
}

// rawServer answers on loopback as answer says, one request at a time
// per connection, and counts connections and requests.
type rawServer struct {
	addr     string
	conns    atomic.Int64
	requests atomic.Int64
}

// answer returns what to write for request n (from 1, over all
// connections) and whether to close the connection after it.
type answer func(n int64) (resp string, closeAfter bool)

func newRawServer(t *testing.T, answer answer) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	done := make(chan struct{})
	t.Cleanup(func() {
		close(done)
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			wg.Go(func() {
				defer c.Close()
				serverConn{done: done, c: c}.serve(s, answer)
			})
		}
	})
	return s
}

// serverConn is one connection of a rawServer.
type serverConn struct {
	done <-chan struct{}
	c    net.Conn
}

func (x serverConn) serve(s *rawServer, answer answer) {
	go func() {
		<-x.done
		x.c.Close()
	}()
	br := bufio.NewReader(x.c)
	for {
		// Requests have no body: read up to the blank line.
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		resp, closeAfter := answer(s.requests.Add(1))
		if _, err := io.WriteString(x.c, resp); err != nil || closeAfter {
			return
		}
	}
}

const moved = "HTTP/1.1 301 Moved Permanently\r\nLocation: https://bench.test/\r\nContent-Length: 0\r\n\r\n"

func rateArgs(addr string, extra ...string) []string {
	return append([]string{"rate", "-connect", addr, "-host", "bench.test", "-status", "301"}, extra...)
}

func TestRateSendsEveryScheduledRequest(t *testing.T) {
	t.Parallel()
	s := newRawServer(t, func(int64) (string, bool) { return moved, false })
	var stdout, stderr bytes.Buffer
	args := rateArgs(s.addr, "-rate", "1000", "-d", "200ms", "-c", "4", "-grace", "30s")
	if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("run(%q) = %d; stderr: %s", args, code, stderr.String())
	}
	kv := parseKV(stdout.String())
	got := map[string]string{"scheduled": kv["scheduled"], "requests": kv["requests"], "errors": kv["errors"], "rate": kv["rate"]}
	want := map[string]string{"scheduled": "200", "requests": "200", "errors": "0", "rate": "1000"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rate output mismatch (-want +got):\n%s", diff)
	}
	if n := s.requests.Load(); n != 200 {
		t.Errorf("server saw %d requests, want 200", n)
	}
	if n := s.conns.Load(); n != 4 {
		t.Errorf("server saw %d connections, want 4 (keep-alive)", n)
	}
	for _, k := range []string{"seconds", "rps", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "late_p99_us"} {
		if _, ok := kv[k]; !ok {
			t.Errorf("no %s in the output:\n%s", k, stdout.String())
		}
	}
}

func TestRateOverTLS(t *testing.T) {
	t.Parallel()
	s := newTLSServer(t)
	var stdout, stderr bytes.Buffer
	args := []string{"rate", "-connect", s.Listener.Addr().String(), "-host", "example.com", "-cacert", s.cacert,
		"-rate", "500", "-d", "100ms", "-c", "2", "-grace", "30s"}
	if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("run(%q) = %d; stderr: %s", args, code, stderr.String())
	}
	kv := parseKV(stdout.String())
	if kv["requests"] != "50" || kv["errors"] != "0" {
		t.Errorf("requests %s, errors %s; want 50 and 0", kv["requests"], kv["errors"])
	}
	if n := s.conns.Load(); n != 2 {
		t.Errorf("server saw %d connections, want 2", n)
	}
}

func TestRateCountsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		answer   answer
		requests string // good answers, of 10
		conns    int64  // connections the server saw
	}{
		{"wrong status keeps the connection",
			func(int64) (string, bool) { return "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false }, "0", 1},
		{"chunked is re-dialled",
			func(int64) (string, bool) {
				return "HTTP/1.1 301 Moved\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false
			}, "0", 10},
		{"no length is re-dialled",
			func(int64) (string, bool) { return "HTTP/1.1 301 Moved\r\n\r\n", true }, "0", 10},
		{"closed without an answer",
			func(int64) (string, bool) { return "", true }, "0", 10},
		{"one failure, then a new connection",
			func(n int64) (string, bool) {
				if n == 3 {
					return "", true
				}
				return moved, false
			}, "9", 2},
		{"connection close is no error",
			func(int64) (string, bool) {
				return "HTTP/1.1 301 Moved\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", true
			}, "10", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newRawServer(t, tt.answer)
			var stdout, stderr bytes.Buffer
			args := rateArgs(s.addr, "-rate", "200", "-d", "50ms", "-c", "1", "-grace", "30s")
			code := run(t.Context(), args, &stdout, &stderr)
			kv := parseKV(stdout.String())
			good, _ := strconv.Atoi(tt.requests)
			wantCode := 0
			if good == 0 {
				wantCode = 1 // no request succeeded
			}
			got := map[string]string{"requests": kv["requests"], "errors": kv["errors"], "unanswered": kv["unanswered"]}
			want := map[string]string{"requests": tt.requests, "errors": strconv.Itoa(10 - good), "unanswered": "0"}
			if diff := cmp.Diff(want, got); diff != "" || code != wantCode {
				t.Errorf("run = %d, want %d; output mismatch (-want +got):\n%s\nstderr: %s", code, wantCode, diff, stderr.String())
			}
			if n := s.conns.Load(); n != tt.conns {
				t.Errorf("server saw %d connections, want %d", n, tt.conns)
			}
		})
	}
}

// A stall of the server delays every request queued behind it, and that
// delay counts: latency runs from when a request was due, not from when
// it could be sent. With one connection at 1000 req/s, request 10 (due
// at 10 ms) stalls 50 ms, so it completes after 60 ms; requests 10 to 20,
// due by 20 ms, all complete after that: 11 of the 100 latencies are at
// least 40 ms, and the largest at least 50 ms. These are lower bounds,
// whatever the machine's speed.
func TestRateCountsTheQueueBehindAStall(t *testing.T) {
	t.Parallel()
	s := newRawServer(t, func(n int64) (string, bool) {
		if n == 11 { // request index 10
			time.Sleep(50 * time.Millisecond)
		}
		return moved, false
	})
	var stdout, stderr bytes.Buffer
	args := rateArgs(s.addr, "-rate", "1000", "-d", "100ms", "-c", "1", "-grace", "30s")
	if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("run(%q) = %d; stderr: %s", args, code, stderr.String())
	}
	kv := parseKV(stdout.String())
	if kv["requests"] != "100" {
		t.Fatalf("requests %s, want 100", kv["requests"])
	}
	for k, min := range map[string]int{"max_us": 50_000, "p90_us": 40_000} {
		if v, _ := strconv.Atoi(kv[k]); v < min {
			t.Errorf("%s = %s, want at least %d", k, kv[k], min)
		}
	}
}

// The run is bounded: a request with no answer by the end of -grace is
// counted, unanswered, and the run ends.
func TestRateEndsAfterGrace(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	s := newRawServer(t, func(n int64) (string, bool) {
		if n == 10 {
			<-release
		}
		return moved, false
	})
	t.Cleanup(func() { close(release) }) // before the server's cleanup, which waits for its handlers
	var stdout, stderr bytes.Buffer
	args := rateArgs(s.addr, "-rate", "200", "-d", "50ms", "-c", "1", "-grace", "100ms")
	if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("run(%q) = %d; stderr: %s", args, code, stderr.String())
	}
	kv := parseKV(stdout.String())
	got := map[string]string{"requests": kv["requests"], "errors": kv["errors"], "unanswered": kv["unanswered"]}
	want := map[string]string{"requests": "9", "errors": "1", "unanswered": "1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rate output mismatch (-want +got):\n%s", diff)
	}
}

// A server slower than the rate: with one connection and 5 ms per answer,
// 20 requests take at least 100 ms, so fewer than 200 req/s are
// achieved of the 1000 asked, whatever the machine's speed.
func TestRateWarnsWhenBehind(t *testing.T) {
	t.Parallel()
	s := newRawServer(t, func(int64) (string, bool) {
		time.Sleep(5 * time.Millisecond)
		return moved, false
	})
	for _, strict := range []bool{false, true} {
		var stdout, stderr bytes.Buffer
		args := rateArgs(s.addr, "-rate", "1000", "-d", "20ms", "-c", "1", "-grace", "30s")
		want := 0
		if strict {
			args = append(args, "-strict")
			want = 1
		}
		if code := run(t.Context(), args, &stdout, &stderr); code != want {
			t.Errorf("run(%q) = %d, want %d; stderr: %s", args, code, want, stderr.String())
		}
		if !strings.Contains(stdout.String(), "\nwarning ") {
			t.Errorf("run(%q): no warning line in\n%s", args, stdout.String())
		}
	}
}

func TestRateRefusesConnectingFailures(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), rateArgs(addr, "-rate", "10", "-d", "10ms"), &stdout, &stderr); code != 1 {
		t.Errorf("rate against a closed port = %d, want 1; stderr: %s", code, stderr.String())
	}
}

package h1

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// records builds a stream of TLS-framed records with the given body
// lengths (type 23, version 0x0303, bodies of a repeated byte each).
func records(lengths []int) (stream []byte, bounds []int) {
	for i, n := range lengths {
		stream = append(stream, 23, 3, 3, byte(n>>8), byte(n))
		stream = append(stream, bytes.Repeat([]byte{byte('a' + i%26)}, n)...)
		bounds = append(bounds, len(stream))
	}
	return stream, bounds
}

// FuzzRecordFraming feeds a stream of records to recordConn in chunks
// (what the socket would return) and reads it with buffers of varying
// sizes (what crypto/tls asks): the bytes must come out as they went in,
// no read may cross the end of a record, and quiet must say exactly
// when everything read was given, up to the end of a record.
func FuzzRecordFraming(f *testing.F) {
	f.Add([]byte{5, 0, 7, 200, 1}, []byte{3, 9, 250}, []byte{1, 5, 255, 2})
	f.Add([]byte{0, 0}, []byte{1}, []byte{1})
	f.Add([]byte{255, 255, 3}, []byte{255}, []byte{4, 4, 4, 4})
	f.Fuzz(func(t *testing.T, lens, chunks, reads []byte) {
		if len(lens) == 0 || len(chunks) == 0 || len(reads) == 0 {
			return
		}
		lengths := make([]int, 0, len(lens))
		for _, l := range lens {
			lengths = append(lengths, int(l)*37%5000) // up to a record larger than the read buffer
		}
		stream, bounds := records(lengths)
		isBound := map[int]bool{0: true}
		for _, b := range bounds {
			isBound[b] = true
		}
		r := &recordConn{}
		var out []byte
		pos, ci, ri := 0, 0, 0
		for pos < len(stream) {
			// The socket returns the next chunk.
			size := int(chunks[ci%len(chunks)])%recordBufSize + 1
			ci++
			size = min(size, len(stream)-pos)
			r.buf = r.get()
			r.off, r.end = 0, copy(*r.buf, stream[pos:pos+size])
			pos += size
			for r.off < r.end {
				p := make([]byte, int(reads[ri%len(reads)])*3+1)
				ri++
				start := len(out)
				n, err := r.Read(p)
				if err != nil || n == 0 {
					t.Fatalf("Read = %d, %v with %d bytes buffered", n, err, r.end-r.off)
				}
				out = append(out, p[:n]...)
				for i := start + 1; i < len(out); i++ {
					if isBound[i] {
						t.Fatalf("a read of bytes %d to %d crosses the end of a record at %d", start, len(out), i)
					}
				}
				if want := r.off == r.end && isBound[len(out)]; r.quiet() != want {
					t.Fatalf("after %d bytes: quiet() = %v, want %v", len(out), r.quiet(), want)
				}
			}
		}
		if !bytes.Equal(out, stream) {
			t.Fatalf("read %d bytes, not the %d written", len(out), len(stream))
		}
		if !r.quiet() || r.pooled.Load() != 0 {
			t.Fatalf("at the end: quiet() = %v, %d buffers held", r.quiet(), r.pooled.Load())
		}
	})
}

func TestRecordHeaderLength(t *testing.T) {
	// The length in a record header is big-endian, bytes 3 and 4.
	var h [recordHeaderLen]byte
	binary.BigEndian.PutUint16(h[3:], 0x1234)
	r := &recordConn{}
	if got := r.deliverable(append(h[:], make([]byte, 0x2000)...)); got != recordHeaderLen+0x1234 {
		t.Fatalf("deliverable = %#x, want %#x", got, recordHeaderLen+0x1234)
	}
}

// TestTLSHeldResponses covers a TLS connection that holds the end of its
// response until it waits for its next request (recordConn), in TLS 1.2
// and 1.3: each response must reach a client that sends nothing more
// before reading it; requests in separate records sent back to back, a
// head split across records, and a large response read late must all
// be answered in order; and no idle connection may keep a buffer.
func TestTLSHeldResponses(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("0123456789abcdef", 1<<17) // 2 MiB
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			io.WriteString(w, big)
			return
		}
		io.WriteString(w, r.URL.Path)
	})
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			t.Parallel()
			s := serveTLS(t, h)
			cfg := s.client.Clone()
			cfg.MinVersion, cfg.MaxVersion = version, version
			c, err := tls.Dial("tcp", s.fast, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			br := bufio.NewReader(c)
			read := func(want string) {
				t.Helper()
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("want %.20q: %v", want, err)
				}
				b, err := io.ReadAll(resp.Body)
				if err != nil || string(b) != want {
					t.Fatalf("body %.40q (%d bytes), %v; want %.20q (%d bytes)", b, len(b), err, want, len(want))
				}
			}
			for i := 0; i < 200; i++ {
				p := "/" + strconv.Itoa(i)
				io.WriteString(c, req("GET "+p+" HTTP/1.1", "Host: a"))
				read(p)
			}
			waitIdleWithoutScratch(t, s.srv)
			// Two requests in two records, written back to back: the
			// second may arrive with the first.
			io.WriteString(c, req("GET /one HTTP/1.1", "Host: a"))
			io.WriteString(c, req("GET /two HTTP/1.1", "Host: a"))
			read("/one")
			read("/two")
			// A head in three records.
			head := req("GET /split HTTP/1.1", "Host: a", "X-Pad: "+strings.Repeat("p", 100))
			for _, piece := range []string{head[:7], head[7:60], head[60:]} {
				io.WriteString(c, piece)
				time.Sleep(5 * time.Millisecond)
			}
			read("/split")
			io.WriteString(c, req("GET /big HTTP/1.1", "Host: a"))
			time.Sleep(50 * time.Millisecond)
			read(big)
			io.WriteString(c, req("GET /after HTTP/1.1", "Host: a"))
			read("/after")
			waitIdleWithoutScratch(t, s.srv)
		})
	}
}

package testutil

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// Exchange writes raw, one or more requests as they go on the wire, to c
// and returns the raw bytes of the responses, read one by one with
// http.ReadResponse (methods are the requests' methods, which tell it
// whether a body follows). It stops at the first response that does not
// come, so a server that closes early yields fewer; bytes after the last
// response are not included. c gets a deadline of 3 seconds.
func Exchange(t testing.TB, c net.Conn, raw string, methods ...string) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatalf("Exchange: write: %v", err)
	}
	var got bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &got))
	n := 0
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			break
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		n = got.Len() - br.Buffered()
	}
	return got.String()[:n]
}

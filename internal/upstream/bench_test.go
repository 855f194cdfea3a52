package upstream

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkRoundTrip measures a GET through the transport to a loopback
// app that answers a fixed response (a pooled connection, the request
// write, the response parse and the body read), and the same through
// net/http's Transport. The allocations include the app's (about 11).
func BenchmarkRoundTrip(b *testing.B) {
	for _, tt := range []struct{ name, response string }{
		{"length", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Fri, 04 Dec 2026 12:00:00 GMT\r\nContent-Length: 23\r\n\r\nhello from the backend\n"},
		{"chunked", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n17\r\nhello from the backend\n\r\n0\r\n\r\n"},
	} {
		for _, impl := range []string{"lean", "net-http"} {
			b.Run(tt.name+"/"+impl, func(b *testing.B) {
				roundTrips(b, tt.response, impl == "lean")
			})
		}
	}
}

// roundTrips runs the benchmark on this transport (lean) or on
// net/http's, for comparison.
func roundTrips(b *testing.B, response string, lean bool) {
	up := newScriptB(b, response)
	base := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 8}
	defer base.CloseIdleConnections()
	var tr http.RoundTripper = base
	if lean {
		lt := &Transport{Fallback: base}
		defer lt.CloseIdleConnections()
		tr = lt
	}
	req, _ := http.NewRequest("GET", "http://"+up.ln.Addr().String()+"/", nil)
	req.Header.Set("Accept", "*/*")
	buf := make([]byte, 32<<10)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := tr.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, onlyReader{resp.Body}, buf); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
}

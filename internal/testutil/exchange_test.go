package testutil

import (
	"io"
	"net"
	"net/http"
	"regexp"
	"testing"
)

func TestExchange(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, r.Method+" "+r.URL.Path)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	tests := []struct {
		name, raw string
		methods   []string
		want      string
	}{
		{"one", "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", []string{"GET"},
			"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGET /a"},
		{"head has no body", "HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n", []string{"HEAD"},
			"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"},
		{"stops when the server closes", "GET /close HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n", []string{"GET", "GET"},
			"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 10\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGET /close"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got := dateRE.ReplaceAllString(Exchange(t, c, tt.raw, tt.methods...), "")
			if got != tt.want {
				t.Errorf("Exchange(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

var dateRE = regexp.MustCompile(`Date: [^\r]*\r\n`)

package h1_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/forcehttps/forcehttps/internal/h1"
)

// A plain-HTTP listener that redirects GET and HEAD requests for
// example.com itself and leaves every other request to net/http.
func Example() {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fast := &h1.Server{Answer: func(w http.ResponseWriter, r *http.Request) bool {
		if r.Host != "example.com" || r.Method != http.MethodGet && r.Method != http.MethodHead {
			return false // net/http reads this request
		}
		w.Header().Set("Location", "https://example.com"+r.URL.RequestURI())
		w.WriteHeader(http.StatusMovedPermanently)
		return true
	}}
	ln, err := fast.Listen(inner)
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "net/http answered "+r.Method+" "+r.URL.Path+"\n")
	})}
	go srv.Serve(ln)
	defer srv.Close()
	defer fast.Close()

	c, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	// Two requests on one connection: the fast path answers the first,
	// net/http the second, which has a body.
	io.WriteString(c, "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\n\r\n"+
		"POST /form HTTP/1.1\r\nHost: example.com\r\nContent-Length: 2\r\n\r\nhi")
	br := bufio.NewReader(c)
	for _, m := range []string{"GET", "POST"} {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("%s location=%q body=%q\n", resp.Status, resp.Header.Get("Location"), strings.TrimSpace(string(body)))
	}
	// Output:
	// 301 Moved Permanently location="https://example.com/a?b=c" body=""
	// 200 OK location="" body="net/http answered POST /form"
}

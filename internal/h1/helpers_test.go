package h1

import (
	"context"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

// served is an h1.Server in front of an http.Server, and an http.Server
// alone, both with the same handler.
type served struct {
	fast, slow string // addresses
	srv        *Server
}

// serve starts h behind the fast path, which answers the requests take
// accepts (all when take is nil), and behind net/http alone.
func serve(t testing.TB, h http.Handler, take func(*http.Request) bool) served {
	t.Helper()
	fast := &Server{
		Answer: func(w http.ResponseWriter, r *http.Request) bool {
			if take != nil && !take(r) {
				return false
			}
			h.ServeHTTP(w, r)
			return true
		},
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       5 * time.Second,
		WriteTimeout:      5 * time.Second,
		Logger:            slog.New(slog.DiscardHandler),
	}
	return served{fast: listenFast(t, fast, h), slow: listenSlow(t, h), srv: fast}
}

func listenFast(t testing.TB, fast *Server, fallback http.Handler) string {
	t.Helper()
	return listenFastWith(t, fast, &http.Server{Handler: fallback, ErrorLog: discardLog()})
}

// listenFastWith starts fast on a loopback port with hs behind it, and
// returns the address.
func listenFastWith(t testing.TB, fast *Server, hs *http.Server) string {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveFast(t, fast, hs, inner)
	return inner.Addr().String()
}

// serveFast serves fast on inner, with hs behind it, until the test ends.
func serveFast(t testing.TB, fast *Server, hs *http.Server, inner net.Listener) {
	t.Helper()
	ln, err := fast.Listen(inner)
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		fast.Shutdown(ctx)
	})
}

func listenSlow(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h, ErrorLog: discardLog()}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// exchange sends raw on a new connection and returns the raw bytes of
// the responses to the requests whose methods are given, with the Date
// values masked.
func exchange(t testing.TB, addr, raw string, methods ...string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return dateRE.ReplaceAllString(testutil.Exchange(t, c, raw, methods...), "Date: <date>")
}

var dateRE = regexp.MustCompile(`Date: [^\r]*`)

func discardLog() *stdlog.Logger {
	return slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
}

// echo writes what a handler sees of the request, in a stable form.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "method=%s\nuri=%s\nurl=%s\npath=%q\nrawpath=%q\nquery=%q\nhost=%q\nproto=%s %d.%d\nclose=%v\nlength=%d\nbody=%v\n",
		r.Method, r.RequestURI, r.URL, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.Host,
		r.Proto, r.ProtoMajor, r.ProtoMinor, r.Close, r.ContentLength, r.Body != nil)
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	fmt.Fprintf(w, "remote=%s tls=%v\n", host, r.TLS != nil)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s=%q\n", k, r.Header[k])
	}
	body, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "read=%q\n", body)
})

// req builds a raw request from lines, joined with CRLF and ended with
// an empty line.
func req(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n\r\n" }

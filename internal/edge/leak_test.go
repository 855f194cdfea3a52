package edge

import (
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestNoGoroutineLeft: proxied exchanges that end normally, are cut or
// are tunnels leave nothing running once the edge, its apps and its
// clients are closed: no watchdog, tunnel copy or body reader. Not
// parallel: it counts the process's goroutines.
func TestNoGoroutineLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("exchanges", func(t *testing.T) {
		app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/upload":
				io.Copy(io.Discard, r.Body)
			case "/stall":
				w.WriteHeader(200)
				w.(http.Flusher).Flush()
				<-r.Context().Done()
				return
			}
			io.WriteString(w, "hello")
		}))
		h := startEdge(t, streamApp(app, "client_idle: 200ms, upstream_read_idle: 200ms, stream_idle: 200ms"))
		ws := startEdge(t, streamApp(newUpgradeEcho(t), "client_idle: 200ms, stream_idle: 200ms"))
		t.Run("requests", func(t *testing.T) { // returns once both clients are done
			both(t, func(t *testing.T, h2 bool) {
				c := h.client(h2)
				for _, path := range []string{"/", "/stall"} {
					resp, err := c.Get(httpsURL("shop.example.com", path))
					if err != nil {
						t.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				// An upload that stops: cut for client_idle.
				pr, pw := io.Pipe()
				go pw.Write([]byte("partial"))
				if resp, err := c.Post(httpsURL("shop.example.com", "/upload"), "application/octet-stream", pr); err == nil {
					resp.Body.Close()
				}
				pw.Close()
			})
		})
		// A tunnel, cut for stream_idle.
		conn, br, resp := wsHandshake(t, ws, "/ws")
		if resp.StatusCode != 101 {
			t.Fatalf("upgrade: %d", resp.StatusCode)
		}
		br.ReadByte() // until the cut
		conn.Close()
		for _, e := range []*harness{h, ws} {
			if err := e.stop(); err != nil {
				t.Fatal(err)
			}
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			stacks := string(buf[:runtime.Stack(buf, true)])
			t.Fatalf("%d goroutines left, %d before:\n%s", n, before, strings.TrimSpace(stacks))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

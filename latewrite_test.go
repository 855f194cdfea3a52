//go:build !race

// These tests write to a ResponseWriter after the handler returned, which
// is a data race by definition (the race detector flags plain net/http
// too), so they run only without -race. They guard against the middleware
// turning that app bug into a crash or a cross-request leak.

package forcehttps

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestLateWriteAfterReturn: a handler whose goroutine writes after
// ServeHTTP returned (a bug in the app, but a common one). Plain net/http
// tolerates it, and so must the middleware: no panic.
func TestLateWriteAfterReturn(t *testing.T) {
	for _, wrap := range []bool{false, true} {
		name := "net/http"
		if wrap {
			name = "forcehttps"
		}
		t.Run(name, func(t *testing.T) {
			m, err := New(Config{AllowAnyHost: true, DisableRedirect: true})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			panicked := make(chan any, 1)
			var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "first")
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() {
						if p := recover(); p != nil {
							select {
							case panicked <- p:
							default:
							}
						}
					}()
					time.Sleep(50 * time.Millisecond)
					w.Header().Set("X-Late", "1")
					io.WriteString(w, "late")
				}()
			})
			if wrap {
				h = m.Handler(h)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			io.ReadAll(resp.Body)
			resp.Body.Close()
			wg.Wait()
			select {
			case p := <-panicked:
				t.Errorf("late write panicked: %v", p)
			default:
			}
		})
	}
}

// TestLateWriteStaysInItsResponse: the late write of request A must never
// land in request B's response (as it would if B reused A's writer).
func TestLateWriteStaysInItsResponse(t *testing.T) {
	m, err := New(Config{AllowAnyHost: true, DisableRedirect: true})
	if err != nil {
		t.Fatal(err)
	}
	bIn := make(chan struct{})
	aDone := make(chan struct{})
	var aw http.ResponseWriter
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a":
			aw = w
			io.WriteString(w, "A")
			go func() {
				<-bIn
				aw.Header().Set("X-Leaked-From", "A")
				io.WriteString(aw, " secret-of-A")
				close(aDone)
			}()
		case "/b":
			close(bIn)
			<-aDone
			io.WriteString(w, "B")
		}
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := srv.Client()
	ra, err := c.Get(srv.URL + "/a")
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(ra.Body)
	ra.Body.Close()
	time.Sleep(20 * time.Millisecond) // let A's Serve put the writer back
	rb, err := c.Get(srv.URL + "/b")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rb.Body)
	rb.Body.Close()
	t.Logf("B got body %q, X-Leaked-From=%q", body, rb.Header.Get("X-Leaked-From"))
	if string(body) != "B" || rb.Header.Get("X-Leaked-From") != "" {
		t.Errorf("request A's late write reached request B's response: body %q", body)
	}
}

package edge

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestRequestIDs checks the batches of request IDs: every ID is new and
// valid, across batches, each in a slice of its own that ends at its
// element, and a valid client ID is kept.
func TestRequestIDs(t *testing.T) {
	t.Parallel()
	var ids requestIDs
	seen := map[string]bool{}
	var slices [][]string
	for i := range 3*idBatch + 5 {
		var client []string
		if i%7 == 3 {
			client = []string{"client-id-0123456789-" + strings.Repeat("x", i%5)}
		}
		v := ids.next(client)
		if len(v) != 1 || cap(v) != 1 {
			t.Fatalf("next = %q (cap %d), want one element", v, cap(v))
		}
		if client != nil {
			if v[0] != client[0] {
				t.Fatalf("next(%q) = %q, want the client's", client, v[0])
			}
			continue
		}
		if len(v[0]) != idLen || !validRequestID(v[0]) || strings.Trim(v[0], "0123456789abcdef") != "" {
			t.Fatalf("next = %q, want %d hex digits", v[0], idLen)
		}
		if seen[v[0]] {
			t.Fatalf("next = %q twice", v[0])
		}
		seen[v[0]] = true
		slices = append(slices, v)
	}
	// A handler that changes its header changes nothing of another's.
	slices[0][0] = "changed"
	_ = append(slices[1], "appended")
	for _, v := range slices[1:] {
		if !seen[v[0]] {
			t.Fatalf("an ID changed to %q", v[0])
		}
	}
}

// TestRequestIDsConcurrent serves redirects from many goroutines, each
// request with the pooled state of another, and checks that no two
// responses share an ID (run it with -race).
func TestRequestIDsConcurrent(t *testing.T) {
	t.Parallel()
	loadTestCert()
	c := mustParse(t, base+`
apps:
  - {name: shop, domains: [shop.example.com], upstream: "http://127.0.0.1:1"}
`)
	s, err := New(c, &testCerts{}, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	const workers, each = 4, 3 * idBatch
	ids := make(chan string, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				w := &discardWriter{h: http.Header{}}
				r := httptest.NewRequest("GET", "http://shop.example.com/", nil)
				s.serveHTTP(w, r)
				ids <- w.h.Get("X-Request-Id")
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if len(id) != idLen || seen[id] {
			t.Fatalf("X-Request-Id %q: empty or seen before", id)
		}
		seen[id] = true
	}
}

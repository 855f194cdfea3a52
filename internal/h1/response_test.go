package h1

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func TestStatusLines(t *testing.T) {
	t.Parallel()
	for minor := range 2 {
		for code := 100; code < 1000; code++ {
			if got, want := string(appendStatusLine(nil, minor, code)), string(appendStatusLineSlow(nil, minor, code)); got != want {
				t.Errorf("appendStatusLine(%d, %d) = %q, want %q", minor, code, got, want)
			}
		}
	}
	if got := string(appendStatusLine(nil, 1, 301)); got != "HTTP/1.1 301 Moved Permanently\r\n" {
		t.Errorf("appendStatusLine(1, 301) = %q", got)
	}
	if got := string(appendStatusLine(nil, 0, 599)); got != "HTTP/1.0 599 status code 599\r\n" {
		t.Errorf("appendStatusLine(0, 599) = %q", got)
	}
}

func TestSortFields(t *testing.T) {
	t.Parallel()
	for _, keys := range [][]string{
		nil,
		{"X-Request-Id", "Location", "Content-Length"},
		{"Content-Type", "Content-Length", "Cache-Control", "Connection", "C", ""},
		{"b", "a", "B", "A", "", "ab", "aa", "a"},
		strings.Fields("p o n m l k j i h g f e d c b a"), // more than the insertion sort takes
	} {
		var fields []headerField
		for i, k := range keys {
			fields = append(fields, headerField{k, []string{strings.Repeat("v", i)}})
		}
		sortFields(fields)
		want := slices.Clone(keys)
		slices.Sort(want)
		for i, f := range fields {
			if f.key != want[i] {
				t.Fatalf("sortFields(%q): key %d is %q, want %q", keys, i, f.key, want[i])
			}
			if j := len(f.values[0]); keys[j] != f.key {
				t.Fatalf("sortFields(%q): %q has the values of %q", keys, f.key, keys[j])
			}
		}
	}
}

// TestReceived checks that an Answer function learns when its request
// was read, and that other writers say they cannot tell.
func TestReceived(t *testing.T) {
	t.Parallel()
	before := time.Now()
	type result struct {
		t  time.Time
		ok bool
	}
	results := make(chan result, 1)
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, ok := Received(w)
		results <- result{t, ok}
	}), nil)
	c := dial(t, s.fast)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	res := <-results
	got, ok := res.t, res.ok
	if !ok || got.Before(before) || got.After(time.Now()) {
		t.Errorf("Received = %v, %v; want a time since %v", got, ok, before)
	}
	if _, ok := Received(httptest.NewRecorder()); ok {
		t.Error("Received(httptest.ResponseRecorder) reports a time")
	}
}

// TestScratchText checks that the strings cut from the blocks of heads
// keep their text while later heads are copied, in the same block or in
// the next one.
func TestScratchText(t *testing.T) {
	t.Parallel()
	sc := &scratch{}
	var got, want []string
	buf := make([]byte, 0, headsSize)
	for i := range 100 {
		buf = buf[:0]
		for j := range 1 + i*7%(headsSize*3/4) {
			buf = append(buf, byte('a'+(i+j)%26))
		}
		got = append(got, sc.text(buf))
		want = append(want, string(buf))
		clear(buf) // the read buffer is reused
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("head %d changed: %q, want %q", i, got[i], want[i])
		}
	}
}

// TestScratchTextRepeat: a head the same as the last one gets the last
// one's string, with no allocation; any other keeps its own text.
func TestScratchTextRepeat(t *testing.T) {
	sc := &scratch{}
	head := []byte("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n")
	first := sc.text(head)
	if n := testing.AllocsPerRun(100, func() {
		if s := sc.text(head); unsafe.StringData(s) != unsafe.StringData(first) {
			t.Fatal("a repeated head got a new string")
		}
	}); n != 0 {
		t.Errorf("a repeated head costs %v allocations, want 0", n)
	}
	other := append([]byte(nil), head...)
	other[4] = '?' // "GET /?..."
	if s := sc.text(other); s != string(other) || unsafe.StringData(s) == unsafe.StringData(first) {
		t.Fatalf("a different head got %q", s)
	}
	head[4] = 'x' // the read buffer is reused: what was returned must not change
	if first != "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n" {
		t.Fatalf("the first head's string changed: %q", first)
	}
	large := bytes.Repeat([]byte("x"), headsSize)
	if s, again := sc.text(large), sc.text(large); s != string(large) || unsafe.StringData(s) != unsafe.StringData(again) {
		t.Fatal("a repeated large head got a new string, or the wrong text")
	}
}

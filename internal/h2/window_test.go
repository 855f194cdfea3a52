package h2

import (
	"io"
	"net/http"
	"testing"

	"golang.org/x/net/http2"
)

// TestSmallWindows: DATA goes out as the client opens its window, a
// byte at a time.
func TestSmallWindows(t *testing.T) {
	h := start(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	})})
	for range 20 {
		_, fr := h.dial(t, false)
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		writeHeaders(t, fr, 1, true, get...)
		var got []byte
		for i := range 5 {
			fr.WriteWindowUpdate(1, 1)
			f := readUntil(t, fr, "DATA", func(f http2.Frame) bool { _, ok := f.(*http2.DataFrame); return ok })
			d := f.(*http2.DataFrame)
			got = append(got, d.Data()...)
			if d.StreamEnded() != (i == 4) {
				t.Fatalf("END_STREAM on DATA %d: %v", i, d.StreamEnded())
			}
		}
		if string(got) != "hello" {
			t.Fatalf("got %q", got)
		}
	}
}

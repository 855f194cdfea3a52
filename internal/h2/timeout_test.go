package h2

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestTimeouts: a connection that never sends its preface, one left
// idle, and one whose client stops reading all end, without a test
// clock: the timeouts are short and the test only waits for the end.
func TestTimeouts(t *testing.T) {
	t.Run("preface", func(t *testing.T) {
		h := start(t, &Server{Handler: blocking, ReadHeaderTimeout: 50 * time.Millisecond})
		c, _ := h.dial(t, true)
		if _, err := io.ReadAll(c); err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the server kept a connection without preface open")
			}
		}
	})
	t.Run("idle", func(t *testing.T) {
		h := start(t, &Server{Handler: blocking, IdleTimeout: 50 * time.Millisecond})
		_, fr := h.dial(t, false)
		writeHeaders(t, fr, 1, true, get...)
		expectGoAway(t, fr, http2.ErrCodeNo)
	})
	t.Run("write", func(t *testing.T) {
		failed := make(chan error, 1)
		h := start(t, &Server{WriteByteTimeout: 50 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			chunk := make([]byte, 64<<10)
			for {
				if _, err := w.Write(chunk); err != nil {
					failed <- err
					return
				}
			}
		})})
		_, fr := h.dial(t, false)
		// Windows as large as can be: only the socket holds the server back.
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1})
		fr.WriteWindowUpdate(0, 1<<31-1-65535)
		writeHeaders(t, fr, 1, true, get...)
		// The client reads nothing more.
		if err := <-failed; err == nil {
			t.Fatal("no error")
		}
	})
}

package h2

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestResponseController: what http.ResponseController finds on the
// writer.
func TestResponseController(t *testing.T) {
	h := start(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		var got []string
		if _, _, err := rc.Hijack(); !errors.Is(err, http.ErrNotSupported) {
			got = append(got, "hijack: "+err.Error())
		}
		if err := rc.EnableFullDuplex(); err != nil {
			got = append(got, "duplex: "+err.Error())
		}
		// A read deadline in the past: the body read fails at once.
		if err := rc.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
			got = append(got, "read deadline: "+err.Error())
		}
		if _, err := r.Body.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			got = append(got, "read after the deadline: "+errString(err))
		}
		rc.SetReadDeadline(time.Time{})
		if err := rc.SetWriteDeadline(time.Now().Add(time.Hour)); err != nil {
			got = append(got, "write deadline: "+err.Error())
		}
		io.WriteString(w, strings.Join(got, "; "))
	})})
	c := &http.Client{Transport: h.transport(t)}
	pr, pw := io.Pipe()
	defer pw.Close()
	resp, err := c.Post(h.url("/"), "text/plain", pr)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(b) != 0 {
		t.Fatal(string(b))
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestExpectContinue: 100 Continue goes out at the body's first read.
func TestExpectContinue(t *testing.T) {
	h := start(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Expect") != "" {
			t.Error("Expect left in the header")
		}
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})})
	_, fr := h.dial(t, false)
	writeHeaders(t, fr, 1, false, with(":method", "POST", "expect", "100-continue")[2:]...)
	f := readUntil(t, fr, "100 Continue", func(f http2.Frame) bool { return f.Header().StreamID == 1 })
	if hf, ok := f.(*http2.HeadersFrame); !ok || hf.StreamEnded() {
		t.Fatalf("first frame %v", f)
	}
	fr.WriteData(1, true, []byte("body"))
	if status, body := response(t, fr, 1); status != "200" || body != "body" {
		t.Fatalf("got %s %q", status, body)
	}
}

// TestBodyCloseEarly: a handler that answers without reading the whole
// body has the stream reset with NO_ERROR after its response.
func TestBodyCloseEarly(t *testing.T) {
	h := start(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body.Close()
		if _, err := r.Body.Read(make([]byte, 1)); err == nil {
			t.Error("read after Close succeeded")
		}
		io.WriteString(w, "early")
	})})
	_, fr := h.dial(t, false)
	writeHeaders(t, fr, 1, false, with(":method", "POST")[2:]...)
	fr.WriteData(1, false, []byte("some"))
	var body []byte
	var ended bool
	f := readUntil(t, fr, "RST_STREAM", func(f http2.Frame) bool {
		if d, ok := f.(*http2.DataFrame); ok {
			body = append(body, d.Data()...)
			ended = d.StreamEnded()
		}
		_, ok := f.(*http2.RSTStreamFrame)
		return ok
	})
	if r := f.(*http2.RSTStreamFrame); r.ErrCode != http2.ErrCodeNo || string(body) != "early" || !ended {
		t.Fatalf("RST %v after %q (ended %v)", r.ErrCode, body, ended)
	}
}

// TestContentLengthShort: a body that ends before its content-length
// fails at its end.
func TestContentLengthShort(t *testing.T) {
	h := start(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		io.WriteString(w, errString(err))
	})})
	_, fr := h.dial(t, false)
	writeHeaders(t, fr, 1, false, with(":method", "POST", "content-length", "10")[2:]...)
	fr.WriteData(1, true, []byte("short"))
	if _, body := response(t, fr, 1); !strings.Contains(body, "content-length of 10 but sent 5") {
		t.Fatalf("got %q", body)
	}
}

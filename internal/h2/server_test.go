package h2

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestBasicGET(t *testing.T) {
	h := start(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s %s tls=%v", r.Method, r.URL, r.Host, r.Proto, r.TLS != nil)
	})})
	c := &http.Client{Transport: h.transport(t)}
	for i := 0; i < 3; i++ {
		resp, err := c.Get(h.url("/a?b=c"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := "GET /a?b=c " + h.addr + " HTTP/2.0 tls=true"
		if string(b) != want || resp.ContentLength != int64(len(want)) || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || resp.Header.Get("Date") == "" {
			t.Fatalf("got %q %d %v", b, resp.ContentLength, resp.Header)
		}
	}
}

func TestBodies(t *testing.T) {
	h := start(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sum := sha256.New()
		n, err := io.Copy(sum, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("X-Sum", fmt.Sprintf("%x", sum.Sum(nil)))
		w.Header().Set("X-Len", fmt.Sprint(n))
		size := 0
		fmt.Sscan(r.URL.Query().Get("size"), &size)
		w.Write(bytes.Repeat([]byte("x"), size))
	})})
	c := &http.Client{Transport: h.transport(t)}
	for _, size := range []int{0, 1, 4095, 4096, 4097, 16384, 65535, 65536, 100000, 1 << 20, 3 << 20, 10 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			body := bytes.Repeat([]byte("y"), size)
			resp, err := c.Post(h.url(fmt.Sprintf("/?size=%d", size)), "application/octet-stream", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			want := sha256.Sum256(body)
			if resp.StatusCode != 200 || resp.Header.Get("X-Sum") != fmt.Sprintf("%x", want) || len(got) != size || strings.Trim(string(got), "x") != "" {
				t.Fatalf("status %d sum %s len %d", resp.StatusCode, resp.Header.Get("X-Len"), len(got))
			}
		})
	}
}

package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestServe(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(serve))
	t.Cleanup(srv.Close)
	for _, path := range []string{"/", "/health", "/a/b?c=d"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			resp, err := srv.Client().Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Length"), string(b)}
			want := []string{"200 OK", "text/plain; charset=utf-8", "23", "hello from the backend\n"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GET %s mismatch (-want +got):\n%s", path, diff)
			}
		})
	}
}

func TestRunRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"public address", []string{"-addr", "192.0.2.1:80"}},
		{"all interfaces", []string{"-addr", ":80"}},
		{"a name", []string{"-addr", "localhost:80"}},
		{"no port", []string{"-addr", "127.0.0.1"}},
		{"unknown flag", []string{"-bogus"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			if code := run(tt.args, &stderr); code != 2 {
				t.Errorf("run(%q) = %d, want 2; stderr: %s", tt.args, code, stderr.String())
			}
		})
	}
}

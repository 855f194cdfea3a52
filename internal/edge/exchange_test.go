package edge

import (
	"net/http"
	"testing"
)

func TestIsGRPC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ct   []string
		want bool
	}{
		{[]string{"application/grpc"}, true},
		{[]string{"application/grpc+proto"}, true},
		{[]string{"application/grpc;charset=utf-8"}, true},
		{[]string{"application/grpc-web"}, false}, // HTTP/1 framing of its own
		{[]string{"application/grpcx"}, false},
		{[]string{"application/json"}, false},
		{[]string{"application/grpc", "application/grpc"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		r := &http.Request{Header: http.Header{}}
		if tt.ct != nil {
			r.Header["Content-Type"] = tt.ct
		}
		if got := isGRPC(r); got != tt.want {
			t.Errorf("isGRPC(Content-Type %q) = %v, want %v", tt.ct, got, tt.want)
		}
	}
}

func TestGRPCEscape(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"502 Bad Gateway: the app is not answering.", "502 Bad Gateway: the app is not answering."},
		{"100%", "100%25"},
		{"a\nb", "a%0Ab"},
		{"é", "%C3%A9"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := grpcEscape(tt.in); got != tt.want {
			t.Errorf("grpcEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestUpstreamTransports checks which transport each kind of upstream
// gets: HTTP/1.1 for http and https, HTTP/2 without TLS for h2c, HTTP/2
// over TLS for https with http2.
func TestUpstreamTransports(t *testing.T) {
	t.Parallel()
	h := startEdge(t, `
apps:
  - {name: one, domains: [one.example.com], upstream: "http://127.0.0.1:1"}
  - {name: tls, domains: [tls.example.com], upstream: "https://127.0.0.1:2"}
  - {name: h2c, domains: [h2c.example.com], upstream: "h2c://127.0.0.1:3"}
  - {name: h2, domains: [h2.example.com], upstream: "https://127.0.0.1:4", http2: true}
`)
	sn := h.srv.snap.Load()
	for _, tt := range []struct {
		host, scheme string
		want         *http.Transport
	}{
		{"one.example.com", "http", sn.transport},
		{"tls.example.com", "https", sn.transport},
		{"h2c.example.com", "http", sn.h2c},
		{"h2.example.com", "https", sn.h2},
	} {
		a := sn.lookup(tt.host)
		if a.target.Scheme != tt.scheme {
			t.Errorf("%s: scheme %q, want %q", tt.host, a.target.Scheme, tt.scheme)
		}
		if tt.want == nil || a.transport != tt.want {
			t.Errorf("%s: not the expected transport", tt.host)
		}
	}
	if sn.transport.Protocols != nil || !sn.h2c.Protocols.UnencryptedHTTP2() || sn.h2c.Protocols.HTTP1() ||
		!sn.h2.Protocols.HTTP2() || sn.h2.Protocols.HTTP1() {
		t.Errorf("protocols: http %v, h2c %v, h2 %v", sn.transport.Protocols, sn.h2c.Protocols, sn.h2.Protocols)
	}
}

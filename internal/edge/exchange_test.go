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

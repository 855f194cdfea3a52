package edge

import (
	"io"
	"net/http"
	"testing"
)

// TestHTTP2ServerSetting: listen.http2_server picks who serves HTTP/2
// behind the HTTPS fast path, and both answer.
func TestHTTP2ServerSetting(t *testing.T) {
	app := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	for _, tc := range []struct {
		setting string
		builtin bool
	}{
		{"", true},
		{"builtin", true},
		{"net/http", false},
	} {
		t.Run("http2_server="+tc.setting, func(t *testing.T) {
			listen := `listen: {http: "127.0.0.1:0", https: "127.0.0.1:0"}`
			if tc.setting != "" {
				listen = `listen: {http: "127.0.0.1:0", https: "127.0.0.1:0", http2_server: "` + tc.setting + `"}`
			}
			h := startEdge(t, listen+"\n"+streamApp(app, "client_idle: 10s"))
			if got := h.srv.fast.https.HTTP2 != nil; got != tc.builtin {
				t.Fatalf("built-in HTTP/2 server: %v, want %v", got, tc.builtin)
			}
			resp, err := h.client(true).Get(httpsURL("shop.example.com", "/"))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != 2 || string(body) != "hello" {
				t.Fatalf("got %s %q", resp.Proto, body)
			}
		})
	}
}

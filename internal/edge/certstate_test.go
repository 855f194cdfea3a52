package edge

import (
	"net/http"
	"testing"
)

// TestRedirectWaitsForCertificate: a host of an app forcing HTTPS whose
// certificate is not ready is served over plain HTTP (proxied, or a static
// answer) without HSTS, with the reason in the access log; once ready, it
// is redirected, with no reload.
func TestRedirectWaitsForCertificate(t *testing.T) {
	t.Parallel()
	h := startEdge(t, appsConfig(t))
	c := h.client(false)
	h.certs.notReady.Store("web.example.com", true)
	h.certs.notReady.Store("shop.example.com", true)

	tests := []struct {
		name, url  string
		wantStatus int
		backend    string // the app that must have answered, for proxied requests
	}{
		{"proxied", httpURL("web.example.com", "/cart?id=7"), http.StatusOK, "web"},
		{"static answer", httpURL("shop.example.com", "/gone"), http.StatusGone, ""},
		{"post", httpURL("web.example.com", "/form"), http.StatusOK, "web"},
	}
	for _, tt := range tests {
		method := http.MethodGet
		if tt.name == "post" {
			method = http.MethodPost
		}
		resp, body := h.do(c, method, tt.url, nil, nil)
		if resp.StatusCode != tt.wantStatus {
			t.Errorf("%s: %s %s = %d, want %d (served while the certificate is pending)", tt.name, method, tt.url, resp.StatusCode, tt.wantStatus)
		}
		if loc := resp.Header.Get("Location"); loc != "" {
			t.Errorf("%s: Location %q while the certificate is pending", tt.name, loc)
		}
		if v := resp.Header.Get("Strict-Transport-Security"); v != "" {
			t.Errorf("%s: Strict-Transport-Security %q over plain HTTP", tt.name, v)
		}
		if tt.backend != "" {
			if s := decodeSeen(t, body); s.Backend != tt.backend || s.Header.Get("X-Forwarded-Proto") != "http" {
				t.Errorf("%s: backend %q saw X-Forwarded-Proto %q, want %s over http", tt.name, s.Backend, s.Header.Get("X-Forwarded-Proto"), tt.backend)
			}
		}
	}
	lines := h.access.waitLines(t, len(tests))
	for _, l := range lines {
		if l["reason"] != reasonCertPending {
			t.Errorf("access log reason %v, want %q: %v", l["reason"], reasonCertPending, l)
		}
	}

	// Other hosts are redirected as usual.
	if resp, _ := h.get(c, httpURL("custom.example.com", "/")); resp.StatusCode != http.StatusPermanentRedirect {
		t.Errorf("custom.example.com: %d, want 308", resp.StatusCode)
	}
	// Issued: redirected from the next request on.
	h.certs.notReady.Delete("web.example.com")
	resp, _ := h.get(c, httpURL("web.example.com", "/cart?id=7"))
	if want := httpsURL("web.example.com:"+h.httpsPort(), "/cart?id=7"); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		t.Errorf("once ready: %d Location %q, want 301 to https", resp.StatusCode, resp.Header.Get("Location"))
	}
}

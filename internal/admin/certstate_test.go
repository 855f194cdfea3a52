package admin

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/forcehttps/forcehttps/internal/edge"
)

// TestCertificateStates: the API and the dashboard show each domain's
// ACME state, and say when an app forcing HTTPS does not redirect a
// domain yet.
func TestCertificateStates(t *testing.T) {
	t.Parallel()
	next := time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)
	states := map[string]edge.CertificateState{
		"legacy.good.test": {State: "pending", Ready: false},
		"good.test":        {State: "issued", Ready: true},
		"bad.test":         {State: "failed", Error: "urn:ietf:params:acme:error:unauthorized: 404", NextTry: next, Ready: false},
		"*.wild.test":      {Ready: true},
	}
	e := newEnv(t)
	e.options = func(o *Options) {
		o.CertificateState = func(d string) edge.CertificateState { return states[d] }
	}
	in := e.start(t, newClock())

	strip := func(cs []CertificateView) []CertificateView {
		for i := range cs {
			cs[i].Names, cs[i].NotAfter, cs[i].Source, cs[i].Missing = nil, nil, "", false
		}
		return cs
	}
	tests := []struct {
		app  string
		want []CertificateView
	}{
		// legacy forces HTTPS: its pending domain waits.
		{"legacy", []CertificateView{{Domain: "legacy.good.test", State: "pending", Redirect: RedirectWaiting}}},
		{"good", []CertificateView{{Domain: "good.test", State: "issued"}}},
		// bad does not force HTTPS: nothing waits.
		{"bad", []CertificateView{
			{Domain: "bad.test", State: "failed", Error: "urn:ietf:params:acme:error:unauthorized: 404", NextTry: &next},
			{Domain: "*.wild.test"},
		}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, strip(in.app(tt.app).Certificates)); diff != "" {
			t.Errorf("GET /api/apps/%s certificates mismatch (-want +got):\n%s", tt.app, diff)
		}
	}
	status, body := in.api("GET", "/api/apps", "")
	if status != 200 || !strings.Contains(string(mustJSON(body)), `"redirect":"waiting for certificate"`) {
		t.Errorf("GET /api/apps = %d %v, want legacy's domain waiting for its certificate", status, body)
	}

	base := "http://" + in.addrs.Admin
	c := browser(t)
	if resp, _ := post(t, c, base+"/login", url.Values{"token": {e.token}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login = %d", resp.StatusCode)
	}
	_, page := get(t, c, base+"/")
	for _, want := range []string{"certificate pending", "not redirected yet: waiting for certificate", "certificate order failed: urn:ietf:params:acme:error:unauthorized: 404 (next try 2030-01-02 03:04 UTC)"} {
		if !strings.Contains(page, want) {
			t.Errorf("the dashboard lacks %q", want)
		}
	}
}

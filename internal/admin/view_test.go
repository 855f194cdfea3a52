package admin

import (
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/edge"
)

func TestCertIndexLookup(t *testing.T) {
	t.Parallel()
	day := func(n int) time.Time { return time.Date(2027, 1, n, 0, 0, 0, 0, time.UTC) }
	certs := []edge.CertificateInfo{
		{Names: []string{"shop.example.com", "www.shop.example.com"}, NotAfter: day(10), Source: "file"},
		{Names: []string{"*.example.com"}, NotAfter: day(20), Source: "file"},
		{Names: []string{"Blog.Example.ORG"}, NotAfter: day(5), Source: "acme"},
		{Names: []string{"blog.example.org"}, NotAfter: day(7), Source: "acme"},
		{Names: []string{"tie.example.net"}, NotAfter: day(3), Source: "first"},
		{Names: []string{"*.example.net"}, NotAfter: day(3), Source: "second"},
		{Names: []string{"old.example.edu"}, NotAfter: day(30), Source: "exact"},
		{Names: []string{"*.example.edu"}, NotAfter: day(2), Source: "wildcard"},
	}
	ix := newCertIndex(certs)
	tests := []struct {
		domain string
		want   string // Source of the certificate; "" for none
		expiry int
	}{
		{"www.shop.example.com", "file", 10}, // by its name: *.example.com covers one label only
		{"a.b.example.com", "", 0},
		{"shop.example.com", "file", 20}, // the wildcard expires later than the exact name
		{"api.example.com", "file", 20},  // the wildcard
		{"example.com", "", 0},           // not covered by *.example.com
		{"BLOG.example.org.", "acme", 7}, // case and final dot; the later of two
		{"tie.example.net", "first", 3},  // equal expiry: the first in the list
		{"old.example.edu", "exact", 30}, // the exact name expires later
		{"x.example.edu", "wildcard", 2}, // only the wildcard
		{"*.example.com", "file", 20},    // a wildcard domain, by its own name
		{"nowhere.test", "", 0},
	}
	for _, tt := range tests {
		c, ok := ix.lookup(tt.domain)
		if tt.want == "" {
			if ok {
				t.Errorf("lookup(%q) = %+v, want none", tt.domain, c)
			}
			continue
		}
		if !ok || c.Source != tt.want || !c.NotAfter.Equal(day(tt.expiry)) {
			t.Errorf("lookup(%q) = %+v, %v; want source %q, expiry day %d", tt.domain, c, ok, tt.want, tt.expiry)
		}
	}

	views := ix.views([]string{"api.example.com", "nowhere.test"})
	if len(views) != 2 || views[0].Missing || views[0].NotAfter == nil || !views[1].Missing {
		t.Errorf("views = %+v, want api.example.com covered and nowhere.test missing", views)
	}
}

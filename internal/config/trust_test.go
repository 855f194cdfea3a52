package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const trustBase = `
tls: {self_signed: [localhost]}
%s
apps:
  - name: shop
    domains: [shop.example.com]
    upstream: http://127.0.0.1:9000
`

// TestTrustedProxiesEveryone checks that prefix sets amounting to "every
// client" are refused, not only a literal /0, and that IPv4-mapped
// prefixes, which would match no peer, are refused too.
func TestTrustedProxiesEveryone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		list string
		ok   bool
	}{
		{`[0.0.0.0/0]`, false},
		{`["::/0"]`, false},
		{`[0.0.0.0/1, 128.0.0.0/1]`, false},
		{`[0.0.0.0/2, 64.0.0.0/2, 128.0.0.0/1]`, false},
		{`["::/1", "8000::/1"]`, false},
		{`["::ffff:0:0/96"]`, false},
		{`["::ffff:10.0.0.0/104"]`, false},
		{`[0.0.0.0/1]`, true},
		{`[10.0.0.0/8, 192.168.0.0/16, "fc00::/7"]`, true},
		{`[0.0.0.0/2, 64.0.0.0/2, 128.0.0.0/2]`, true},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(fmt.Sprintf(trustBase, "trusted_proxies: "+tt.list)), YAML)
		if tt.ok != (err == nil) {
			t.Errorf("trusted_proxies %s: error %v, want ok=%v", tt.list, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrCIDR) {
			t.Errorf("trusted_proxies %s: error %v is not ErrCIDR", tt.list, err)
		}
	}
}

// TestHugeListFailsFast checks that a list longer than the node budget is
// refused before it is allocated.
func TestHugeListFailsFast(t *testing.T) {
	t.Parallel()
	many := "tls: {self_signed: [localhost]}\napps: [" + strings.Repeat("{},", maxNodes+10) + "{}]\n"
	start := time.Now()
	_, err := Parse([]byte(many), YAML)
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("Parse(%d apps) error = %v, want too large", maxNodes+10, err)
	}
	t.Logf("refused in %v", time.Since(start))
}

// TestOverBudgetReportsOnlyTheLimit: past the node budget the decoded
// value is a fragment; its validation errors would hide the one that
// matters.
func TestOverBudgetReportsOnlyTheLimit(t *testing.T) {
	t.Parallel()
	app := `&a {name: a, domains: [a.example.com], upstream: "http://127.0.0.1:1"}`
	doc := "tls: {self_signed: [localhost]}\napps: [" + app + strings.Repeat(", *a", maxNodes/6+1) + "]\n"
	_, err := Parse([]byte(doc), YAML)
	var list interface{ Unwrap() []error }
	if !errors.As(err, &list) || len(list.Unwrap()) != 1 || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("Parse(over the node budget) error = %.300v, want only the size error", err)
	}
}

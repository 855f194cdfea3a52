package admin_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/forcehttps/forcehttps/internal/admin"
	"github.com/forcehttps/forcehttps/internal/config"
)

// The state file of an app whose Force HTTPS was turned off through the
// API while browsers may still hold its HSTS policy: until the drain
// ends, the edge sends max-age=0; afterwards, nothing.
func ExampleAdmin_Overlay() {
	dir, _ := os.MkdirTemp("", "admin-example")
	defer os.RemoveAll(dir)
	state := filepath.Join(dir, "edge.yaml.state.json")
	os.WriteFile(state, []byte(`{"version": 1, "apps": {"shop": {
		"force_https": false,
		"disabled_at": "2026-03-01T00:00:00Z",
		"drain_until": "2026-03-31T00:00:00Z",
		"max_age_sent": 2592000}}}`), 0o600)

	cfg, _ := config.Parse([]byte(`
listen: {http: "127.0.0.1:0", https: "127.0.0.1:0"}
tls: {self_signed: [shop.example]}
apps: [{name: shop, domains: [shop.example], upstream: "http://127.0.0.1:9000"}]
`), config.YAML)

	for _, day := range []int{15, 31} {
		now := time.Date(2026, 3, day, 0, 0, 0, 0, time.UTC)
		adm, err := admin.New(admin.Options{StateFile: state, Token: "t", Now: func() time.Time { return now }})
		if err != nil {
			fmt.Println(err)
			return
		}
		app := adm.Overlay(cfg).Apps[0]
		p := cfg.Policy(&app, 443)
		fmt.Printf("March %d: force_https=%v revoke=%v no_hsts=%v\n", day, app.ForceHTTPS, p.HSTSRevoke, p.DisableHSTS)
	}
	// Output:
	// March 15: force_https=false revoke=true no_hsts=false
	// March 31: force_https=false revoke=false no_hsts=true
}

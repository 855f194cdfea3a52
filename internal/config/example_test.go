package config_test

import (
	"fmt"

	"github.com/forcehttps/forcehttps/internal/config"
)

func ExampleParse() {
	_, err := config.Parse([]byte(`
tls: {self_signed: [localhost]}
trusted_proxies: [10.0.0.0/33]
apps:
  - name: shop
    domains: [shop.example.com]
    upstream: http://127.0.0.1:9000
  - name: web
    domains: [Shop.Example.com]
    upstream: ftp://127.0.0.1
    hsts: {preload: true}
`), config.YAML)
	fmt.Println(err)
	// Output:
	// invalid configuration (4 errors):
	//   trusted_proxies[0]: "10.0.0.0/33" is not a CIDR prefix or an IP address (line 3)
	//   apps[1].domains[0]: "Shop.Example.com" is also a domain of app "shop" (apps[0]) (line 9)
	//   apps[1].upstream: "ftp://127.0.0.1": scheme must be http, https or h2c (line 10)
	//   apps[1].hsts.preload: preload needs max_age ≥ 31536000 and include_subdomains (line 11)
}

func ExampleDefault() {
	c := config.Default()
	fmt.Println(c.Listen.HTTP, c.Listen.HTTPS, c.Apps[0].Name, c.Apps[0].Upstream, c.Apps[0].ForceHTTPS)
	// Output:
	// 127.0.0.1:8080 127.0.0.1:8443 inspector builtin:inspector true
}

func ExampleParse_respond() {
	c, err := config.Parse([]byte(`
tls: {self_signed: [localhost]}
apps:
  - name: shop
    domains: [shop.example.com]
    upstream: http://127.0.0.1:9000
    respond:
      - path: /health
        body: "ok\n"
      - path: /robots.txt
        body: |
          User-agent: *
          Disallow: /cart/
      - path: /favicon.ico
        status: 204
`), config.YAML)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range c.Apps[0].Respond {
		fmt.Printf("%s %d %q %q\n", r.Path, r.Status, r.ContentType, r.Body)
	}

	_, err = config.Parse([]byte(`
tls: {self_signed: [localhost]}
apps:
  - name: shop
    domains: [shop.example.com]
    upstream: http://127.0.0.1:9000
    respond:
      - {path: /health, status: 100}
      - {path: "/health?full=1", body: ok}
      - {path: /.well-known/acme-challenge/x}
`), config.YAML)
	fmt.Println(err)
	// Output:
	// /health 200 "text/plain; charset=utf-8" "ok\n"
	// /robots.txt 200 "text/plain; charset=utf-8" "User-agent: *\nDisallow: /cart/\n"
	// /favicon.ico 204 "text/plain; charset=utf-8" ""
	// invalid configuration (3 errors):
	//   apps[0].respond[0].status: 100 is not a final status: want 200 to 599 (line 8)
	//   apps[0].respond[1].path: "/health?full=1": "?" is not allowed: the path is compared with the decoded request path (line 9)
	//   apps[0].respond[2].path: "/.well-known/acme-challenge/x": the certificate manager answers /.well-known/acme-challenge/ and the paths under it (line 10)
}

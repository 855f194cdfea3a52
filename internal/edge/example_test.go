package edge

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/forcehttps/forcehttps/internal/config"
)

// Example runs an edge in front of one app and shows Force HTTPS at work:
// plain HTTP is redirected, HTTPS is proxied with HSTS.
func Example() {
	loadTestCert() // the test certificate, trusted by newClient
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello over %s", r.Header.Get("X-Forwarded-Proto"))
	}))
	defer app.Close()

	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: {http: "127.0.0.1:0", https: "127.0.0.1:0", https_public_port: 443}
tls: {self_signed: [shop.example.com]}
apps:
  - name: shop
    domains: [shop.example.com]
    upstream: %s
access_log: {output: "off"}
`, app.URL)), config.YAML)
	if err != nil {
		fmt.Println(err)
		return
	}
	// A real program passes a certificate manager (package certs).
	srv, err := New(cfg, &testCerts{}, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := srv.Listen(); err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx) }()

	client := newClient(srv.Addrs(), true) // dials the edge for any host name
	for _, url := range []string{"http://shop.example.com/cart?id=7", "https://shop.example.com/cart?id=7"} {
		resp, err := client.Get(url)
		if err != nil {
			fmt.Println(err)
			break
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d Location=%q HSTS=%q body=%q\n", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Strict-Transport-Security"), body)
	}
	client.CloseIdleConnections()
	stop()
	fmt.Println(<-done)
	// Output:
	// 301 Location="https://shop.example.com/cart?id=7" HSTS="" body=""
	// 200 Location="" HSTS="max-age=31536000" body="hello over https"
	// <nil>
}

// ExampleServer_ApplyApp adds a domain to a running edge's app, without
// rebuilding the other apps, then removes the app.
func ExampleServer_ApplyApp() {
	cfg, err := config.Parse([]byte(`
listen: {http: "127.0.0.1:0", https: "127.0.0.1:0", https_public_port: 443}
tls: {self_signed: ["*.example.com"]}
apps:
  - {name: shop, domains: [shop.example.com], upstream: "http://127.0.0.1:9"}
  - {name: blog, domains: [blog.example.com], upstream: "http://127.0.0.1:9"}
access_log: {output: "off"}
`), config.YAML)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := New(cfg, &testCerts{}, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := srv.Listen(); err != nil {
		fmt.Println(err)
		return
	}
	serveCtx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(serveCtx) }()
	defer func() { stop(); <-done }()
	client := newClient(srv.Addrs(), false)
	defer client.CloseIdleConnections()
	get := func(url string) {
		resp, err := client.Get(url)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(url, resp.StatusCode, resp.Header.Get("Location"))
	}

	ctx := context.Background()
	shop := cfg.Apps[0] // a copy: what ApplyApp gets must not change afterwards
	shop.Domains = []string{"shop.example.com", "www.shop.example.com"}
	if err := srv.ApplyApp(ctx, "shop", &shop); err != nil {
		fmt.Println(err)
	}
	get("http://www.shop.example.com/")
	// A domain another app serves is refused, and nothing changes.
	taken := cfg.Apps[0]
	taken.Domains = []string{"blog.example.com"}
	fmt.Println(srv.ApplyApp(ctx, "shop", &taken))
	if err := srv.ApplyApp(ctx, "blog", nil); err != nil {
		fmt.Println(err)
	}
	get("http://blog.example.com/")
	// Output:
	// http://www.shop.example.com/ 301 https://www.shop.example.com/
	// edge: app "shop": invalid configuration: domains[0]: "blog.example.com" is also a domain of app "blog"
	// http://blog.example.com/ 404
}

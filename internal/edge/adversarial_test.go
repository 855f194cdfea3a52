package edge

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rawRoundTrip sends raw bytes on conn and returns everything read until
// the server closes (requests carry Connection: close).
func rawRoundTrip(t *testing.T, conn net.Conn, req string) string {
	t.Helper()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(conn)
	return string(b)
}

func bodyOf(raw string) string {
	_, b, _ := strings.Cut(raw, "\r\n\r\n")
	return b
}

// TestAdversarialHostUserinfoReachesApp: a Host whose "port" holds
// "@evil.com" must never reach the app as Host or X-Forwarded-Host, which
// any URL parser would read as host evil.com.
func TestAdversarialHostUserinfoReachesApp(t *testing.T) {
	backend := echoBackend(t, "shop")
	h := startEdge(t, fmt.Sprintf(`
apps:
  - name: shop
    domains: [shop.example.com]
    upstream: %s
    exempt_paths: [/healthz]
`, backend.URL))
	evilHosts := []string{"shop.example.com:@evil.com", "shop.example.com:443@evil.com", "shop.example.com:x@evil.com:443"}
	for _, host := range evilHosts {
		t.Run("https/"+host, func(t *testing.T) {
			conn, err := tls.Dial("tcp", h.addrs.HTTPS, &tls.Config{RootCAs: testRoot, ServerName: "shop.example.com", NextProtos: []string{"http/1.1"}})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			raw := rawRoundTrip(t, conn, "GET /reset HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
			checkNoEvil(t, raw)
		})
		t.Run("http-exempt/"+host, func(t *testing.T) {
			conn, err := net.Dial("tcp", h.addrs.HTTP)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			raw := rawRoundTrip(t, conn, "GET /healthz HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
			checkNoEvil(t, raw)
		})
	}
}

func checkNoEvil(t *testing.T, raw string) {
	t.Helper()
	status, _, _ := strings.Cut(raw, "\r\n")
	if !strings.Contains(status, " 200 ") {
		t.Logf("edge answered %q (refused: fine)", status)
		return
	}
	var s seen
	if err := json.Unmarshal([]byte(bodyOf(raw)), &s); err != nil {
		t.Fatalf("backend answer %q: %v", bodyOf(raw), err)
	}
	for _, v := range []string{s.Host, s.Header.Get("X-Forwarded-Host")} {
		u, err := url.Parse("https://" + v + "/")
		if err == nil && u.Hostname() != "shop.example.com" {
			t.Errorf("the app got Host/X-Forwarded-Host %q: an app building https://<host>/ links sends users to %q", v, u.Hostname())
		}
	}
}

// upgradeBackend answers an Upgrade with 101 carrying HSTS, and sends a
// 103 Early Hints carrying HSTS before any other answer.
func upgradeBackend(t *testing.T) string {
	return newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nStrict-Transport-Security: max-age=31536000\r\n\r\n")
			brw.Flush()
			return
		}
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		io.WriteString(w, "ok")
	}))
}

// TestAdversarialHSTSOnPlainHTTP1xx: HSTS must never go out on port 80, not
// even in a 101 or 103.
func TestAdversarialHSTSOnPlainHTTP1xx(t *testing.T) {
	h := startEdge(t, fmt.Sprintf(`
apps:
  - name: shop
    domains: [shop.example.com]
    upstream: %s
    exempt_paths: [/healthz]
  - name: web
    domains: [web.example.com]
    upstream: %s
    force_https: false
`, upgradeBackend(t), upgradeBackend(t)))
	cases := []struct{ name, req string }{
		{"101 exempt path", "GET /healthz HTTP/1.1\r\nHost: shop.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"},
		{"101 force_https off", "GET / HTTP/1.1\r\nHost: web.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"},
		{"103 exempt path", "GET /healthz HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n\r\n"},
		{"103 force_https off", "GET / HTTP/1.1\r\nHost: web.example.com\r\nConnection: close\r\n\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", h.addrs.HTTP)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(conn, tc.req)
			br := bufio.NewReader(conn)
			var head strings.Builder
			for {
				line, err := br.ReadString('\n')
				head.WriteString(line)
				if err != nil || (line == "\r\n" && !strings.HasPrefix(head.String(), "HTTP/1.1 103")) {
					break
				}
				if line == "\r\n" {
					head.WriteString("----\r\n")
					// read the next response head too
					for {
						l2, err := br.ReadString('\n')
						head.WriteString(l2)
						if err != nil || l2 == "\r\n" {
							break
						}
					}
					break
				}
			}
			got := head.String()
			t.Logf("response heads on port 80:\n%s", got)
			if strings.Contains(strings.ToLower(got), "strict-transport-security") {
				t.Errorf("Strict-Transport-Security sent over plain HTTP")
			}
			if strings.Contains(got, "----") {
				_, final, _ := strings.Cut(got, "----")
				if !strings.Contains(final, "X-Request-Id") {
					t.Errorf("final response after a 1xx lost X-Request-Id")
				}
			}
		})
	}
}

// TestAdversarialTrustedPeerContradictingSchemeHeaders: behind a trusted
// proxy that passes unknown client headers through (most L7 load
// balancers do), the app must not see the client's other scheme headers
// (X-Forwarded-Ssl, X_Forwarded_Proto, Front-End-Https...) contradict the
// edge's X-Forwarded-Proto: http on a plain-HTTP request.
func TestAdversarialTrustedPeerContradictingSchemeHeaders(t *testing.T) {
	backend := echoBackend(t, "web")
	h := startEdge(t, fmt.Sprintf(`
trusted_proxies: [127.0.0.1]
apps:
  - name: web
    domains: [web.example.com]
    upstream: %s
    force_https: false
`, backend.URL))
	conn, err := net.Dial("tcp", h.addrs.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// What the trusted LB forwards: its own XFP/XFF, plus whatever the
	// client sent that it does not manage.
	raw := rawRoundTrip(t, conn, "GET / HTTP/1.1\r\nHost: web.example.com\r\n"+
		"X-Forwarded-Proto: http\r\nX-Forwarded-For: 203.0.113.7\r\n"+
		"X-Forwarded-Ssl: on\r\nX_Forwarded_Proto: https\r\nFront-End-Https: on\r\nX-Url-Scheme: https\r\nX-Forwarded-Scheme: https\r\n"+
		"Connection: close\r\n\r\n")
	var s seen
	if err := json.Unmarshal([]byte(bodyOf(raw)), &s); err != nil {
		t.Fatalf("backend answer %q: %v", raw, err)
	}
	if got := s.Header.Get("X-Forwarded-Proto"); got != "http" {
		t.Fatalf("X-Forwarded-Proto = %q, want http", got)
	}
	for k, v := range s.Header {
		lk := strings.ToLower(k)
		if strings.Contains(strings.Join(v, ","), "https") || (lk == "x-forwarded-ssl" || lk == "front-end-https") && strings.EqualFold(v[0], "on") {
			t.Errorf("the app got %s: %q on a request the edge decided was plain http (X-Forwarded-Proto: http)", k, v)
		}
	}
}

// TestAdversarialUntrustedStrip: client forwarding headers in odd spellings,
// over HTTP/1.1 (plain, force_https off) and HTTP/2; the app must see
// only the edge's values.
func TestAdversarialUntrustedStrip(t *testing.T) {
	backend := echoBackend(t, "web")
	h := startEdge(t, fmt.Sprintf(`
apps:
  - name: web
    domains: [web.example.com]
    upstream: %s
    force_https: false
`, backend.URL))
	lies := http.Header{
		"X-Forwarded-Proto": {"https"}, "x_forwarded_proto": {"https"}, "X.Forwarded.Proto": {"https"},
		"Forwarded": {"for=6.6.6.6;proto=https"}, "X-Real-Ip": {"6.6.6.6"}, "X_real_ip": {"6.6.6.6"},
		"X-Forwarded-For": {"6.6.6.6"}, "X-Forwarded-Host": {"evil.com"}, "X-Forwarded-Port": {"6666"},
		"X-Request-Start": {"t=6"}, "Cf-Connecting-Ip": {"6.6.6.6"}, "True-Client-Ip": {"6.6.6.6"},
		"X-Forwarded-Ssl": {"on"}, "Front-End-Https": {"on"},
		"X-Request-Id": {"evil\r\nX-Injected: 1"}, "X_request_id": {"6666666666666666666666"},
	}
	check := func(t *testing.T, s seen) {
		for k, v := range s.Header {
			j := strings.Join(v, ",")
			if strings.Contains(j, "6.6.6.6") || strings.Contains(j, "evil") || strings.Contains(j, "6666") || (k != "X-Forwarded-Proto" && strings.Contains(j, "https")) || j == "on" || j == "t=6" {
				t.Errorf("app saw client-controlled %s: %q", k, v)
			}
		}
	}
	t.Run("http1 raw with Connection list", func(t *testing.T) {
		conn, err := net.Dial("tcp", h.addrs.HTTP)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var b strings.Builder
		b.WriteString("GET / HTTP/1.1\r\nHost: web.example.com\r\nConnection: close, X-Forwarded-Proto, X-Real-Ip, X-Request-Id\r\n")
		for k, v := range lies {
			if strings.ContainsAny(v[0], "\r\n") {
				continue
			}
			b.WriteString(k + ": " + v[0] + "\r\n")
		}
		b.WriteString("\r\n")
		raw := rawRoundTrip(t, conn, b.String())
		var s seen
		if err := json.Unmarshal([]byte(bodyOf(raw)), &s); err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if s.Header.Get("X-Forwarded-Proto") != "http" || s.Header.Get("X-Real-Ip") != "127.0.0.1" {
			t.Errorf("edge headers lost: %v", s.Header)
		}
		check(t, s)
	})
	t.Run("http2", func(t *testing.T) {
		hdr := http.Header{}
		for k, v := range lies {
			if !strings.ContainsAny(v[0], "\r\n") {
				hdr[strings.ToLower(k)] = v
			}
		}
		resp, body := h.do(h.client(true), "GET", httpsURL("web.example.com", "/"), hdr, nil)
		if resp.ProtoMajor != 2 {
			t.Fatalf("proto %s", resp.Proto)
		}
		s := decodeSeen(t, body)
		if s.Header.Get("X-Forwarded-Proto") != "https" {
			t.Errorf("XFP = %q", s.Header.Get("X-Forwarded-Proto"))
		}
		for k, v := range s.Header {
			if k == "X-Forwarded-Proto" {
				continue
			}
			j := strings.Join(v, ",")
			if strings.Contains(j, "6.6.6.6") || strings.Contains(j, "evil") || strings.Contains(j, "6666") || j == "on" || j == "t=6" || j == "https" {
				t.Errorf("app saw client-controlled %s: %q", k, v)
			}
		}
	})
}

// TestAdversarialUnvalidatedHostForwarded: over HTTPS, a Host that is not
// a valid host[:port] (routing alone would cut it at the first ':') must
// be refused, never forwarded to the app as Host or X-Forwarded-Host.
func TestAdversarialUnvalidatedHostForwarded(t *testing.T) {
	backend := echoBackend(t, "shop")
	h := startEdge(t, fmt.Sprintf("apps:\n  - {name: shop, domains: [shop.example.com], upstream: %s}\n", backend.URL))
	for _, host := range []string{"shop.example.com:evil", "shop.example.com:%2F%2Fevil.com", "[shop.example.com]", "shop.example.com:99999", "shop.example.com:1:2"} {
		t.Run(host, func(t *testing.T) {
			conn, err := tls.Dial("tcp", h.addrs.HTTPS, &tls.Config{RootCAs: testRoot, ServerName: "shop.example.com", NextProtos: []string{"http/1.1"}})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			raw := rawRoundTrip(t, conn, "GET / HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
			status, _, _ := strings.Cut(raw, "\r\n")
			if !strings.Contains(status, " 200 ") {
				t.Logf("refused: %s", status)
				return
			}
			var s seen
			json.Unmarshal([]byte(bodyOf(raw)), &s)
			if s.Host != "shop.example.com" && !strings.HasPrefix(s.Host, "shop.example.com:") || strings.ContainsAny(strings.TrimPrefix(s.Host, "shop.example.com:"), "%[]:abcdefghijklmnopqrstuvwxyz") || len(s.Host) > len("shop.example.com:65535") {
				t.Errorf("app got Host %q, X-Forwarded-Host %q (not a valid host[:port] of the app)", s.Host, s.Header.Get("X-Forwarded-Host"))
			}
		})
	}
}

// TestAdversarialEdgeRedirectTargets: raw request-targets and Host variants
// on port 80 never yield a Location off the app's host.
func TestAdversarialEdgeRedirectTargets(t *testing.T) {
	backend := echoBackend(t, "shop")
	h := startEdge(t, fmt.Sprintf("apps:\n  - {name: shop, domains: [shop.example.com, \"*.shop.example.com\"], upstream: %s}\n", backend.URL))
	hosts := []string{"shop.example.com", "SHOP.example.com.", "a.shop.example.com", "a.b.shop.example.com", "evil.com", "shop.example.com.evil.com", "[::1]", "127.0.0.1", "shop.example.com:80"}
	targets := []string{"/", "//evil.com/", "/\\evil.com", "/%2f%2fevil.com", "/..;/x", "*", "http://evil.com/", "http://shop.example.com//evil.com", "/a?b#c", "/@evil.com"}
	for _, meth := range []string{"GET", "POST", "OPTIONS", "CONNECT"} {
		for _, host := range hosts {
			for _, tg := range targets {
				conn, err := net.Dial("tcp", h.addrs.HTTP)
				if err != nil {
					t.Fatal(err)
				}
				raw := rawRoundTrip(t, conn, meth+" "+tg+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
				conn.Close()
				resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), nil)
				if err != nil {
					continue
				}
				if hs := resp.Header.Get("Strict-Transport-Security"); hs != "" {
					t.Errorf("%s %s Host %s: HSTS on port 80", meth, tg, host)
				}
				loc := resp.Header.Get("Location")
				if loc == "" {
					continue
				}
				u, err := url.Parse(loc)
				if err != nil || u.Scheme != "https" || !(u.Hostname() == "shop.example.com" || u.Hostname() == "a.shop.example.com") {
					t.Errorf("%s %s Host %s: Location %q", meth, tg, host, loc)
				}
				b := strings.ReplaceAll(loc, "\\", "/")
				if strings.HasPrefix(strings.TrimPrefix(b, "https://"), "/") || strings.Contains(strings.SplitN(strings.TrimPrefix(b, "https://"), "/", 2)[0], "@") {
					t.Errorf("%s %s Host %s: browser-ambiguous Location %q", meth, tg, host, loc)
				}
			}
		}
	}
}

// TestAdversarialH2AuthorityNotValidated: Go's HTTP/2 server does not check
// :authority as it checks an HTTP/1 Host, so the edge must: an invalid
// :authority never reaches the app, in Host or X-Forwarded-Host.
func TestAdversarialH2AuthorityNotValidated(t *testing.T) {
	backend := echoBackend(t, "shop")
	h := startEdge(t, fmt.Sprintf("apps:\n  - {name: shop, domains: [shop.example.com], upstream: %s}\n", backend.URL))
	for _, auth := range []string{"shop.example.com:\\evil.com", "shop.example.com:/x y<script>", "shop\u3002example\u3002com"} {
		t.Run(auth, func(t *testing.T) {
			res := h2Exchange(t, h.addrs.HTTPS, "shop.example.com", [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", auth}, {":path", "/"}}, nil)
			if res.resetd || res.goaway {
				t.Logf("stream reset (%v) or connection closed: refused", res.reset)
				return
			}
			if res.status != "200" {
				t.Logf("status %s: refused", res.status)
				return
			}
			var s seen
			json.Unmarshal([]byte(res.body), &s)
			t.Logf("app saw Host %q X-Forwarded-Host %q", s.Host, s.Header.Get("X-Forwarded-Host"))
			if s.Host != "shop.example.com" || s.Header.Get("X-Forwarded-Host") != "shop.example.com" {
				t.Errorf(":authority %q: app got Host %q, X-Forwarded-Host %q", auth, s.Host, s.Header.Get("X-Forwarded-Host"))
			}
		})
	}
}

// TestIsIPLiteral covers the server names that count as absent for the
// SNI/Host check: Go's TLS client never sends an IP address as server
// name, but wrk and others do.
func TestIsIPLiteral(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"127.0.0.1": true, "::1": true, "[::1]": true, "2001:db8::1": true,
		"bench.test": false, "": false, "127.0.0.1.nip.io": false, "1.2.3": false,
	} {
		if got := isIPLiteral(name); got != want {
			t.Errorf("isIPLiteral(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSameHostport(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		hostport, host, port string
		want                 bool
	}{
		{"shop.example.com", "shop.example.com", "", true},
		{"shop.example.com:8443", "shop.example.com", "8443", true},
		{"shop.example.com:", "shop.example.com", "", false},
		{"Shop.example.com", "shop.example.com", "", false},
		{"shop.example.com.", "shop.example.com", "", false},
		{"[::1]:443", "::1", "443", false},
		{"shop.example.com:443", "shop.example.com", "44", false},
	} {
		if got := sameHostport(tt.hostport, tt.host, tt.port); got != tt.want {
			t.Errorf("sameHostport(%q, %q, %q) = %v, want %v", tt.hostport, tt.host, tt.port, got, tt.want)
		}
	}
}

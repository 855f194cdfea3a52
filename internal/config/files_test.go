package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

// TestLoadCertificates checks what Load finds in certificate files and
// in the coverage of the apps' domains, each file's problem at its key,
// every problem in one run.
func TestLoadCertificates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := testutil.NewCA(t, testutil.CAOptions{})
	write := func(name string, data []byte) {
		testutil.WriteFile(t, filepath.Join(dir, name), data)
	}
	pair := func(name string, o testutil.LeafOptions) {
		l := ca.Issue(t, o)
		write(name+".pem", l.ChainPEM())
		write(name+".key", l.KeyPEM())
	}
	pair("shop", testutil.LeafOptions{Names: []string{"shop.example.com", "www.shop.example.com"}})
	pair("other", testutil.LeafOptions{Names: []string{"other.example.com"}})
	pair("wild", testutil.LeafOptions{Names: []string{"*.apps.example.com"}})
	pair("ip", testutil.LeafOptions{Names: []string{"192.0.2.10"}})
	pair("expired", testutil.LeafOptions{Names: []string{"old.example.com"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	write("garbage.pem", []byte("not PEM\n"))
	write("token", []byte("s3cret\n"))
	write("ca.pem", ca.PEM())
	write("empty.token", []byte(" \n"))
	write("tokens", []byte("# rotated weekly\nci: 0123456789abcdef0\nalice: fedcba98765432100\n"))
	write("bad.tokens", []byte("ci: 0123456789abcdef0\nci: fedcba98765432100\n"))

	const app = "apps:\n  - {name: a, domains: [%s], upstream: \"http://127.0.0.1:1\"%s}\n"
	files := func(pairs ...string) string {
		var b strings.Builder
		b.WriteString("tls:\n  certificates:\n")
		for _, p := range pairs {
			c, k, _ := strings.Cut(p, "+")
			b.WriteString("    - {cert_file: " + c + ", key_file: " + k + "}\n")
		}
		return b.String()
	}
	appWith := func(domains, extra string) string {
		return strings.NewReplacer("%s", "").Replace(strings.Replace(strings.Replace(app, "%s", domains, 1), "%s", extra, 1))
	}
	tests := []struct {
		name string
		yaml string
		want []string // error lines, "..." suffix: prefix; empty: valid
		is   error
	}{
		{"matching pair", files("shop.pem+shop.key") + appWith("shop.example.com, www.shop.example.com", ""), nil, nil},
		{"key of another certificate", files("shop.pem+other.key") + appWith("shop.example.com", ""),
			[]string{`tls.certificates[0].key_file: "` + dir + `/other.key" is not the key of "` + dir + `/shop.pem": private key does not match the certificate (line 3)`}, ErrTLS},
		{"expired", files("expired.pem+expired.key") + appWith("shop.example.com", ", force_https: false"),
			[]string{`tls.certificates[0].cert_file: "` + dir + `/expired.pem": certificate expired on ...`}, ErrTLS},
		{"not PEM", files("garbage.pem+shop.key") + appWith("shop.example.com", ""),
			[]string{`tls.certificates[0].cert_file: "` + dir + `/garbage.pem": no PEM certificate found (line 3)`}, ErrTLS},
		{"every error in one run", files("shop.pem+missing.key", "nope.pem+") + appWith("shop.example.com", "") + "timeouts: {idle: soon}\n",
			[]string{
				`tls.certificates[0].key_file: cannot read "` + dir + `/missing.key": no such file or directory (line 3)`,
				`tls.certificates[1].key_file: a key file is required (line 4)`,
				`tls.certificates[1].cert_file: cannot read "` + dir + `/nope.pem": no such file or directory (line 4)`,
				`timeouts.idle: "soon" is not a duration like "10s" or "1m30s" (line 7)`,
			}, ErrTLS},
		{"domain no file covers", files("other.pem+other.key") + appWith("shop.example.com", ""),
			[]string{`apps[0].domains[0]: "shop.example.com": no certificate covers it, so the redirect to HTTPS would end in a certificate error: add a certificate file that names it, or tls.acme, or set force_https: false until HTTPS works (line 5)`}, ErrNoCertificate},
		{"not forced: not checked", files("other.pem+other.key") + appWith("shop.example.com", ", force_https: false"), nil, nil},
		{"wildcard certificate covers one label", files("wild.pem+wild.key") + appWith(`a.apps.example.com, "*.apps.example.com"`, ""), nil, nil},
		{"wildcard certificate, two labels", files("wild.pem+wild.key") + appWith("a.b.apps.example.com", ""),
			[]string{`apps[0].domains[0]: "a.b.apps.example.com": no certificate covers it...`}, ErrNoCertificate},
		{"wildcard domain, exact certificate", files("shop.pem+shop.key") + appWith(`"*.shop.example.com"`, ""),
			[]string{`apps[0].domains[0]: "*.shop.example.com": no certificate covers it, so the redirect to HTTPS would end in a certificate error: add a certificate file for "*.shop.example.com" (ACME cannot validate a wildcard), or set force_https: false until HTTPS works (line 5)`}, ErrNoCertificate},
		{"ACME covers names", "tls: {acme: {storage: st}}\n" + appWith("shop.example.com", ""), nil, nil},
		{"ACME does not cover wildcards", "tls: {acme: {storage: st}}\n" + appWith(`"*.shop.example.com"`, ""),
			[]string{`apps[0].domains[0]: "*.shop.example.com": no certificate covers it...`}, ErrNoCertificate},
		{"ACME does not cover IP addresses", "tls: {acme: {storage: st}}\n" + appWith("192.0.2.10", ", include_dev_hosts: true"),
			[]string{`apps[0].domains[0]: "192.0.2.10": no certificate covers it, so the redirect to HTTPS would end in a certificate error: add a certificate file that names this address (ACME does not certify IP addresses), or set force_https: false until HTTPS works (line 3)`}, ErrNoCertificate},
		{"IP certificate", files("ip.pem+ip.key") + appWith("192.0.2.10", ", include_dev_hosts: true"), nil, nil},
		{"development hosts are not redirected", files("other.pem+other.key") + appWith(`localhost, a.localhost, 127.0.0.1, "::1"`, ""), nil, nil},
		{"development hosts forced", files("other.pem+other.key") + appWith("localhost", ", include_dev_hosts: true"),
			[]string{`apps[0].domains[0]: "localhost": no certificate covers it...`}, ErrNoCertificate},
		{"self-signed covers its names", "tls: {self_signed: [localhost, \"*.shop.test\"]}\n" + appWith(`localhost, a.shop.test, "*.shop.test"`, ", include_dev_hosts: true"), nil, nil},
		{"self-signed for other names", "tls: {self_signed: [localhost]}\n" + appWith("Shop.Example.com.", ""),
			[]string{`apps[0].domains[0]: "Shop.Example.com.": no certificate covers it...`}, ErrNoCertificate},
		{"case and trailing dot", files("shop.pem+shop.key") + appWith("SHOP.example.com.", ""), nil, nil},
		{"CA root", "tls: {acme: {storage: st, ca_root: ca.pem}}\n" + appWith("shop.example.com", ""), nil, nil},
		{"CA root without a certificate", "tls: {acme: {storage: st, ca_root: shop.key}}\n" + appWith("shop.example.com", ""),
			[]string{`tls.acme.ca_root: "` + dir + `/shop.key": no PEM certificate found (line 1)`}, ErrTLS},
		{"admin token file", files("shop.pem+shop.key") + appWith("shop.example.com", "") + "admin: {listen: \"127.0.0.1:0\", token_file: token}\n", nil, nil},
		{"admin token file missing", files("shop.pem+shop.key") + appWith("shop.example.com", "") + "admin: {listen: \"127.0.0.1:0\", token_file: nope.token}\n",
			[]string{`admin.token_file: cannot read "` + dir + `/nope.token": no such file or directory (line 6)`}, ErrValue},
		{"admin token file empty", files("shop.pem+shop.key") + appWith("shop.example.com", "") + "admin: {listen: \"127.0.0.1:0\", token_file: empty.token}\n",
			[]string{`admin.token_file: "` + dir + `/empty.token" is empty: write the admin token in it (line 6)`}, ErrValue},
		{"admin TLS pair", files("shop.pem+shop.key") + appWith("shop.example.com", "") + "admin: {listen: \":0\", tls: {cert_file: other.pem, key_file: other.key}, tokens_file: tokens}\n", nil, nil},
		{"admin TLS key mismatch", files("shop.pem+shop.key") + appWith("shop.example.com", "") + "admin: {listen: \":0\", tls: {cert_file: other.pem, key_file: shop.key}}\n",
			[]string{`admin.tls.key_file: "` + dir + `/shop.key" is not the key of "` + dir + `/other.pem": ...`}, ErrTLS},
		{"admin TLS expired", files("shop.pem+shop.key") + appWith("shop.example.com", "") + "admin: {listen: \":0\", tls: {cert_file: expired.pem, key_file: expired.key}}\n",
			[]string{`admin.tls.cert_file: "` + dir + `/expired.pem": certificate expired...`}, ErrTLS},
		{"admin tokens file duplicate name", files("shop.pem+shop.key") + appWith("shop.example.com", "") + "admin: {listen: \"127.0.0.1:0\", tokens_file: bad.tokens}\n",
			[]string{`admin.tokens_file: "` + dir + `/bad.tokens": line 2: name "ci" is also on line 1 (line 6)`}, ErrValue},
		{"access log in a missing directory", files("shop.pem+shop.key") + appWith("shop.example.com", "") + "access_log: {output: logs/access.log}\n",
			[]string{`access_log.output: cannot create "` + dir + `/logs/access.log": its directory "` + dir + `/logs" does not exist (line 6)`}, ErrValue},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(dir, "edge"+string(rune('a'+i))+".yaml")
			if err := os.WriteFile(file, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(file)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Load(%q) = %v, want no error", tt.yaml, err)
				}
				return
			}
			checkErrors(t, fmt.Sprintf("Load(%q)", tt.yaml), err, tt.want, tt.is)
		})
	}
}

// TestLoadDefault checks that the embedded default, written to a file as
// --print-default prints it, passes Load's checks: its self-signed
// certificate covers the development hosts it forces.
func TestLoadDefault(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "edge.yaml")
	if err := os.WriteFile(file, DefaultYAML(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(file); err != nil {
		t.Errorf("Load(the embedded default) = %v", err)
	}
}

func TestIsIP(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]bool{
		"192.0.2.1": true, "::1": true, "2001:db8::1": true, "::ffff:192.0.2.1": true,
		"d1.bench.test": false, "example.com": false, "1.2.3": false, "1.2.3.4.5": false, "": false, "localhost": false,
	} {
		if got := isIP(h); got != want {
			t.Errorf("isIP(%q) = %v, want %v", h, got, want)
		}
	}
}

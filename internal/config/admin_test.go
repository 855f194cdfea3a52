package config

import (
	"fmt"
	"testing"
)

func TestAdminPlainHTTPBeyondLoopback(t *testing.T) {
	t.Parallel()
	const refused = "admin.listen: %q is reachable beyond this machine in plain HTTP: the bearer token would cross the network in clear; set admin.tls {cert_file, key_file}, or listen on 127.0.0.1 or [::1] (or, knowing the risk, set admin.insecure_plain_http: true) (line 7)"
	tests := []struct {
		listen, extra string
		ok            bool
	}{
		{"127.0.0.1:9090", "", true},
		{"127.0.0.2:9090", "", true},
		{"[::1]:9090", "", true},
		{"localhost:9090", "", true},
		{":9090", "", false},
		{"0.0.0.0:9090", "", false},
		{"[::]:9090", "", false},
		{"192.168.1.10:9090", "", false},
		{"admin.internal:9090", "", false},
		{":9090", ", insecure_plain_http: true", true},
		{":9090", ", tls: {cert_file: a.pem, key_file: a.key}", true},
	}
	for _, tt := range tests {
		t.Run(tt.listen+tt.extra, func(t *testing.T) {
			t.Parallel()
			in := minimal + fmt.Sprintf("admin: {listen: %q%s}\n", tt.listen, tt.extra)
			_, err := Parse([]byte(in), YAML)
			if tt.ok {
				if err != nil {
					t.Fatalf("Parse = %v, want no error", err)
				}
				return
			}
			checkErrors(t, "Parse", err, []string{fmt.Sprintf(refused, tt.listen)}, ErrTLS)
		})
	}
}

func TestAdminTLSRequiresBothFiles(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(minimal+"admin: {listen: \":9090\", tls: {cert_file: a.pem}}\n"), YAML)
	checkErrors(t, "Parse", err, []string{"admin.tls.key_file: a key file is required (line 7)"}, ErrRequired)
}

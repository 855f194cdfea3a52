package edge

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/forcehttps/forcehttps/internal/accesslog"
	"github.com/forcehttps/forcehttps/internal/config"
)

// Each access_log format writes its own kind of line to the file.
func TestAccessLogFormats(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		format string
		want   *regexp.Regexp
	}{
		{"", regexp.MustCompile(`^\{"time":"[^"]+","level":"INFO","msg":"request","app":"a","host":"a\.example","method":"GET","path":"/\\"x","status":301,"bytes":0,"duration_ms":1\.5,"request_id":"","scheme":"http","peer":"","client_ip":"","action":"redirect","reason":"redirect","cut":"client_gone"\}\n$`)},
		{"json", regexp.MustCompile(`^\{"time":"[^"]+","level":"INFO","msg":"request","app":"a",.*"cut":"client_gone"\}\n$`)},
		{"text", regexp.MustCompile(`^time=\S+ level=INFO msg=request app=a host=a\.example method=GET path="/\\"x" status=301 bytes=0 duration_ms=1\.5 request_id="" scheme=http peer="" client_ip="" action=redirect reason=redirect cut=client_gone\n$`)},
	} {
		t.Run(tc.format, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "access.log")
			lg, closer, err := openAccessLog(config.AccessLog{Format: tc.format, Output: path})
			if err != nil {
				t.Fatal(err)
			}
			lg.Log(&accesslog.Line{App: "a", Host: "a.example", Method: "GET", Path: `/"x`, Status: 301, DurationMS: 1.5,
				Scheme: "http", Action: "redirect", Reason: "redirect", Cut: "client_gone"})
			if err := closer.Close(); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.want.Match(data) {
				t.Errorf("line %q does not match %s", data, tc.want)
			}
		})
	}
}

package edge

import (
	"bytes"
	"errors"
	"log/slog"
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
			lg, closer, err := openAccessLog(config.AccessLog{Format: tc.format, Output: path}, slog.New(slog.DiscardHandler))
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

// A failing access log says so in the edge's log, at most once a minute,
// with the number of failed writes.
func TestAccessLogFailureIsLogged(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	report := accessLogFailed(slog.New(slog.NewTextHandler(&buf, nil)), "access.log")
	boom := errors.New("no space left on device")
	for range 3 {
		report(boom)
	}
	if got := bytes.Count(buf.Bytes(), []byte("access log write failed")); got != 1 {
		t.Fatalf("%d reports for 3 failures within a minute, want 1:\n%s", got, buf.String())
	}
	if !bytes.Contains(buf.Bytes(), []byte("no space left on device")) || !bytes.Contains(buf.Bytes(), []byte("output=access.log")) {
		t.Errorf("the report lacks the error or the output: %s", buf.String())
	}
}

// The access log opened from the configuration reports its failures.
func TestAccessLogFailureWired(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	path := filepath.Join(t.TempDir(), "access.log")
	lg, closer, err := openAccessLog(config.AccessLog{Output: path}, slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ac := closer.(*accessLogCloser)
	ac.file.Close() // the writes beneath now fail
	lg.Log(&accesslog.Line{App: "a", Status: 301})
	if err := ac.gw.Flush(); err == nil {
		t.Fatal("Flush after a failed write returned nil")
	}
	if !bytes.Contains(buf.Bytes(), []byte("access log write failed")) {
		t.Errorf("no report of the failed write in the edge's log: %q", buf.String())
	}
}

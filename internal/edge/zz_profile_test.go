package edge

import (
	"context"
	"log/slog"
	"os"
	"runtime/pprof"
	"testing"
	"time"
)

func TestZZProfile(t *testing.T) {
	if os.Getenv("ZZPROF") == "" {
		t.Skip()
	}
	loadTestCert()
	c := mustParse(t, `
listen: {http: "127.0.0.1:29600", https: "127.0.0.1:29601"}
tls: {self_signed: [localhost]}
apps:
  - name: shop
    domains: [bench.test]
    upstream: "http://127.0.0.1:1"
    respond: [{path: /health, body: "ok\n"}]
`)
	s, err := New(c, &testCerts{}, WithLogger(slog.New(slog.DiscardHandler)), WithAccessLog(nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Second)
	defer cancel()
	go func() {
		time.Sleep(3 * time.Second)
		f, _ := os.Create(os.Getenv("ZZPROF"))
		pprof.StartCPUProfile(f)
		time.Sleep(6 * time.Second)
		pprof.StopCPUProfile()
		f.Close()
	}()
	s.Serve(ctx)
}

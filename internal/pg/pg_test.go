package pg

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/pgtest"
	"github.com/forcehttps/forcehttps/internal/testutil"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// silentServer accepts connections and never answers.
func silentServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	return l.Addr().String()
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	good := pgtest.Start(t)
	u, err := url.Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "s3cret-Pa55"
	withPassword := func(pw string) string {
		v := *u
		v.User = url.UserPassword(pgtest.User, pw)
		return v.String()
	}
	withDB := func(db string) string {
		v := *u
		v.Path = "/" + db
		return v.String()
	}
	closed := "postgres://forcehttps:" + secret + "@" + testutil.ClosedAddr(t) + "/x?sslmode=disable"
	silent := "postgres://forcehttps:" + secret + "@" + silentServer(t) + "/x?sslmode=disable&connect_timeout=1"

	tests := []struct {
		name string
		url  string
		want error
	}{
		{"wrong password", withPassword(secret), ErrAuth},
		{"unknown user", strings.Replace(withPassword(secret), pgtest.User+":", "nobody_here:", 1), ErrAuth},
		{"no such database", withDB("nope"), ErrNoDatabase},
		{"nothing listening", closed, ErrUnreachable},
		{"server never answers", silent, ErrUnreachable},
		{"bad port", "postgres://forcehttps:" + secret + "@127.0.0.1:99999999/x", ErrBadURL},
		{"password with a slash", "postgres://forcehttps:" + secret + "/x@127.0.0.1/x", ErrBadURL},
		{"bad sslmode", "postgres://forcehttps:" + secret + "@127.0.0.1/x?sslmode=maybe", ErrBadURL},
		{"bad keyword string", "host=127.0.0.1 password='" + secret, ErrBadURL},
		{"unknown scheme", "mysql://forcehttps:" + secret + "@127.0.0.1/x", ErrBadURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			pool, err := Open(ctxT(t), tt.url)
			if err == nil {
				pool.Close()
				t.Fatalf("Open(%s) succeeded", Redact(tt.url))
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Open: error %q, want one wrapping %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("Open: error %q contains the password", err)
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("Open took %v", d)
			}
		})
	}
}

func TestOpenWorks(t *testing.T) {
	t.Parallel()
	pool, err := Open(ctxT(t), pgtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var name string
	if err := pool.QueryRow(ctxT(t), "SELECT current_setting('application_name')").Scan(&name); err != nil || name != "forcehttps" {
		t.Errorf("application_name = %q, %v; want forcehttps", name, err)
	}
}

// TestNewPoolWithoutServer: NewPool succeeds with nothing listening (a
// start while the database is down), and Ping then says so.
func TestNewPoolWithoutServer(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-Pa55"
	conn := "postgres://forcehttps:" + secret + "@" + testutil.ClosedAddr(t) + "/x?sslmode=disable&connect_timeout=2"
	pool, err := NewPool(conn)
	if err != nil {
		t.Fatalf("NewPool: %v", err)
	}
	defer pool.Close()
	err = Ping(ctxT(t), pool, conn)
	if !errors.Is(err, ErrUnreachable) || strings.Contains(err.Error(), secret) {
		t.Errorf("Ping = %v, want ErrUnreachable without the password", err)
	}
	if _, err := NewPool("postgres://u:" + secret + "@h:x/db"); !errors.Is(err, ErrBadURL) || strings.Contains(err.Error(), secret) {
		t.Errorf("NewPool of a bad URL = %v, want ErrBadURL without the password", err)
	}
}

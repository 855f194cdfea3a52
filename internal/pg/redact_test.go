package pg

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

var redactTests = []struct {
	in, want string
}{
	{"postgres://u:secret@db.internal/fh?sslmode=verify-full", "postgres://u:xxxxx@db.internal/fh?sslmode=verify-full"},
	{"postgresql://u:secret@h1:5432,h2:5433/fh", "postgresql://u:xxxxx@h1:5432,h2:5433/fh"},
	{"postgres://u@db/fh", "postgres://u@db/fh"},
	{"postgres://db/fh", "postgres://db/fh"},
	{"postgres://u:@db/fh", "postgres://u:xxxxx@db/fh"},
	{"postgres://u:p%40ss@db/fh", "postgres://u:xxxxx@db/fh"},
	{"postgres://db/fh?user=u&password=secret&sslmode=require", "postgres://db/fh?user=u&password=xxxxx&sslmode=require"},
	{"postgres://db/fh?sslpassword=secret", "postgres://db/fh?sslpassword=xxxxx"},
	{"postgres://db/fh?pass%77ord=secret", "postgres://db/fh?pass%77ord=xxxxx"},
	// pgx reads '#' as a character of the query, not as a fragment: the
	// password is "secret#frag", and the parameter after a '#' counts.
	{"postgres://db/fh?PASSWORD=secret#frag", "postgres://db/fh?PASSWORD=xxxxx"},
	{"postgres:///?#=&password=0000", "postgres:///?#=&password=xxxxx"},
	{"postgres://h/db?a=1#x&password=secret", "postgres://h/db?a=1#x&password=xxxxx"},
	// A mistyped password holding '/': masked up to the last '@'.
	{"postgres://u:pa/ss@db/fh", "postgres://u:xxxxx@db/fh"},
	// An '@' in the query is not the end of user information.
	{"postgres:///?password=00@0", "postgres:///?password=xxxxx"},
	{"postgres://db/fh?password=p@ss:word", "postgres://db/fh?password=xxxxx"},
	{"host=db user=u password=secret dbname=fh", "host=db user=u password=xxxxx dbname=fh"},
	{"host=db password = 'se cret' dbname=fh", "host=db password = xxxxx dbname=fh"},
	{`host=db password=se\ cret dbname=fh`, "host=db password=xxxxx dbname=fh"},
	{"host=db password='unterminated dbname=fh", "host=db password=xxxxx"},
	{"host=db sslpassword=secret", "host=db sslpassword=xxxxx"},
	{"mysql://u:secret@db/fh", "mysql://u:xxxxx@db/fh"},
	{"", ""},
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for _, tt := range redactTests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzRedact: whatever pgx reads as the password never survives Redact.
func FuzzRedact(f *testing.F) {
	for _, tt := range redactTests {
		f.Add(tt.in)
	}
	f.Add("postgres://u:abc@def@h/db")
	f.Add("postgres://u:a?b@h/db")
	f.Fuzz(func(t *testing.T, conn string) {
		out := Redact(conn)
		cfg, err := pgconn.ParseConfig(conn)
		if err != nil {
			return
		}
		for _, pw := range []string{cfg.Password} {
			// Short passwords and ones that also appear elsewhere in the
			// string (as a host name, say) cannot be checked this way.
			if len(pw) < 4 || strings.Count(conn, pw) != 1 || pw == mask || strings.Contains(mask, pw) {
				continue
			}
			if strings.Contains(out, pw) {
				t.Fatalf("Redact(%q) = %q keeps the password %q", conn, out, pw)
			}
		}
	})
}

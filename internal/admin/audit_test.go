package admin

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

// TestNamedTokensRotationAndAudit checks that each token is known by its
// name in the audit log, that the tokens file is read again without a
// restart, and that no token reaches a log.
func TestNamedTokensRotationAndAudit(t *testing.T) {
	t.Parallel()
	const (
		ci    = "ci-token-0123456789abcdef"
		alice = "alice-token-0123456789abc"
		bob   = "bob-token-0123456789abcde"
	)
	e := newEnv(t)
	tokensFile := filepath.Join(e.dir, "tokens")
	auditLog := filepath.Join(e.dir, "audit.jsonl")
	testutil.WriteFile(t, tokensFile, []byte("# admin tokens\nci: "+ci+"\nalice: "+alice+"\n"))
	e.options = func(o *Options) {
		o.TokensFile, o.TokensCheck, o.AuditLog = tokensFile, time.Second, auditLog
	}
	c := newClock()
	in := e.start(t, c)
	base := "http://" + in.addrs.Admin
	with := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

	steps := []struct {
		name             string
		rotate           string // new content of the tokens file, "" to leave it
		method, path     string
		body             string
		token            string
		want             int
		who, action, app string // "": not audited
	}{
		{"ci disables", "", "POST", "/api/apps/good/disable", `{"drain":"1h"}`, ci, 200, "ci", "disable", "good"},
		{"alice patches", "", "PATCH", "/api/apps/good", `{"redirect":{"status":308}}`, alice, 200, "alice", "patch", "good"},
		{"the file's token 'default'", "", "POST", "/api/apps/bad/disable", ``, e.token, 200, "default", "disable", "bad"},
		{"an unknown app is audited with its status", "", "POST", "/api/apps/nope/enable", `{}`, ci, 404, "ci", "POST /api/apps/nope/enable", ""},
		{"a wrong token is not audited", "", "POST", "/api/apps/good/disable", ``, "wrong-token-0123456789", 401, "", "", ""},
		{"a read is not audited", "", "GET", "/api/apps", ``, ci, 200, "", "", ""},
		{"alice creates an app", "", "POST", "/api/apps", `{"name":"audited","domains":["audited.api.test"],"upstream":"http://127.0.0.1:9","force_https":false}`, alice, 201, "alice", "app.create", "audited"},
		{"ci adds a domain", "", "POST", "/api/apps/audited/domains", `{"domain":"www.audited.api.test"}`, ci, 200, "ci", "domain.add", "audited"},
		{"ci removes it", "", "DELETE", "/api/apps/audited/domains/www.audited.api.test", ``, ci, 200, "ci", "domain.remove", "audited"},
		{"alice replaces the app", "", "PUT", "/api/apps/audited", `{"domains":["audited.api.test"],"upstream":"http://127.0.0.1:9","force_https":false}`, alice, 200, "alice", "app.replace", "audited"},
		{"alice deletes it", "", "DELETE", "/api/apps/audited", ``, alice, 200, "alice", "app.delete", "audited"},
		{"ci removed, bob added: ci refused", "# rotated\nalice: " + alice + "\nbob: " + bob + "\n", "POST", "/api/apps/good/disable", ``, ci, 401, "", "", ""},
		{"bob works without a restart", "", "POST", "/api/apps/good/enable", `{"force":true}`, bob, 200, "bob", "enable", "good"},
		{"a broken file keeps the last good tokens", "bob: short\n", "POST", "/api/apps/good/disable", ``, bob, 200, "bob", "disable", "good"},
	}
	var wantAudit []auditEntry
	for _, s := range steps {
		if s.rotate != "" {
			testutil.WriteFile(t, tokensFile, []byte(s.rotate))
			c.Add(2 * time.Second)
		}
		got, _ := in.apiWith(s.method, s.path, s.body, with(s.token))
		if got != s.want {
			t.Fatalf("%s: %s %s = %d, want %d", s.name, s.method, s.path, got, s.want)
		}
		if s.who != "" {
			wantAudit = append(wantAudit, auditEntry{Who: s.who, Action: s.action, App: s.app, Status: s.want})
		}
	}

	// The dashboard's changes name the token that logged in.
	b := browser(t)
	post(t, b, base+"/login", url.Values{"token": {alice}}, nil)
	_, page := get(t, b, base+"/")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token after login:\n%s", page)
	}
	if resp, _ := post(t, b, base+"/apps/bad/enable", url.Values{"csrf": {m[1]}, "force": {"1"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("dashboard enable = %d, want 303", resp.StatusCode)
	}
	wantAudit = append(wantAudit, auditEntry{Who: "dashboard:alice", Action: "enable", App: "bad", Status: 303})

	fi, err := os.Stat(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode = %v, want 0600", fi.Mode().Perm())
	}
	f, err := os.Open(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []auditEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e auditEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		if e.Time.IsZero() || !strings.HasPrefix(e.Peer, "127.0.0.1:") {
			t.Errorf("audit entry %+v: want a time and the peer's address", e)
		}
		got = append(got, e)
	}
	if len(got) != len(wantAudit) {
		t.Fatalf("audit log has %d entries, want %d:\n%+v", len(got), len(wantAudit), got)
	}
	for i, w := range wantAudit {
		g := got[i]
		if g.Who != w.Who || g.Action != w.Action || g.App != w.App || g.Status != w.Status {
			t.Errorf("audit entry %d = %s %s %s %d, want %s %s %s %d", i, g.Who, g.Action, g.App, g.Status, w.Who, w.Action, w.App, w.Status)
		}
	}
	if string(got[0].Detail) != `{"drain":"1h"}` {
		t.Errorf("detail of the first change = %s, want the request's parameters", got[0].Detail)
	}

	logs := in.logs.String()
	if !strings.Contains(logs, `msg="admin: audit" who=ci action=disable app=good`) {
		t.Errorf("the log lacks ci's change:\n%s", logs)
	}
	audit, _ := os.ReadFile(auditLog)
	for _, tok := range []string{ci, alice, bob, e.token} {
		if strings.Contains(logs, tok) || strings.Contains(string(audit), tok) {
			t.Errorf("a token appears in the log or the audit log")
		}
	}
}

func TestTokensFileRequiredAtStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "tokens")
	testutil.WriteFile(t, bad, []byte("ci 0123456789abcdef0\n"))
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no token at all", Options{}, ErrNoToken.Error()},
		{"missing tokens file", Options{TokensFile: filepath.Join(dir, "nope")}, "no such file"},
		{"bad line", Options{TokensFile: bad}, `line 1: not "name: token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

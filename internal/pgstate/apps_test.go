package pgstate_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/forcehttps/forcehttps/internal/pgtest"
)

// TestAppPropagation: an app created through the API on replica a is
// served by b within 1s, and gone from b within 1s of its delete on b's
// peer.
func TestAppPropagation(t *testing.T) {
	t.Parallel()
	db := pgtest.Start(t)
	up, dir := backend(t), t.TempDir()
	a := startReplica(t, db, up, testOptions("a", dir), nil)
	b := startReplica(t, db, up, testOptions("b", dir), nil)
	serves := func(r *replica) (bool, string) {
		code, _, err := r.get(r.client(), "http://new.test/")
		if err != nil {
			return false, err.Error()
		}
		return code == http.StatusOK, fmt.Sprintf("%s: %d", r.name, code)
	}
	if ok, detail := serves(b); ok {
		t.Fatalf("before the create: %s", detail)
	}
	body := fmt.Sprintf(`{"name":"new","domains":["new.test"],"upstream":%q,"force_https":false}`, up)
	if code, out := a.api("POST", "/api/apps", body); code != http.StatusCreated {
		t.Fatalf("create on a: %d %v", code, out)
	}
	d := eventually(t, time.Second, "b serves the app created on a", func() (bool, string) { return serves(b) })
	t.Logf("b serves new.test %s after its creation on a", d)
	if code, out := b.api("POST", "/api/apps", body); code != http.StatusConflict {
		t.Errorf("create again on b: %d %v, want 409", code, out)
	}
	if code, out := b.api("DELETE", "/api/apps/new", ""); code != http.StatusOK {
		t.Fatalf("delete on b: %d %v", code, out)
	}
	eventually(t, time.Second, "a stops serving the app deleted on b", func() (bool, string) {
		ok, detail := serves(a)
		return !ok, detail
	})
}

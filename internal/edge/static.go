package edge

import (
	"cmp"
	"net/http"
	"strconv"

	"github.com/forcehttps/forcehttps/internal/config"
)

// staticAnswer is a response of an app's "respond" list, prepared when
// the snapshot is built. It is served behind the app's policy, like the
// proxy: plain HTTP is redirected first where Force HTTPS says so, and
// HTTPS answers get HSTS and the security headers.
type staticAnswer struct {
	status int
	body   []byte
	ctype  []string // nil for an empty body
	length []string // nil where the status allows no body
}

// staticAnswers prepares an app's static responses, by path; nil for none.
func staticAnswers(list []config.Response) map[string]*staticAnswer {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]*staticAnswer, len(list))
	for _, r := range list {
		// A configuration built in code may leave the defaults out.
		sa := &staticAnswer{status: cmp.Or(r.Status, http.StatusOK), body: []byte(r.Body)}
		if len(sa.body) > 0 {
			sa.ctype = []string{cmp.Or(r.ContentType, config.DefaultContentType)}
		}
		if sa.status != http.StatusNoContent && sa.status != http.StatusNotModified {
			sa.length = []string{strconv.Itoa(len(sa.body))}
		}
		m[r.Path] = sa
	}
	return m
}

// ServeHTTP answers any method the same way, as nginx's return and
// Caddy's respond do; HEAD gets the fields without the body.
func (sa *staticAnswer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if sa.ctype != nil {
		h["Content-Type"] = sa.ctype
	}
	if sa.length != nil {
		h["Content-Length"] = sa.length
	}
	w.WriteHeader(sa.status)
	if r.Method != http.MethodHead && len(sa.body) > 0 {
		w.Write(sa.body)
	}
}

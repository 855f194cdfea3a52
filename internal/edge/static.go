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

// staticSet is an app's static answers by path: a list for the few an
// app usually has (as fast to search, and one object instead of a map's
// several), a map beyond smallStatic.
type staticSet struct {
	list   []staticEntry
	byPath map[string]*staticAnswer // nil up to smallStatic answers
}

type staticEntry struct {
	path string
	sa   *staticAnswer
}

const smallStatic = 8

// get returns the answer for path, or nil.
func (ss staticSet) get(path string) *staticAnswer {
	if ss.byPath != nil {
		return ss.byPath[path]
	}
	for i := range ss.list {
		if ss.list[i].path == path {
			return ss.list[i].sa
		}
	}
	return nil
}

// staticKey is what a prepared answer depends on, for sharing it.
type staticKey struct {
	status      int
	body, ctype string
}

// staticAnswers prepares an app's static responses. shared, when not nil,
// holds the answers already prepared for other apps (a table of many
// apps usually repeats the same few), which are then used again: answers
// are never modified once prepared.
func staticAnswers(list []config.Response, shared map[staticKey]*staticAnswer) staticSet {
	var ss staticSet
	if len(list) == 0 {
		return ss
	}
	if len(list) > smallStatic {
		ss.byPath = make(map[string]*staticAnswer, len(list))
	} else {
		ss.list = make([]staticEntry, 0, len(list))
	}
	for _, r := range list {
		// A configuration built in code may leave the defaults out.
		k := staticKey{status: cmp.Or(r.Status, http.StatusOK), body: r.Body}
		if r.Body != "" {
			k.ctype = cmp.Or(r.ContentType, config.DefaultContentType)
		}
		sa := shared[k]
		if sa == nil {
			sa = &staticAnswer{status: k.status, body: []byte(k.body)}
			if len(sa.body) > 0 {
				sa.ctype = []string{k.ctype}
			}
			if sa.status != http.StatusNoContent && sa.status != http.StatusNotModified {
				sa.length = []string{strconv.Itoa(len(sa.body))}
			}
			if shared != nil {
				shared[k] = sa
			}
		}
		if ss.byPath != nil {
			ss.byPath[r.Path] = sa
		} else {
			ss.list = append(ss.list, staticEntry{r.Path, sa})
		}
	}
	return ss
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

package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/forcehttps/forcehttps/internal/config"
)

// Errors of the changes of API apps.
var (
	// ErrFileApp means the app comes from the configuration file, which
	// the API does not change.
	ErrFileApp = errors.New("admin: the app comes from the configuration file")
	// ErrAppExists means an app with the name exists already.
	ErrAppExists = errors.New("admin: an app with this name exists")
)

// InvalidAppError is a change of an API app that the configuration's
// validation refused. Paths are relative to the app ("domains[1]");
// problems elsewhere in the configuration keep their full path.
type InvalidAppError struct {
	Errors []*config.FieldError
}

func (e *InvalidAppError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		msgs[i] = fe.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap makes the error match [ErrInvalid].
func (e *InvalidAppError) Unwrap() error { return ErrInvalid }

// apiApps returns the apps of st created through the API, by name, that
// the file has no app of the same name for (a file app wins, read-only).
func apiApps(cfg *config.Config, st *State) []config.App {
	var names []string
	for name, s := range st.Apps {
		if len(s.App) > 0 && !isFileApp(cfg, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	out := make([]config.App, 0, len(names))
	for _, name := range names {
		app, err := config.DecodeApp(st.Apps[name].App)
		if err != nil {
			continue // refused when it was stored; a newer format, maybe
		}
		app.Name = name
		out = append(out, *app)
	}
	return out
}

// isFileApp reports whether the configuration file has app name.
func isFileApp(cfg *config.Config, name string) bool {
	return slices.ContainsFunc(cfg.Apps, func(a config.App) bool { return a.Name == name })
}

// appDef is the name and domains of an app's definition.
type appDef struct {
	Name    string   `json:"name"`
	Domains []string `json:"domains"`
}

// CreateApp creates an app from its definition: a JSON object with the
// keys of an entry of "apps" in the configuration file. It returns the
// app's name.
func (a *Admin) CreateApp(ctx context.Context, def []byte) (string, error) {
	var d appDef
	if err := json.Unmarshal(def, &d); err != nil || d.Name == "" {
		return "", &InvalidAppError{Errors: []*config.FieldError{{Path: "name", Message: "a name is required", Err: config.ErrRequired}}}
	}
	err := a.define(ctx, d.Name, func(cur *AppState) ([]byte, error) {
		if cur != nil && len(cur.App) > 0 {
			return nil, ErrAppExists
		}
		return def, nil
	})
	if err != nil {
		return "", err
	}
	a.audit(ctx, "app.create", d.Name, json.RawMessage(def))
	a.log.Info("admin: app created", "app", d.Name)
	return d.Name, nil
}

// ReplaceApp replaces the definition of API app name; a name in def, if
// any, must be name.
func (a *Admin) ReplaceApp(ctx context.Context, name string, def []byte) error {
	err := a.define(ctx, name, func(cur *AppState) ([]byte, error) {
		if cur == nil || len(cur.App) == 0 {
			return nil, ErrUnknownApp
		}
		var d appDef
		if err := json.Unmarshal(def, &d); err == nil && d.Name != "" && d.Name != name {
			return nil, &InvalidAppError{Errors: []*config.FieldError{{Path: "name", Message: fmt.Sprintf("%q is not the app's name %q: an app cannot be renamed", d.Name, name), Err: config.ErrName}}}
		}
		return withKey(def, "name", name)
	})
	if err == nil {
		a.audit(ctx, "app.replace", name, json.RawMessage(def))
		a.log.Info("admin: app replaced", "app", name)
	}
	return err
}

// DeleteApp deletes API app name with its Force HTTPS state. Its domains
// are no longer served: browsers that got its HSTS header keep asking
// for HTTPS until their max-age expires, and get no answer from this
// edge either way. The returned warning says so when HSTS was sent.
func (a *Admin) DeleteApp(ctx context.Context, name string) (warning string, err error) {
	err = a.define(ctx, name, func(cur *AppState) ([]byte, error) {
		if cur == nil || len(cur.App) == 0 {
			return nil, ErrUnknownApp
		}
		m := cur.MaxAgeSent
		if eff, ok := a.findApp(a.edge.Config(), a.state.Load(), name); ok {
			m = max(m, sentMaxAge(eff, a.now()))
		}
		if m > 0 {
			warning = fmt.Sprintf("HSTS was sent for this app's domains (max-age up to %d s): browsers that saw it keep using HTTPS for them until it expires; to release them, serve the domains again with Force HTTPS disabled (max-age=0) before deleting", m)
		}
		return nil, nil
	})
	if err == nil {
		a.audit(ctx, "app.delete", name, nil)
		a.log.Info("admin: app deleted", "app", name)
		if warning != "" {
			a.log.Warn("admin: deleted app had sent HSTS", "app", name, "warning", warning)
		}
	}
	return warning, err
}

// AddDomain adds domain to API app name.
func (a *Admin) AddDomain(ctx context.Context, name, domain string) error {
	err := a.editDomains(ctx, name, func(ds []string) []string { return append(ds, domain) })
	if err == nil {
		a.audit(ctx, "domain.add", name, map[string]string{"domain": domain})
	}
	return err
}

// RemoveDomain removes domain from API app name.
func (a *Admin) RemoveDomain(ctx context.Context, name, domain string) error {
	removed := false
	err := a.editDomains(ctx, name, func(ds []string) []string {
		return slices.DeleteFunc(ds, func(d string) bool {
			eq := strings.EqualFold(strings.TrimSuffix(d, "."), strings.TrimSuffix(domain, "."))
			removed = removed || eq
			return eq
		})
	})
	if err == nil && !removed {
		return ErrUnknownDomain
	}
	if err == nil {
		a.audit(ctx, "domain.remove", name, map[string]string{"domain": domain})
	}
	return err
}

// ErrUnknownDomain means the app has no such domain.
var ErrUnknownDomain = errors.New("admin: the app has no such domain")

func (a *Admin) editDomains(ctx context.Context, name string, f func([]string) []string) error {
	return a.define(ctx, name, func(cur *AppState) ([]byte, error) {
		if cur == nil || len(cur.App) == 0 {
			return nil, ErrUnknownApp
		}
		var d appDef
		if err := json.Unmarshal(cur.App, &d); err != nil {
			return nil, err
		}
		ds, err := json.Marshal(f(d.Domains))
		if err != nil {
			return nil, err
		}
		return withKey(cur.App, "domains", json.RawMessage(ds))
	})
}

// withKey returns the JSON object def with key set to v.
func withKey(def []byte, key string, v any) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(def, &m); err != nil || m == nil {
		return nil, &InvalidAppError{Errors: []*config.FieldError{{Message: "an app must be a JSON object", Err: config.ErrSyntax}}}
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	m[key] = data
	return json.Marshal(m)
}

// define sets (or, when f returns nil, removes) the definition of API
// app name, validated within the whole configuration, and commits it as
// change does. f gets the app's current state (nil: none).
func (a *Admin) define(ctx context.Context, name string, f func(cur *AppState) ([]byte, error)) error {
	if a.edge == nil {
		return errors.New("admin: no edge attached")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	raw := a.edge.Config()
	if isFileApp(raw, name) {
		return ErrFileApp
	}
	cur, err := a.store.Load(ctx)
	if err != nil {
		return err
	}
	def, err := f(cur.State.Apps[name])
	if err != nil {
		return err
	}
	next := cur.State.cloneFor(name)
	var s *AppState
	if def != nil {
		var buf bytes.Buffer
		if err := json.Compact(&buf, def); err != nil {
			return &InvalidAppError{Errors: []*config.FieldError{{Message: "invalid JSON", Err: config.ErrSyntax}}}
		}
		if _, err := config.DecodeApp(buf.Bytes()); err != nil {
			return &InvalidAppError{Errors: fieldErrors(err)}
		}
		s = next.app(name)
		s.App = buf.Bytes()
	} else {
		delete(next.Apps, name)
	}
	// The app alone is validated, against the apps the edge serves: a
	// change costs in proportion to the app, not to the number of apps.
	if app, _, ok := effectiveApp(raw, next, name, a.now()); ok {
		if err := a.edge.CheckApp(name, app); err != nil {
			return &InvalidAppError{Errors: sourcedErrors(raw, validationOf(err))}
		}
	}
	return a.commit(ctx, name, cur, s)
}

// fieldErrors returns the field errors of a validation error.
func fieldErrors(err error) []*config.FieldError {
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		return ve.Errors
	}
	return []*config.FieldError{{Message: err.Error()}}
}

// validationOf returns the validation error in err, or err itself.
func validationOf(err error) error {
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		return ve
	}
	return err
}

// otherApp finds the app a message about a domain of another app names.
var otherApp = regexp.MustCompile(`of app ("(?:[^"\\]|\\.)*")$`)

// sourcedErrors returns the field errors of err, saying where the other
// apps they name come from.
func sourcedErrors(raw *config.Config, err error) []*config.FieldError {
	var out []*config.FieldError
	for _, fe := range fieldErrors(err) {
		fe := *fe
		if m := otherApp.FindStringSubmatch(fe.Message); m != nil {
			if other, uerr := strconv.Unquote(m[1]); uerr == nil {
				if isFileApp(raw, other) {
					fe.Message += " (from the configuration file)"
				} else {
					fe.Message += " (created through the API)"
				}
			}
		}
		out = append(out, &fe)
	}
	return out
}

// serveCreate answers POST /api/apps: 201 with the app.
func (a *Admin) serveCreate(w http.ResponseWriter, r *http.Request) {
	def, ok := readBody(w, r)
	if !ok {
		return
	}
	name, err := a.CreateApp(r.Context(), def)
	if err != nil {
		a.writeChangeError(w, err)
		return
	}
	v, _ := a.App(name)
	w.Header().Set("Location", "/api/apps/"+url.PathEscape(name))
	writeJSON(w, http.StatusCreated, v)
}

// serveDefine answers PUT and DELETE /api/apps/{name}.
func (a *Admin) serveDefine(w http.ResponseWriter, r *http.Request, name string) {
	if r.Method == http.MethodDelete {
		warning, err := a.DeleteApp(r.Context(), name)
		if err != nil {
			a.writeDefineError(w, name, err)
			return
		}
		body := map[string]any{"deleted": name}
		if warning != "" {
			body["warning"] = warning
		}
		writeJSON(w, http.StatusOK, body)
		return
	}
	def, ok := readBody(w, r)
	if !ok {
		return
	}
	if err := a.ReplaceApp(r.Context(), name, def); err != nil {
		a.writeDefineError(w, name, err)
		return
	}
	a.writeApp(w, name, nil)
}

// DomainRequest is the body of POST /api/apps/{name}/domains.
type DomainRequest struct {
	Domain string `json:"domain"`
}

// serveDomains answers POST /api/apps/{name}/domains and DELETE
// /api/apps/{name}/domains/{domain}.
func (a *Admin) serveDomains(w http.ResponseWriter, r *http.Request, parts []string) {
	name := parts[0]
	var err error
	if len(parts) == 2 {
		if !allow(w, r, http.MethodPost) {
			return
		}
		var req DomainRequest
		if !readJSON(w, r, &req) {
			return
		}
		if req.Domain == "" {
			writeError(w, http.StatusBadRequest, `"domain" is required`)
			return
		}
		err = a.AddDomain(r.Context(), name, req.Domain)
	} else {
		if !allow(w, r, http.MethodDelete) {
			return
		}
		err = a.RemoveDomain(r.Context(), name, parts[2])
	}
	if err != nil {
		a.writeDefineError(w, name, err)
		return
	}
	a.writeApp(w, name, nil)
}

// writeDefineError is writeChangeError, naming the closest app when
// there is none called name.
func (a *Admin) writeDefineError(w http.ResponseWriter, name string, err error) {
	if errors.Is(err, ErrUnknownApp) {
		a.writeUnknownApp(w, name)
		return
	}
	a.writeChangeError(w, err)
}

// readBody reads r's body, one JSON value, answering 413 or 400 when it
// cannot.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	data, ok := readAll(w, r)
	if !ok {
		return nil, false
	}
	if !json.Valid(data) {
		writeError(w, http.StatusBadRequest, "invalid JSON body: syntax error")
		return nil, false
	}
	return data, true
}

// maxListLimit bounds a page of GET /api/apps.
const maxListLimit = 1000

// serveList answers GET /api/apps?domain=&limit=&after=: with limit or
// after, the apps by name after the cursor "after", at most limit
// (default and maximum 1000), and "next", the cursor of the next page,
// absent on the last; without either, the configuration file's apps in
// its order, then the API's by name (up to 1000, with "next" beyond).
// domain keeps the apps serving it.
func (a *Admin) serveList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := maxListLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxListLimit {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit: a number from 1 to %d", maxListLimit))
			return
		}
		limit = n
	}
	after, domain := q.Get("after"), strings.ToLower(strings.TrimSuffix(q.Get("domain"), "."))
	all := a.Apps()
	if q.Has("limit") || q.Has("after") {
		// Pages go by name, so that a cursor survives changes.
		slices.SortFunc(all, func(x, y AppView) int { return strings.Compare(x.Name, y.Name) })
	}
	page := []AppView{}
	next := ""
	for _, v := range all {
		if after != "" && v.Name <= after {
			continue
		}
		if domain != "" && !slices.ContainsFunc(v.Domains, func(d string) bool {
			return strings.ToLower(strings.TrimSuffix(d, ".")) == domain
		}) {
			continue
		}
		if len(page) == limit {
			next = page[len(page)-1].Name
			break
		}
		page = append(page, v)
	}
	body := map[string]any{"apps": page}
	if next != "" {
		body["next"] = next
	}
	writeJSON(w, http.StatusOK, body)
}

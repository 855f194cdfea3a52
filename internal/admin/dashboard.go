package admin

import (
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"strings"
)

//go:embed ui
var ui embed.FS

var pages = template.Must(template.ParseFS(ui, "ui/page.html"))

// dashboardCSP allows the stylesheet and forms to the dashboard itself,
// and nothing else: no scripts, no inline styles, no framing.
const dashboardCSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (a *Admin) dashboard(mux *http.ServeMux) {
	css, _ := ui.ReadFile("ui/admin.css")
	mux.HandleFunc("GET /static/admin.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write(css)
	})
	mux.HandleFunc("GET /{$}", a.serveIndex)
	mux.HandleFunc("POST /login", a.serveLogin)
	mux.HandleFunc("POST /logout", a.withSession(a.serveLogout))
	mux.HandleFunc("POST /apps/{name}/check", a.withSession(a.serveCheck))
	mux.HandleFunc("POST /apps/{name}/enable", a.withSession(a.serveEnable))
	mux.HandleFunc("POST /apps/{name}/disable", a.withSession(a.serveDisable))
	mux.HandleFunc("POST /apps/{name}/reset", a.withSession(a.serveResetForm))
}

// session returns r's session and id, or nil.
func (a *Admin) session(r *http.Request) (string, *session) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", nil
	}
	se := a.sessions.get(c.Value, a.now())
	if se != nil && !a.tokens.has(se.who) {
		// Its token was removed: so is the session.
		a.sessions.remove(c.Value)
		return "", nil
	}
	return c.Value, se
}

// withSession lets POST requests through only with a session and its
// CSRF token in the form.
func (a *Admin) withSession(h func(http.ResponseWriter, *http.Request, string, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, se := a.session(r)
		if se == nil {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		setWho(r, "dashboard:"+se.who)
		if err := r.ParseForm(); err != nil {
			a.page(w, http.StatusBadRequest, "login", map[string]any{"Error": "The form could not be read."})
			return
		}
		if !tokensEqual(r.PostForm.Get("csrf"), se.csrf) {
			writeError(w, http.StatusForbidden, "invalid CSRF token; reload the page")
			return
		}
		h(w, r, id, se)
	}
}

func tokensEqual(a, b string) bool {
	ha, hb := hashToken(a), hashToken(b)
	return a != "" && subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

func (a *Admin) page(w http.ResponseWriter, status int, name string, data any) {
	var b strings.Builder
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		a.log.Error("admin: dashboard template", "error", err.Error())
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", dashboardCSP)
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

func (a *Admin) serveIndex(w http.ResponseWriter, r *http.Request) {
	_, se := a.session(r)
	if se == nil {
		a.page(w, http.StatusOK, "login", map[string]any{})
		return
	}
	a.page(w, http.StatusOK, "index", map[string]any{"Apps": a.Apps(), "CSRF": se.csrf, "Cluster": a.clusterStatus(r.Context())})
}

func (a *Admin) serveLogin(w http.ResponseWriter, r *http.Request) {
	who, ok := "", false
	if err := r.ParseForm(); err == nil {
		who, ok = a.tokens.match(strings.TrimSpace(r.PostForm.Get("token")))
	}
	if !ok {
		a.page(w, http.StatusUnauthorized, "login", map[string]any{"Error": "Wrong token."})
		return
	}
	id, _ := a.sessions.create(a.now(), who)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/",
		MaxAge: int(sessionLifetime.Seconds()), HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *Admin) serveLogout(w http.ResponseWriter, r *http.Request, id string, _ *session) {
	a.sessions.remove(id)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *Admin) serveCheck(w http.ResponseWriter, r *http.Request, _ string, se *session) {
	name := r.PathValue("name")
	raw := a.edge.Config()
	app, ok := a.findApp(raw, a.state.Load(), name)
	if !ok {
		writeError(w, http.StatusNotFound, "no app with this name")
		return
	}
	report := a.Preflight(r.Context(), app)
	a.page(w, http.StatusOK, "check", map[string]any{"App": app, "Report": report, "CSRF": se.csrf})
}

func (a *Admin) serveEnable(w http.ResponseWriter, r *http.Request, _ string, se *session) {
	name := r.PathValue("name")
	req := EnableRequest{Force: r.PostForm.Get("force") == "1", Ramp: r.PostForm.Get("ramp") == "1"}
	report, err := a.Enable(r.Context(), name, req)
	if errors.Is(err, ErrPreflight) {
		app, _ := a.findApp(a.edge.Config(), a.state.Load(), name)
		a.page(w, http.StatusConflict, "check", map[string]any{"App": app, "Report": report, "CSRF": se.csrf})
		return
	}
	if err != nil {
		a.writeChangeError(w, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *Admin) serveDisable(w http.ResponseWriter, r *http.Request, _ string, _ *session) {
	if err := a.Disable(r.Context(), r.PathValue("name"), DisableRequest{Drain: strings.TrimSpace(r.PostForm.Get("drain"))}); err != nil {
		a.writeChangeError(w, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// serveResetForm resets an app to the file's values; a failed preflight
// shows the check page, whose button resets anyway.
func (a *Admin) serveResetForm(w http.ResponseWriter, r *http.Request, _ string, se *session) {
	name := r.PathValue("name")
	report, err := a.Reset(r.Context(), name, ResetRequest{Force: r.PostForm.Get("force") == "1"})
	if errors.Is(err, ErrPreflight) {
		app, _ := a.findApp(a.edge.Config(), a.state.Load(), name)
		a.page(w, http.StatusConflict, "check", map[string]any{"App": app, "Report": report, "CSRF": se.csrf, "Reset": true})
		return
	}
	if err != nil {
		a.writeChangeError(w, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

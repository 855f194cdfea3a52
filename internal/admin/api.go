package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// maxBodyBytes bounds request bodies of the API and the dashboard.
const maxBodyBytes = 64 << 10

// Handler returns the handler of the admin listener: the API under /api/
// and the dashboard. Pass it to the edge with [edge.WithAdminHandler].
func (a *Admin) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", a.serveAPI)
	a.dashboard(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// Not no-referrer: with it, browsers send "Origin: null" on form
		// posts, which the Origin check refuses.
		h.Set("Referrer-Policy", "same-origin")
		if !a.hostAllowed(r.Host) {
			writeError(w, http.StatusMisdirectedRequest, "this host name is not allowed; use the admin listener's address")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
			writeError(w, http.StatusForbidden, "cross-origin request refused")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			mux.ServeHTTP(w, r)
			return
		}
		a.withAudit(mux, w, r)
	})
}

// hostAllowed reports whether a Host value names this admin listener:
// localhost, 127.0.0.1 or [::1] on any port, the listener's address, or
// an allowed host. Anything else may be a DNS-rebinding attack.
func (a *Admin) hostAllowed(hostport string) bool {
	if hostport == "" {
		return false
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	switch host {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	if a.edge != nil {
		if admin := a.edge.Addrs().Admin; admin != "" && asciiEqualFold(admin, hostport) {
			return true
		}
	}
	for _, allowed := range a.o.AllowedHosts {
		if asciiEqualFold(allowed, hostport) || asciiEqualFold(allowed, host) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether a state-changing request has no Origin or
// an Origin equal to its own scheme and Host.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Values("Origin")
	if len(origin) == 0 {
		return true
	}
	if len(origin) > 1 {
		return false
	}
	// A browser sends the serialized origin, scheme "://" host[:port],
	// nothing else: compare it whole rather than through a URL parser,
	// which would let "http://host#" or "http://host?" pass.
	o, prefix := origin[0], "http://"
	if r.TLS != nil {
		prefix = "https://"
	}
	return r.Host != "" && len(o) == len(prefix)+len(r.Host) &&
		asciiEqualFold(o[:len(prefix)], prefix) && asciiEqualFold(o[len(prefix):], r.Host)
}

// asciiEqualFold compares s and t ignoring ASCII case only. strings.EqualFold
// would decode invalid UTF-8 on both sides to U+FFFD and call "\xc9" and
// "\xd0" equal.
func asciiEqualFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], t[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// hashToken is what tokens are compared as: equal lengths, so that the
// comparison time says nothing about the token's length.
func hashToken(t string) [32]byte { return sha256.Sum256([]byte(t)) }

// validToken reports whether t is a valid token, comparing it with each
// in constant time.
func (a *Admin) validToken(t string) bool {
	_, ok := a.tokens.match(t)
	return ok
}

// bearer returns the bearer token of r, or "".
func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func (a *Admin) serveAPI(w http.ResponseWriter, r *http.Request) {
	tok, ok := bearer(r)
	who := ""
	if ok {
		who, ok = a.tokens.match(tok)
	}
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="forcehttps admin"`)
		writeError(w, http.StatusUnauthorized, "a valid bearer token is required")
		return
	}
	setWho(r, who)
	if r.URL.Path == "/api/cluster" {
		a.serveCluster(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/apps")
	if !ok {
		writeError(w, http.StatusNotFound, "no such API endpoint")
		return
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	if rest == "" || rest == "/" {
		parts = nil
	}
	if rest != "" && rest[0] != '/' {
		writeError(w, http.StatusNotFound, "no such API endpoint")
		return
	}
	switch len(parts) {
	case 0:
		if !allow(w, r, http.MethodGet, http.MethodPost) {
			return
		}
		if r.Method == http.MethodPost {
			a.serveCreate(w, r)
			return
		}
		a.serveList(w, r)
	case 1:
		name := parts[0]
		if !allow(w, r, http.MethodGet, http.MethodPatch, http.MethodPut, http.MethodDelete) {
			return
		}
		if r.Method == http.MethodPut || r.Method == http.MethodDelete {
			a.serveDefine(w, r, name)
			return
		}
		if _, ok := a.App(name); !ok {
			a.writeUnknownApp(w, name)
			return
		}
		if r.Method == http.MethodPatch {
			var req PatchRequest
			if !readJSON(w, r, &req) {
				return
			}
			if err := a.Patch(r.Context(), name, req); err != nil {
				a.writeChangeError(w, err)
				return
			}
		}
		a.writeApp(w, name, nil)
	case 2, 3:
		if parts[1] == "domains" {
			a.serveDomains(w, r, parts)
			return
		}
		if len(parts) == 3 {
			writeError(w, http.StatusNotFound, "no such API endpoint")
			return
		}
		name, action := parts[0], parts[1]
		if action != "enable" && action != "disable" && action != "reset" {
			writeError(w, http.StatusNotFound, "no such API endpoint")
			return
		}
		if !allow(w, r, http.MethodPost) {
			return
		}
		if _, ok := a.App(name); !ok {
			a.writeUnknownApp(w, name)
			return
		}
		if action == "reset" {
			a.serveReset(w, r, name)
			return
		}
		if action == "enable" {
			var req EnableRequest
			if !readJSON(w, r, &req) {
				return
			}
			report, err := a.Enable(r.Context(), name, req)
			a.writeOutcome(w, name, report, err)
			return
		}
		var req DisableRequest
		if !readJSON(w, r, &req) {
			return
		}
		if err := a.Disable(r.Context(), name, req); err != nil {
			a.writeChangeError(w, err)
			return
		}
		a.writeApp(w, name, nil)
	default:
		writeError(w, http.StatusNotFound, "no such API endpoint")
	}
}

// allow answers 405 unless r's method is one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	return false
}

// readJSON decodes r's body into v; an empty body leaves v as it is.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	data, ok := readAll(w, r)
	if !ok {
		return false
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return true
	}
	if err := decodeStrict(data, v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+jsonProblem(err))
		return false
	}
	return true
}

// readAll reads r's body whole, answering 413 or 400 when it cannot.
func readAll(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "could not read the request body")
		return nil, false
	}
	return data, true
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return "syntax error"
	case errors.As(err, &typ):
		return "wrong type for field " + typ.Field
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "malformed"
}

func (a *Admin) writeChangeError(w http.ResponseWriter, err error) {
	var conflict *ConflictError
	var invalid *InvalidAppError
	switch {
	case errors.As(err, &conflict):
		body := map[string]any{
			"error":         "the app was changed by someone else meanwhile; nothing was changed: check its current state and try again",
			"state_version": conflict.Current.Version,
		}
		if v, ok := a.App(conflict.App); ok {
			body["app"] = v
		}
		writeJSON(w, http.StatusConflict, body)
	case errors.Is(err, ErrStoreUnavailable):
		a.log.Warn("admin: change refused: the cluster store is unreachable", "error", err.Error())
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "the cluster store (PostgreSQL) is unreachable: nothing was changed; every replica keeps serving the last state it applied")
	case errors.Is(err, ErrFileApp):
		where := "the configuration file"
		if a.o.ConfigPath != "" {
			where += " (" + a.o.ConfigPath + ")"
		}
		writeError(w, http.StatusConflict, "this app comes from "+where+": the API does not change it; edit the file and reload instead")
	case errors.Is(err, ErrAppExists):
		writeError(w, http.StatusConflict, "an app with this name exists already: replace it with PUT /api/apps/{name}")
	case errors.Is(err, ErrUnknownDomain):
		writeError(w, http.StatusNotFound, "the app has no such domain")
	case errors.As(err, &invalid):
		type fieldError struct {
			Path    string `json:"path,omitempty"`
			Message string `json:"message"`
		}
		list := make([]fieldError, len(invalid.Errors))
		for i, fe := range invalid.Errors {
			list[i] = fieldError{fe.Path, fe.Message}
		}
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": invalid.Error(), "errors": list})
	case errors.Is(err, ErrUnknownApp):
		writeError(w, http.StatusNotFound, "no app with this name")
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "admin: invalid change: "))
	default:
		a.log.Error("admin: change failed", "error", err.Error())
		writeError(w, http.StatusInternalServerError, "the change could not be applied; the previous state is kept (see the edge's log)")
	}
}

func (a *Admin) writeApp(w http.ResponseWriter, name string, report *Preflight) {
	v, ok := a.App(name)
	if !ok {
		writeError(w, http.StatusNotFound, "no app with this name")
		return
	}
	if report != nil {
		writeJSON(w, http.StatusOK, struct {
			AppView
			Preflight *Preflight `json:"preflight"`
		}{v, report})
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// sessions are the dashboard's logins, by random id.
type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

type session struct {
	who     string // the name of the token that logged in
	csrf    string
	expires time.Time
}

const (
	sessionCookie   = "forcehttps_admin"
	sessionLifetime = 12 * time.Hour
	maxSessions     = 1000
)

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newSession starts a session and returns its id.
func (s *sessions) create(now time.Time, who string) (string, *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, se := range s.m {
		if !now.Before(se.expires) {
			delete(s.m, id)
		}
	}
	for len(s.m) >= maxSessions {
		var oldest string
		for id, se := range s.m {
			if oldest == "" || se.expires.Before(s.m[oldest].expires) {
				oldest = id
			}
		}
		delete(s.m, oldest)
	}
	id := randomHex(32)
	se := &session{who: who, csrf: randomHex(32), expires: now.Add(sessionLifetime)}
	s.m[id] = se
	return id, se
}

func (s *sessions) get(id string, now time.Time) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.m[id]
	if se == nil || !now.Before(se.expires) {
		delete(s.m, id)
		return nil
	}
	return se
}

func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// RandomToken returns a new random token for the API.
func RandomToken() string { return randomHex(32) }

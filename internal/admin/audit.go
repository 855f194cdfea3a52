package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// auditKey is the context key of a request's *auditEntry.
type auditKey struct{}

// auditEntry is what the audit log says of one state-changing request.
type auditEntry struct {
	Time   time.Time       `json:"time"`
	Who    string          `json:"who"`
	Action string          `json:"action"`
	App    string          `json:"app,omitempty"`
	Detail json.RawMessage `json:"detail,omitempty"`
	Peer   string          `json:"peer"`
	Status int             `json:"status"`
}

// audit records what a state-changing request does: action (such as
// "enable"), the app it changes, and detail, the request's parameters,
// marshalled to JSON: never pass a secret in it. It is the one hook of
// the audit log: call it from every change path with the request's
// context; the admin's handler logs the entry, with who, from where and
// the status, once the request is answered. Outside a request of the
// admin's handler it does nothing.
func (a *Admin) audit(ctx context.Context, action, app string, detail any) {
	e, _ := ctx.Value(auditKey{}).(*auditEntry)
	if e == nil {
		return
	}
	e.Action, e.App = action, app
	if detail != nil {
		if data, err := json.Marshal(detail); err == nil {
			e.Detail = data
		}
	}
}

// setWho records who the request authenticated as: a token name, or
// "dashboard:" and a token name.
func setWho(r *http.Request, who string) {
	if e, _ := r.Context().Value(auditKey{}).(*auditEntry); e != nil {
		e.Who = who
	}
}

// statusWriter records the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withAudit serves a state-changing request through h and logs it if it
// was authenticated: with the action [Admin.audit] recorded, or else the
// method and path, so that no authenticated change goes unlogged.
func (a *Admin) withAudit(h http.Handler, w http.ResponseWriter, r *http.Request) {
	e := &auditEntry{Time: a.now().UTC(), Peer: r.RemoteAddr}
	sw := &statusWriter{ResponseWriter: w}
	h.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), auditKey{}, e)))
	if e.Who == "" {
		return // not authenticated: nothing changed
	}
	if e.Action == "" {
		if r.URL.Path == "/logout" || r.URL.Path == "/login" {
			return
		}
		if strings.HasSuffix(r.URL.Path, "/check") {
			return // a preflight changes nothing
		}
		e.Action = r.Method + " " + r.URL.Path
	}
	e.Status = sw.status
	if e.Status == 0 {
		e.Status = http.StatusOK
	}
	a.log.Info("admin: audit", "who", e.Who, "action", e.Action, "app", e.App,
		"detail", string(e.Detail), "peer", e.Peer, "status", e.Status)
	if a.auditFile != nil {
		a.auditFile.write(a, e)
	}
}

// auditFile appends entries to a JSON-lines file.
type auditFile struct {
	mu sync.Mutex
	f  *os.File
}

func openAuditFile(path string) (*auditFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &auditFile{f: f}, nil
}

func (af *auditFile) write(a *Admin, e *auditEntry) {
	line, err := json.Marshal(e)
	if err != nil {
		return
	}
	af.mu.Lock()
	defer af.mu.Unlock()
	if _, err := af.f.Write(append(line, '\n')); err != nil {
		a.log.Error("admin: cannot write the audit log", "error", err.Error())
	}
}

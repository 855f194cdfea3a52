package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/forcehttps/forcehttps/internal/config"
)

// ResetRequest is the body of a reset.
type ResetRequest struct {
	// Force skips the preflight when the reset turns Force HTTPS on.
	Force bool `json:"force"`
	// Drain is how long max-age=0 is sent when the reset turns Force
	// HTTPS off after HSTS was sent, such as "720h". Empty: the longest
	// max-age sent.
	Drain string `json:"drain"`
}

// Reset drops the changes made through the API to app name, so that the
// configuration file's values apply again. The rules of enable and
// disable still hold: if the file turns Force HTTPS on where it was off,
// the preflight runs first unless req.Force (a failed one returns the
// report and an error wrapping [ErrPreflight]); if it turns it off after
// HSTS was sent, max-age=0 is sent for the drain; a drain in progress
// goes on while Force HTTPS stays off, and a ramp in progress (an API
// setting: the file has none) goes on while it stays on. The largest
// max-age sent is kept.
func (a *Admin) Reset(ctx context.Context, name string, req ResetRequest) (*Preflight, error) {
	a.audit(ctx, "reset", name, req)
	drain, given, err := parseDrain(req.Drain)
	if err != nil {
		return nil, err
	}
	if a.edge == nil {
		return nil, fmt.Errorf("admin: no edge attached")
	}
	var report *Preflight
	raw := a.edge.Config()
	eff, ok := a.findApp(raw, a.state.Load(), name)
	file := fileApp(raw, name)
	if !ok || file == nil {
		return nil, ErrUnknownApp
	}
	if file.ForceHTTPS && !eff.ForceHTTPS && !req.Force {
		report = a.Preflight(ctx, file)
		if !report.OK {
			return report, ErrPreflight
		}
	}
	var dropped []string
	err = a.change(ctx, name, func(raw *config.Config, eff *config.App, s *AppState) error {
		file := fileApp(raw, name)
		if file == nil {
			return ErrUnknownApp
		}
		for _, f := range overrideFields {
			if f.api(s) != nil {
				dropped = append(dropped, f.key)
			}
		}
		now := a.now()
		old := *s
		*s = AppState{MaxAgeSent: old.MaxAgeSent}
		switch {
		case file.ForceHTTPS && eff.ForceHTTPS:
			// On before and after: a ramp in progress goes on rather
			// than jumping to the file's max-age at once.
			s.EnabledAt, s.Ramp = old.EnabledAt, old.Ramp
		case file.ForceHTTPS:
			s.EnabledAt = now
		case eff.ForceHTTPS:
			// The file turns Force HTTPS off: drain as a disable does.
			s.DisabledAt = now
			d := drain
			if !given {
				d = time.Duration(s.MaxAgeSent) * time.Second
			}
			if s.MaxAgeSent > 0 && d > 0 {
				s.DrainUntil = now.Add(d)
			}
		case eff.HSTS.Revoke:
			// Off before and after: a drain in progress goes on.
			s.DisabledAt, s.DrainUntil = old.DisabledAt, old.DrainUntil
		default:
			s.DisabledAt = old.DisabledAt
		}
		return nil
	})
	if err != nil {
		return report, err
	}
	a.log.Info("admin: changes made through the API dropped; the configuration file's values apply", "app", name, "keys", dropped, "forced", req.Force)
	a.warnDrain(name)
	return report, nil
}

// parseDrain reads the drain of a request: "" is not given.
func parseDrain(s string) (time.Duration, bool, error) {
	if s == "" {
		return 0, false, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, false, fmt.Errorf("%w: drain %q is not a duration such as \"720h\"", ErrInvalid, s)
	}
	return d, true, nil
}

// warnDrain logs the drain warning of app name, if it has one.
func (a *Admin) warnDrain(name string) {
	if v, ok := a.App(name); ok && v.Warning != "" {
		a.log.Warn("admin: the drain is shorter than the largest HSTS max-age sent", "app", name, "detail", v.Warning)
	}
}

// serveReset is POST /api/apps/{name}/reset.
func (a *Admin) serveReset(w http.ResponseWriter, r *http.Request, name string) {
	var req ResetRequest
	if !readJSON(w, r, &req) {
		return
	}
	report, err := a.Reset(r.Context(), name, req)
	a.writeOutcome(w, name, report, err)
}

// writeOutcome answers an enable or a reset: 409 with the report of a
// failed preflight, the error of a refused change, or the app with the
// report.
func (a *Admin) writeOutcome(w http.ResponseWriter, name string, report *Preflight, err error) {
	switch {
	case errors.Is(err, ErrPreflight):
		writePreflightFailed(w, report)
	case err != nil:
		a.writeChangeError(w, err)
	default:
		a.writeApp(w, name, report)
	}
}

// preflightFailed is the error of a refused enable or reset. It names the
// CLI's flag and the API's field that skip the check.
const preflightFailed = `the preflight failed on some domains: fix them, or skip the check with --force (API: "force": true)`

func writePreflightFailed(w http.ResponseWriter, report *Preflight) {
	writeJSON(w, http.StatusConflict, map[string]any{"error": preflightFailed, "preflight": report})
}

// writeUnknownApp answers 404 naming the app, with the closest name or
// the list of apps.
func (a *Admin) writeUnknownApp(w http.ResponseWriter, name string) {
	var names []string
	for _, v := range a.Apps() {
		names = append(names, v.Name)
	}
	if len(name) > 64 {
		name = name[:64] + "..."
	}
	msg := fmt.Sprintf("no app named %q", name)
	switch c := config.Closest(name, names); {
	case c != "":
		msg += fmt.Sprintf("; did you mean %q?", c)
	case len(names) == 0:
		msg += "; the configuration has no apps"
	case len(names) <= 20:
		msg += "; apps: " + strings.Join(names, ", ")
	}
	writeError(w, http.StatusNotFound, msg)
}

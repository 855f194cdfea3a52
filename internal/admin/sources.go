package admin

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/forcehttps/forcehttps/internal/config"
)

// Where an effective value comes from.
const (
	SourceFile = "file" // the configuration file
	SourceAPI  = "api"  // a change made through the admin API, kept in the state file
)

// FieldSource says where one effective value of an app comes from.
type FieldSource struct {
	// From is "file" or "api".
	From string `json:"from"`
	// File is the configuration file's value, when the API overrides it.
	File any `json:"file,omitempty"`
}

// overrideField is one app key the state can override.
type overrideField struct {
	key  string
	file func(*config.App) any
	// api returns the state's value, or nil when the file's is used.
	api func(*AppState) any
}

// overrideFields are the keys of an app the admin API can change, with
// their names in the configuration file.
var overrideFields = []overrideField{
	{"force_https", func(a *config.App) any { return a.ForceHTTPS }, func(s *AppState) any { return deref(s.ForceHTTPS) }},
	{"hsts.max_age", func(a *config.App) any { return a.HSTS.MaxAge }, func(s *AppState) any { return deref(hstsOf(s).MaxAge) }},
	{"hsts.include_subdomains", func(a *config.App) any { return a.HSTS.IncludeSubdomains }, func(s *AppState) any { return deref(hstsOf(s).IncludeSubdomains) }},
	{"hsts.preload", func(a *config.App) any { return a.HSTS.Preload }, func(s *AppState) any { return deref(hstsOf(s).Preload) }},
	{"redirect.status", func(a *config.App) any { return a.Redirect.Status }, func(s *AppState) any { return deref(redirectOf(s).Status) }},
	{"redirect.unsafe_status", func(a *config.App) any { return a.Redirect.UnsafeStatus }, func(s *AppState) any { return deref(redirectOf(s).UnsafeStatus) }},
	{"redirect.temporary", func(a *config.App) any { return a.Redirect.Temporary }, func(s *AppState) any { return deref(redirectOf(s).Temporary) }},
}

// deref returns *p, or nil (not a typed nil) when p is nil.
func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func hstsOf(s *AppState) *HSTSOverride {
	if s.HSTS == nil {
		return &HSTSOverride{}
	}
	return s.HSTS
}

func redirectOf(s *AppState) *RedirectOverride {
	if s.Redirect == nil {
		return &RedirectOverride{}
	}
	return s.Redirect
}

// sources returns where each key of [overrideFields] of an app comes
// from: file is the app as the configuration file has it, s its state
// (nil: none).
func sources(file *config.App, s *AppState) map[string]FieldSource {
	out := make(map[string]FieldSource, len(overrideFields))
	for _, f := range overrideFields {
		if s == nil || file == nil || f.api(s) == nil {
			out[f.key] = FieldSource{From: SourceFile}
			continue
		}
		out[f.key] = FieldSource{From: SourceAPI, File: f.file(file)}
	}
	return out
}

// fileApp returns the app name of cfg as the file has it, or nil.
func fileApp(cfg *config.Config, name string) *config.App {
	if cfg == nil {
		return nil
	}
	for i := range cfg.Apps {
		if cfg.Apps[i].Name == name {
			return &cfg.Apps[i]
		}
	}
	return nil
}

// logOverrides says, when the configuration file is applied, which of
// its values the state overrides: at the first build (prev nil) those
// that differ from the state's, afterwards those the file has just
// changed, which would otherwise be ignored without a word.
func (a *Admin) logOverrides(prev, cur *config.Config, st *State) {
	if prev == cur {
		return
	}
	for i := range cur.Apps {
		app := &cur.Apps[i]
		s := st.Apps[app.Name]
		if s == nil {
			continue
		}
		old := fileApp(prev, app.Name)
		for _, f := range overrideFields {
			v := f.api(s)
			if v == nil {
				continue
			}
			fv := f.file(app)
			switch {
			case prev == nil && fv != v:
				a.log.Info("admin: a change made through the admin API overrides the configuration file",
					"app", app.Name, "key", f.key, "file", fv, "effective", v,
					"hint", "forcehttps apps reset "+app.Name+" returns to the file's values")
			case prev != nil && old != nil && f.file(old) != fv:
				a.log.Warn("admin: the configuration file changed a value that a change made through the admin API overrides; the API's value stays in effect",
					"app", app.Name, "key", f.key, "file_before", f.file(old), "file", fv, "effective", v,
					"hint", "forcehttps apps reset "+app.Name+" returns to the file's values")
			}
		}
	}
}

// drainWarning says how long browsers keep forcing HTTPS after the drain
// of a disabled app ends, when its drain is shorter than the largest
// max-age sent; "" otherwise, or once those pins have expired.
func drainWarning(forceHTTPS bool, s *AppState, now time.Time) string {
	if s == nil || forceHTTPS || s.DisabledAt.IsZero() || s.MaxAgeSent <= 0 {
		return ""
	}
	pinsEnd := s.DisabledAt.Add(time.Duration(s.MaxAgeSent) * time.Second)
	drainEnd := s.DisabledAt
	if s.DrainUntil.After(drainEnd) {
		drainEnd = s.DrainUntil
	}
	if !drainEnd.Before(pinsEnd) || !now.Before(pinsEnd) {
		return ""
	}
	until := pinsEnd.UTC().Format(time.RFC3339)
	d := drainEnd.Sub(s.DisabledAt)
	if d <= 0 {
		return fmt.Sprintf("No drain: max-age=0 is never sent, so browsers that saw max-age=%d keep forcing HTTPS for up to %s (until %s)",
			s.MaxAgeSent, humanDuration(pinsEnd.Sub(drainEnd)), until)
	}
	return fmt.Sprintf("The drain (%s) is shorter than the largest HSTS max-age sent (%d s): browsers that saw max-age=%d keep forcing HTTPS for up to %s after the drain ends (until %s); only those that visit over HTTPS during the drain see max-age=0",
		humanDuration(d), s.MaxAgeSent, s.MaxAgeSent, humanDuration(pinsEnd.Sub(drainEnd)), until)
}

// humanDuration writes d in days, hours and minutes, such as
// "364 days 23 h" or "45 min"; below a minute, in seconds.
func humanDuration(d time.Duration) string {
	if d < time.Minute {
		return strconv.FormatInt(int64(d/time.Second), 10) + " s"
	}
	days := int64(d / (24 * time.Hour))
	hours := int64(d % (24 * time.Hour) / time.Hour)
	mins := int64(d % time.Hour / time.Minute)
	var parts []string
	switch {
	case days == 1:
		parts = append(parts, "1 day")
	case days > 1:
		parts = append(parts, strconv.FormatInt(days, 10)+" days")
	}
	if hours > 0 {
		parts = append(parts, strconv.FormatInt(hours, 10)+" h")
	}
	if mins > 0 && days == 0 {
		parts = append(parts, strconv.FormatInt(mins, 10)+" min")
	}
	if len(parts) == 0 {
		return "0 min"
	}
	return strings.Join(parts, " ")
}

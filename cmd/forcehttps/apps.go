package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/forcehttps/forcehttps/internal/admin"
	"github.com/forcehttps/forcehttps/internal/certs"
	"github.com/forcehttps/forcehttps/internal/config"
	"github.com/forcehttps/forcehttps/internal/edge"
	"github.com/forcehttps/forcehttps/internal/pgstate"
)

func init() {
	register("apps", "list apps and turn Force HTTPS on and off through the admin API", runApps)
}

// newAdmin prepares the admin API of the edge, or returns nil without an
// admin listener. The state file is admin.state_file, else the
// configuration file's path plus ".state.json", else none (the embedded
// default). The token is read from admin.token_file; without one it is
// kept in the state file's path with ".token" for ".json", created at the
// first start (mode 0600), or, without a state file, generated and logged
// once.
//
// In cluster mode the state lives in the cluster's database instead.
func newAdmin(cfg *config.Config, file string, mgr *certs.Manager, logger *slog.Logger, cluster *pgstate.Store) (*admin.Admin, error) {
	if cfg.Admin.Listen == "" {
		return nil, nil
	}
	state := cfg.Admin.StateFile
	if state == "" && file != "" {
		state = file + ".state.json"
	}
	token, err := adminToken(cfg.Admin.TokenFile, state, logger)
	if err != nil {
		return nil, err
	}
	var roots []*x509.Certificate
	if a := cfg.TLS.ACME; a != nil && a.CARoot != "" {
		data, err := os.ReadFile(a.CARoot)
		if err != nil {
			return nil, fmt.Errorf("admin: tls.acme.ca_root: %w", err)
		}
		if roots, err = admin.ParseRoots(data); err != nil {
			return nil, fmt.Errorf("admin: tls.acme.ca_root: %w", err)
		}
	}
	var store admin.Store // nil: the state file
	var members admin.Cluster
	if cluster != nil {
		store, members = cluster, cluster
	}
	return admin.New(admin.Options{
		Store:        store,
		Cluster:      members,
		StateFile:    state,
		Token:        token,
		Roots:        roots,
		AllowedHosts: cfg.Admin.AllowedHosts,
		Logger:       logger,
		Certificates: func() []edge.CertificateInfo {
			var out []edge.CertificateInfo
			for _, c := range mgr.Certificates() {
				out = append(out, edge.CertificateInfo{Names: c.Names, NotAfter: c.NotAfter, Source: c.Source})
			}
			return out
		},
	})
}

// adminToken reads or creates the admin token.
func adminToken(tokenFile, state string, logger *slog.Logger) (string, error) {
	if tokenFile != "" {
		data, err := os.ReadFile(tokenFile)
		if err != nil {
			return "", fmt.Errorf("admin: token_file: %w", err)
		}
		t := strings.TrimSpace(string(data))
		if t == "" {
			return "", fmt.Errorf("admin: token_file %q is empty", tokenFile)
		}
		return t, nil
	}
	if state == "" {
		t := admin.RandomToken()
		logger.Info("admin: no token_file and no state file: this run's admin token", "token", t)
		return t, nil
	}
	path := strings.TrimSuffix(state, ".json") + ".token"
	data, err := os.ReadFile(path)
	if err == nil {
		if t := strings.TrimSpace(string(data)); t != "" {
			return t, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("admin: token: %w", err)
	}
	t := admin.RandomToken()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("admin: token: %w", err)
	}
	if _, err := f.WriteString(t + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("admin: token: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("admin: token: %w", err)
	}
	logger.Info("admin: generated the admin token", "file", path)
	return t, nil
}

const appsUsage = `Usage: forcehttps apps [flags] list
       forcehttps apps [flags] show NAME
       forcehttps apps [flags] enable NAME [--force] [--ramp]
       forcehttps apps [flags] disable NAME [--drain D]
       forcehttps apps [flags] set NAME [--redirect-status N] [--unsafe-status N]
                                        [--temporary=BOOL] [--hsts-max-age N]
                                        [--hsts-include-subdomains=BOOL] [--hsts-preload=BOOL]

A client of the edge's admin API. enable checks every domain over HTTPS
through the edge first and refuses if one fails (--force skips the check);
disable stops redirecting and, if HSTS was ever sent, sends max-age=0 for
the drain period (default: the longest max-age sent) so that browsers
forget it.

The token comes from --token-file, else the FORCEHTTPS_ADMIN_TOKEN
environment variable.

Exit status: 0 on success, 1 on errors (the API refused), 2 on usage
errors.

Flags:
`

// appsClient talks to the admin API.
type appsClient struct {
	base   string
	token  string
	client *http.Client
}

// runApps is the apps subcommand.
func runApps(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("apps", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, appsUsage)
		fs.PrintDefaults()
	}
	adminURL := fs.String("admin", "http://127.0.0.1:9090", "the admin listener's `URL`")
	tokenFile := fs.String("token-file", "", "read the admin token from `file`")
	asJSON := fs.Bool("json", false, "print the API's JSON instead of a table")
	timeout := fs.Duration("timeout", 60*time.Second, "bound on each API request")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprintln(stderr, "forcehttps apps: a command is required: list, show, enable, disable or set")
		fs.Usage()
		return 2
	}
	u, err := url.Parse(*adminURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "forcehttps apps: --admin %q is not an http or https URL\n", *adminURL)
		return 2
	}
	token := strings.TrimSpace(os.Getenv("FORCEHTTPS_ADMIN_TOKEN"))
	if *tokenFile != "" {
		data, err := os.ReadFile(*tokenFile)
		if err != nil {
			fmt.Fprintf(stderr, "forcehttps apps: %v\n", err)
			return 1
		}
		token = strings.TrimSpace(string(data))
	}
	if token == "" {
		fmt.Fprintln(stderr, "forcehttps apps: no token: use --token-file or set FORCEHTTPS_ADMIN_TOKEN")
		return 2
	}
	c := &appsClient{base: strings.TrimSuffix(u.String(), "/"), token: token, client: &http.Client{Timeout: *timeout}}
	cmd, rest := rest[0], rest[1:]
	sub := flag.NewFlagSet("apps "+cmd, flag.ContinueOnError)
	sub.SetOutput(stderr)
	var (
		force, ramp                                  *bool
		drain                                        *string
		redirectStatus, unsafeStatus                 *int
		maxAge                                       *int64
		temporary, includeSubdomains, preload, given = new(string), new(string), new(string), map[string]bool{}
	)
	switch cmd {
	case "list":
	case "show":
	case "enable":
		force = sub.Bool("force", false, "enable even if the HTTPS check fails")
		ramp = sub.Bool("ramp", false, "ramp HSTS max-age up: 300s, 1 week, 1 month, then the target")
	case "disable":
		drain = sub.String("drain", "", "how long to send max-age=0 (such as 720h); default: the longest max-age sent")
	case "set":
		redirectStatus = sub.Int("redirect-status", 0, "redirect status for GET and HEAD: 301, 302, 307 or 308")
		unsafeStatus = sub.Int("unsafe-status", 0, "redirect status for other methods: 307, 308, 403 or 426")
		maxAge = sub.Int64("hsts-max-age", 0, "HSTS max-age in seconds")
		sub.StringVar(temporary, "temporary", "", "true or false: temporary redirects (302, 307)")
		sub.StringVar(includeSubdomains, "hsts-include-subdomains", "", "true or false")
		sub.StringVar(preload, "hsts-preload", "", "true or false")
	default:
		fmt.Fprintf(stderr, "forcehttps apps: unknown command %q\n", cmd)
		fs.Usage()
		return 2
	}
	// Flags may come before or after NAME.
	var pos []string
	for {
		if err := sub.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		rest = sub.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
	sub.Visit(func(f *flag.Flag) { given[f.Name] = true })
	wantArgs := 1
	if cmd == "list" {
		wantArgs = 0
	}
	if len(pos) != wantArgs {
		if wantArgs == 0 {
			fmt.Fprintln(stderr, "forcehttps apps list: no argument expected")
		} else {
			fmt.Fprintf(stderr, "forcehttps apps %s: exactly one app NAME expected\n", cmd)
		}
		return 2
	}
	var (
		method, path string
		body         any
	)
	switch cmd {
	case "list":
		method, path = http.MethodGet, "/api/apps"
	case "show":
		method, path = http.MethodGet, "/api/apps/"+url.PathEscape(pos[0])
	case "enable":
		method, path = http.MethodPost, "/api/apps/"+url.PathEscape(pos[0])+"/enable"
		body = map[string]bool{"force": *force, "ramp": *ramp}
	case "disable":
		method, path = http.MethodPost, "/api/apps/"+url.PathEscape(pos[0])+"/disable"
		if *drain != "" {
			if _, err := time.ParseDuration(*drain); err != nil {
				fmt.Fprintf(stderr, "forcehttps apps disable: --drain %q is not a duration such as 720h\n", *drain)
				return 2
			}
		}
		body = map[string]string{"drain": *drain}
	case "set":
		method, path = http.MethodPatch, "/api/apps/"+url.PathEscape(pos[0])
		patch := map[string]map[string]any{}
		put := func(group, key string, v any) {
			if patch[group] == nil {
				patch[group] = map[string]any{}
			}
			patch[group][key] = v
		}
		if given["redirect-status"] {
			put("redirect", "status", *redirectStatus)
		}
		if given["unsafe-status"] {
			put("redirect", "unsafe_status", *unsafeStatus)
		}
		for _, b := range []struct {
			flag, group, key string
			v                *string
		}{
			{"temporary", "redirect", "temporary", temporary},
			{"hsts-include-subdomains", "hsts", "include_subdomains", includeSubdomains},
			{"hsts-preload", "hsts", "preload", preload},
		} {
			if !given[b.flag] {
				continue
			}
			switch *b.v {
			case "true":
				put(b.group, b.key, true)
			case "false":
				put(b.group, b.key, false)
			default:
				fmt.Fprintf(stderr, "forcehttps apps set: --%s wants true or false, not %q\n", b.flag, *b.v)
				return 2
			}
		}
		if given["hsts-max-age"] {
			put("hsts", "max_age", *maxAge)
		}
		if len(patch) == 0 {
			fmt.Fprintln(stderr, "forcehttps apps set: nothing to change")
			return 2
		}
		body = patch
	}
	status, data, err := c.do(ctx, method, path, body)
	if err != nil {
		fmt.Fprintf(stderr, "forcehttps apps: %v\n", err)
		return 1
	}
	if *asJSON {
		stdout.Write(data)
		if status >= 300 {
			return 1
		}
		return 0
	}
	if status >= 300 {
		printAPIError(stderr, status, data)
		return 1
	}
	if cmd == "list" {
		var list struct {
			Apps []admin.AppView `json:"apps"`
		}
		if err := json.Unmarshal(data, &list); err != nil {
			fmt.Fprintln(stderr, "forcehttps apps: the admin API answered with unexpected JSON")
			return 1
		}
		printAppTable(stdout, list.Apps)
		return 0
	}
	var v struct {
		admin.AppView
		Preflight *admin.Preflight `json:"preflight"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		fmt.Fprintln(stderr, "forcehttps apps: the admin API answered with unexpected JSON")
		return 1
	}
	if v.Preflight != nil {
		printPreflight(stdout, v.Preflight)
	}
	printApp(stdout, v.AppView)
	return 0
}

// do sends one API request and returns the status and body.
func (c *appsClient) do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("admin API: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("admin API: %w", err)
	}
	return resp.StatusCode, data, nil
}

// printAPIError prints an error answer, with the preflight report of a
// refused enable.
func printAPIError(w io.Writer, status int, data []byte) {
	var e struct {
		Error     string           `json:"error"`
		Preflight *admin.Preflight `json:"preflight"`
	}
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		fmt.Fprintf(w, "forcehttps apps: the admin API answered %d %s\n", status, http.StatusText(status))
		return
	}
	fmt.Fprintf(w, "forcehttps apps: %s (%d)\n", e.Error, status)
	if e.Preflight != nil {
		printPreflight(w, e.Preflight)
	}
}

func printAppTable(w io.Writer, apps []admin.AppView) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tFORCE HTTPS\tHSTS\tMAX-AGE\tREDIRECT\tDOMAINS")
	for _, a := range apps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", a.Name, onOff(a.ForceHTTPS), hstsState(a.HSTS), a.HSTS.EffectiveMaxAge, a.Redirect.Status, strings.Join(a.Domains, ","))
	}
	tw.Flush()
}

func printApp(w io.Writer, a admin.AppView) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Name:\t%s\n", a.Name)
	fmt.Fprintf(tw, "Force HTTPS:\t%s\n", onOff(a.ForceHTTPS))
	fmt.Fprintf(tw, "HSTS:\t%s, max-age=%d (target %d)\n", hstsState(a.HSTS), a.HSTS.EffectiveMaxAge, a.HSTS.Target)
	temp := ""
	if a.Redirect.Temporary {
		temp = " (temporary)"
	}
	fmt.Fprintf(tw, "Redirect:\t%d, other methods %d%s\n", a.Redirect.Status, a.Redirect.UnsafeStatus, temp)
	if a.EnabledAt != nil {
		fmt.Fprintf(tw, "Enabled at:\t%s\n", a.EnabledAt.UTC().Format(time.RFC3339))
	}
	if a.DrainUntil != nil {
		fmt.Fprintf(tw, "Drain until:\t%s\n", a.DrainUntil.UTC().Format(time.RFC3339))
	}
	for _, c := range a.Certificates {
		cert := "no certificate"
		if !c.Missing {
			cert = fmt.Sprintf("%s, expires %s", c.Source, c.NotAfter.UTC().Format("2006-01-02"))
		}
		fmt.Fprintf(tw, "Domain:\t%s\t%s\n", c.Domain, cert)
	}
	tw.Flush()
	fmt.Fprintln(w, a.Message)
}

func printPreflight(w io.Writer, p *admin.Preflight) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DOMAIN\tCHECK\tDETAIL")
	for _, d := range p.Domains {
		res := "ok"
		switch {
		case d.Skipped:
			res = "skipped"
		case !d.OK:
			res = "FAILED"
		}
		detail := d.Detail
		if d.OK && !d.Skipped {
			detail = fmt.Sprintf("HTTPS answered %d", d.Status)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Domain, res, detail)
	}
	tw.Flush()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func hstsState(h admin.HSTSView) string {
	if h.State == admin.HSTSRamping {
		return fmt.Sprintf("ramping %d/4", h.Stage)
	}
	return h.State
}

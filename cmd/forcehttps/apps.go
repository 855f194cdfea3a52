package main

import (
	"bytes"
	"context"
	"crypto/tls"
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
	"slices"
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
	// With a tokens file and no token file, the file's tokens only: no
	// generated token that nobody rotates.
	token := ""
	if cfg.Admin.TokenFile != "" || cfg.Admin.TokensFile == "" {
		t, err := adminToken(cfg.Admin.TokenFile, state, logger)
		if err != nil {
			return nil, err
		}
		token = t
	}
	roots, err := preflightRoots(cfg, mgr)
	if err != nil {
		return nil, err
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
		ConfigPath:   file,
		Token:        token,
		TokensFile:   cfg.Admin.TokensFile,
		AuditLog:     cfg.Admin.AuditLog,
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
		CertificateState: func(domain string) edge.CertificateState {
			st := mgr.DomainState(domain)
			return edge.CertificateState{
				State:    string(st.Status),
				OnDemand: st.OnDemand,
				Error:    st.Error,
				NextTry:  st.NextTry,
				Ready:    st.Ready(time.Now()),
			}
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

const appsUsage = `Usage: forcehttps apps COMMAND [NAME] [flags]

Commands:
  list                 the apps, their Force HTTPS and HSTS state
  show NAME            one app, with where each value comes from
  enable NAME          turn Force HTTPS on (--force, --ramp)
  disable NAME         turn Force HTTPS off (--drain D)
  reset NAME           drop the changes made through the API: the
                       configuration file's values apply again
                       (--force, --drain D)
  set NAME             change the redirect and HSTS policy
  create NAME          create an app (--domain D ... --upstream URL, or
                       --file app.json)
  delete NAME          delete an app created through the API
  domains add NAME D   add a domain to an app created through the API
  domains remove NAME D
                       remove a domain from it
  help [COMMAND]       this text, or a command's

A client of the edge's admin API. enable checks every domain over HTTPS
through the edge first and refuses if one fails (--force skips the check);
disable stops redirecting and, if HSTS was ever sent, sends max-age=0 for
the drain period (default: the longest max-age sent) so that browsers
forget it. What enable, disable and set change is kept in the edge's state
file and wins over the configuration file until reset. Apps created
through the API are kept there too; apps of the configuration file are
read-only through the API.

Flags may come before or after the command and NAME. The token comes from
--token-file, else the FORCEHTTPS_ADMIN_TOKEN environment variable; help
needs none. For an admin listener served over TLS with a private CA's
certificate, --admin https://host:9443 --ca ca.pem trusts that CA.

Exit status: 0 on success, 1 on errors (the API refused), 2 on usage
errors.
`

// appsCommand is one command of "forcehttps apps".
type appsCommand struct {
	name, synopsis, about string
	hasName               bool
}

var appsCommands = []appsCommand{
	{"list", "list", "Lists the apps, their Force HTTPS and HSTS state.", false},
	{"show", "show NAME", "Shows one app, with where each value comes from: the configuration file or the admin API.", true},
	{"enable", "enable NAME [--force] [--ramp]", "Turns Force HTTPS on after checking every domain over HTTPS through the edge; --force skips the check.", true},
	{"disable", "disable NAME [--drain D]", "Turns Force HTTPS off. If HSTS was ever sent, max-age=0 is sent over HTTPS for the drain\n(default: the longest max-age sent), so that browsers forget it; a shorter drain is\naccepted with a warning saying how long browsers keep forcing HTTPS after it.", true},
	{"reset", "reset NAME [--force] [--drain D]", "Drops the changes made through the API, so that the configuration file's values apply\nagain. If that turns Force HTTPS on, the HTTPS check runs first (--force skips it); if it\nturns it off after HSTS was sent, max-age=0 is sent for the drain, as disable does.", true},
	{"create", "create NAME --domain D [--domain D2 ...] --upstream URL [--force-https=BOOL]\n       forcehttps apps create NAME --file app.json", "Creates an app through the API. --file takes a JSON object with the keys of an app of the\nconfiguration file (name, domains, upstream, force_https, hsts, redirect, ...); NAME wins\nover its name. The whole configuration is validated: a domain another app serves is refused.", true},
	{"delete", "delete NAME", "Deletes an app created through the API; its domains are no longer served. Browsers that\ngot its HSTS header keep using HTTPS for them until their max-age expires.", true},
	{"domains", "domains add|remove NAME DOMAIN", "Adds a domain to an app created through the API, or removes one.", false},
	{"set", "set NAME [--redirect-status N] [--unsafe-status N] [--temporary=BOOL]\n                 [--hsts-max-age N] [--hsts-include-subdomains=BOOL] [--hsts-preload=BOOL]", "Changes the redirect and HSTS policy; absent flags are left as they are.", true},
}

func findAppsCommand(name string) (appsCommand, bool) {
	for _, c := range appsCommands {
		if c.name == name {
			return c, true
		}
	}
	return appsCommand{}, false
}

// appsFlags holds the flags of every apps command.
type appsFlags struct {
	admin, tokenFile                      string
	json                                  bool
	timeout                               time.Duration
	force, ramp                           bool
	ca                                    string
	drain                                 string
	redirectStatus, unsafeStatus          int
	maxAge                                int64
	temporary, includeSubdomains, preload string
	domains                               stringList
	upstream, forceHTTPS, file            string
}

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

// Set appends one value.
func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// flagSet defines the common flags and those of command cmd ("": of
// every command) on o. It prints nothing: runApps reports errors.
func (o *appsFlags) flagSet(cmd string) *flag.FlagSet {
	fs := flag.NewFlagSet("apps", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&o.admin, "admin", "http://127.0.0.1:9090", "the admin listener's `URL`")
	fs.StringVar(&o.tokenFile, "token-file", "", "read the admin token from `file` (else $FORCEHTTPS_ADMIN_TOKEN)")
	fs.StringVar(&o.ca, "ca", "", "trust the CA certificates of PEM `file` for an https --admin URL, besides the system roots")
	fs.BoolVar(&o.json, "json", false, "print the API's JSON instead of text")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "bound on each API request")
	addLogFlags(fs, nil) // accepted by every command; apps writes no logs
	all := cmd == ""
	if all || cmd == "enable" || cmd == "reset" {
		fs.BoolVar(&o.force, "force", false, "skip the HTTPS check of every domain when Force HTTPS gets turned on")
	}
	if all || cmd == "enable" {
		fs.BoolVar(&o.ramp, "ramp", false, "ramp HSTS max-age up: 300s, 1 week, 1 month, then the target")
	}
	if all || cmd == "disable" || cmd == "reset" {
		fs.StringVar(&o.drain, "drain", "", "how long to send max-age=0, such as 720h; default: the longest max-age sent")
	}
	if all || cmd == "create" {
		fs.Var(&o.domains, "domain", "a `domain` of the app (repeat for several)")
		fs.StringVar(&o.upstream, "upstream", "", "where requests go: an http, https or h2c `URL`")
		fs.StringVar(&o.forceHTTPS, "force-https", "", "true or false (default true): redirect to HTTPS and send HSTS")
		fs.StringVar(&o.file, "file", "", "read the app from a JSON `file` with the keys of an app of the configuration file")
	}
	if all || cmd == "set" {
		fs.IntVar(&o.redirectStatus, "redirect-status", 0, "redirect status for GET and HEAD: 301, 302, 307 or 308")
		fs.IntVar(&o.unsafeStatus, "unsafe-status", 0, "redirect status for other methods: 307, 308, 403 or 426")
		fs.Int64Var(&o.maxAge, "hsts-max-age", 0, "HSTS max-age in seconds")
		fs.StringVar(&o.temporary, "temporary", "", "true or false: temporary redirects (302, 307)")
		fs.StringVar(&o.includeSubdomains, "hsts-include-subdomains", "", "true or false")
		fs.StringVar(&o.preload, "hsts-preload", "", "true or false")
	}
	return fs
}

// printAppsUsage prints the usage of apps, or of its command cmd.
func printAppsUsage(w io.Writer, cmd string) {
	c, ok := findAppsCommand(cmd)
	if !ok {
		fmt.Fprint(w, appsUsage)
		fmt.Fprintln(w, "\nCommon flags:")
		fs := (&appsFlags{}).flagSet("list")
		fs.SetOutput(w)
		fs.PrintDefaults()
		return
	}
	fmt.Fprintf(w, "Usage: forcehttps apps %s [flags]\n\n%s\n\nFlags (before or after the command and NAME):\n", c.synopsis, c.about)
	fs := (&appsFlags{}).flagSet(cmd)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// appsClient talks to the admin API.
type appsClient struct {
	base   string
	token  string
	client *http.Client
}

// runApps is the apps subcommand.
func runApps(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o := &appsFlags{}
	all := o.flagSet("")
	pos, err := parseInterspersed(all, args)
	cmd := ""
	if len(pos) > 0 {
		cmd = pos[0]
	}
	if cmd == "help" {
		topic := ""
		if len(pos) > 1 {
			topic = pos[1]
		}
		printAppsUsage(stdout, topic)
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		printAppsUsage(stdout, cmd)
		return 0
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "forcehttps apps: "+format+"\n", a...)
		hint := "forcehttps apps help"
		if _, ok := findAppsCommand(cmd); ok {
			hint += " " + cmd
		}
		fmt.Fprintf(stderr, "Run %q for the usage.\n", hint)
		return 2
	}
	if err != nil {
		return usageErr("%v", err)
	}
	if cmd == "" {
		fmt.Fprintln(stderr, "forcehttps apps: a command is required: list, show, enable, disable, reset, set, create, delete or domains")
		printAppsUsage(stderr, "")
		return 2
	}
	c, ok := findAppsCommand(cmd)
	if !ok {
		names := make([]string, len(appsCommands))
		for i, c := range appsCommands {
			names[i] = c.name
		}
		if near := config.Closest(cmd, names); near != "" {
			return usageErr("unknown command %q; did you mean %q?", cmd, near)
		}
		return usageErr("unknown command %q; want one of %s", cmd, strings.Join(names, ", "))
	}
	// Every flag was parsed with the flags of all commands: refuse those
	// of another command.
	own := (&appsFlags{}).flagSet(cmd)
	given := map[string]bool{}
	var foreign []string
	all.Visit(func(f *flag.Flag) {
		given[f.Name] = true
		if own.Lookup(f.Name) == nil {
			foreign = append(foreign, "--"+f.Name)
		}
	})
	if len(foreign) > 0 {
		return usageErr("%s: not a flag of %s", strings.Join(foreign, ", "), cmd)
	}
	pos = pos[1:]
	switch {
	case cmd == "domains":
		if len(pos) != 3 || (pos[0] != "add" && pos[0] != "remove") {
			return usageErr("domains: want add or remove, an app NAME and a DOMAIN")
		}
	case !c.hasName && len(pos) > 0:
		return usageErr("%s: no argument expected, got %q", cmd, pos)
	case c.hasName && len(pos) != 1:
		return usageErr("%s: exactly one app NAME expected, got %d arguments", cmd, len(pos))
	}
	var (
		method, path string
		body         any
	)
	name := ""
	if c.hasName {
		name = pos[0]
	}
	appPath := "/api/apps/" + url.PathEscape(name)
	switch cmd {
	case "list":
		method, path = http.MethodGet, "/api/apps"
	case "show":
		method, path = http.MethodGet, appPath
	case "enable":
		method, path = http.MethodPost, appPath+"/enable"
		body = map[string]bool{"force": o.force, "ramp": o.ramp}
	case "disable", "reset":
		method, path = http.MethodPost, appPath+"/"+cmd
		if o.drain != "" {
			if _, err := time.ParseDuration(o.drain); err != nil {
				return usageErr("%s: --drain %q is not a duration such as 720h", cmd, o.drain)
			}
		}
		if cmd == "reset" {
			body = map[string]any{"force": o.force, "drain": o.drain}
		} else {
			body = map[string]string{"drain": o.drain}
		}
	case "create":
		method, path = http.MethodPost, "/api/apps"
		def := map[string]any{}
		if o.file != "" {
			data, err := os.ReadFile(o.file)
			if err != nil {
				fmt.Fprintf(stderr, "forcehttps apps: --file: %v\n", err)
				return 1
			}
			if err := json.Unmarshal(data, &def); err != nil || def == nil {
				fmt.Fprintf(stderr, "forcehttps apps: --file %s: not a JSON object\n", o.file)
				return 1
			}
		}
		def["name"] = name
		if len(o.domains) > 0 {
			def["domains"] = []string(o.domains)
		}
		if o.upstream != "" {
			def["upstream"] = o.upstream
		}
		switch o.forceHTTPS {
		case "":
		case "true", "false":
			def["force_https"] = o.forceHTTPS == "true"
		default:
			return usageErr("create: --force-https wants true or false, not %q", o.forceHTTPS)
		}
		if def["domains"] == nil || def["upstream"] == nil {
			return usageErr("create: --domain and --upstream are required (or --file)")
		}
		body = def
	case "delete":
		method, path = http.MethodDelete, appPath
	case "domains":
		name = pos[1]
		appPath = "/api/apps/" + url.PathEscape(name) + "/domains"
		if pos[0] == "add" {
			method, path, body = http.MethodPost, appPath, map[string]string{"domain": pos[2]}
		} else {
			method, path = http.MethodDelete, appPath+"/"+url.PathEscape(pos[2])
		}
	case "set":
		method, path = http.MethodPatch, appPath
		patch := map[string]map[string]any{}
		put := func(group, key string, v any) {
			if patch[group] == nil {
				patch[group] = map[string]any{}
			}
			patch[group][key] = v
		}
		if given["redirect-status"] {
			put("redirect", "status", o.redirectStatus)
		}
		if given["unsafe-status"] {
			put("redirect", "unsafe_status", o.unsafeStatus)
		}
		for _, b := range []struct {
			flag, group, key string
			v                string
		}{
			{"temporary", "redirect", "temporary", o.temporary},
			{"hsts-include-subdomains", "hsts", "include_subdomains", o.includeSubdomains},
			{"hsts-preload", "hsts", "preload", o.preload},
		} {
			if !given[b.flag] {
				continue
			}
			switch b.v {
			case "true":
				put(b.group, b.key, true)
			case "false":
				put(b.group, b.key, false)
			default:
				return usageErr("set: --%s wants true or false, not %q", b.flag, b.v)
			}
		}
		if given["hsts-max-age"] {
			put("hsts", "max_age", o.maxAge)
		}
		if len(patch) == 0 {
			return usageErr("set: nothing to change")
		}
		body = patch
	}
	u, err := url.Parse(o.admin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageErr("--admin %q is not an http or https URL", o.admin)
	}
	token := strings.TrimSpace(os.Getenv("FORCEHTTPS_ADMIN_TOKEN"))
	if o.tokenFile != "" {
		data, err := os.ReadFile(o.tokenFile)
		if err != nil {
			fmt.Fprintf(stderr, "forcehttps apps: --token-file: %v\n", err)
			return 1
		}
		token = strings.TrimSpace(string(data))
	}
	if token == "" {
		return usageErr("no token: use --token-file or set FORCEHTTPS_ADMIN_TOKEN")
	}
	client := &http.Client{Timeout: o.timeout}
	if o.ca != "" {
		tr, err := caTransport(o.ca)
		if err != nil {
			fmt.Fprintf(stderr, "forcehttps apps: --ca: %v\n", err)
			return 1
		}
		client.Transport = tr
	}
	cl := &appsClient{base: strings.TrimSuffix(u.String(), "/"), token: token, client: client}
	status, data, err := cl.do(ctx, method, path, body)
	if err != nil {
		fmt.Fprintf(stderr, "forcehttps apps: %v\n", err)
		return 1
	}
	if o.json {
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
	if cmd == "delete" {
		var d struct {
			Warning string `json:"warning"`
		}
		json.Unmarshal(data, &d)
		fmt.Fprintf(stdout, "deleted app %s\n", name)
		if d.Warning != "" {
			fmt.Fprintf(stderr, "forcehttps apps: warning: %s\n", d.Warning)
		}
		return 0
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
	if v.Warning != "" && (cmd == "disable" || cmd == "reset") {
		fmt.Fprintf(stderr, "forcehttps apps: warning: %s\n", v.Warning)
	}
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
		Errors    []struct {
			Path    string `json:"path"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		fmt.Fprintf(w, "forcehttps apps: the admin API answered %d %s\n", status, http.StatusText(status))
		return
	}
	if e.Preflight != nil {
		fmt.Fprintf(w, "forcehttps apps: the HTTPS check failed on some domains (%d): fix them, or skip the check with --force\n", status)
		printPreflight(w, e.Preflight)
		return
	}
	if len(e.Errors) > 0 {
		fmt.Fprintf(w, "forcehttps apps: the app was refused (%d):\n", status)
		for _, fe := range e.Errors {
			if fe.Path != "" {
				fmt.Fprintf(w, "  %s: %s\n", fe.Path, fe.Message)
			} else {
				fmt.Fprintf(w, "  %s\n", fe.Message)
			}
		}
		return
	}
	fmt.Fprintf(w, "forcehttps apps: %s (%d)\n", e.Error, status)
}

func printAppTable(w io.Writer, apps []admin.AppView) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tFORCE HTTPS\tHSTS\tMAX-AGE\tREDIRECT\tSET BY API\tDOMAINS")
	for _, a := range apps {
		api := strings.Join(apiKeys(a), ",")
		if api == "" {
			api = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", a.Name, onOff(a.ForceHTTPS), hstsState(a.HSTS), a.HSTS.EffectiveMaxAge, a.Redirect.Status, api, strings.Join(a.Domains, ","))
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
		fmt.Fprintf(tw, "Domain:\t%s\t%s\n", c.Domain, certificateLine(c))
	}
	tw.Flush()
	fmt.Fprintln(w, a.Message)
	if keys := apiKeys(a); len(keys) > 0 {
		fmt.Fprintln(w, "Set through the admin API, overriding the configuration file (a reload of the file does not change these):")
		for _, k := range keys {
			// Through JSON, as the API sent it: numbers as integers.
			file, _ := json.Marshal(a.Sources[k].File)
			fmt.Fprintf(w, "  %s (the file says %s)\n", k, file)
		}
		fmt.Fprintf(w, "\"forcehttps apps reset %s\" returns to the file's values.\n", a.Name)
	}
}

// certificateLine describes the certificate of a domain, and its ACME
// order while there is one.
func certificateLine(c admin.CertificateView) string {
	cert := "no certificate"
	switch {
	case c.State == "pending" && c.OnDemand:
		cert = "certificate pending (ordered at the first HTTPS visit)"
	case c.State == "pending":
		cert = "certificate pending"
	case c.State == "failed":
		cert = "certificate order failed: " + c.Error
		if c.NextTry != nil {
			cert += " (next try " + c.NextTry.UTC().Format(time.RFC3339) + ")"
		}
	case !c.Missing:
		cert = fmt.Sprintf("%s, expires %s", c.Source, c.NotAfter.UTC().Format("2006-01-02"))
	}
	if c.Redirect != "" {
		cert += "; not redirected yet: " + c.Redirect
	}
	return cert
}

// apiKeys lists, sorted, the keys of a whose value the admin API set.
func apiKeys(a admin.AppView) []string {
	var keys []string
	for k, src := range a.Sources {
		if src.From == admin.SourceAPI {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
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

// caTransport returns a transport that trusts the system roots and the
// CA certificates of PEM file caFile, with TLS 1.2 or later.
func caTransport(caFile string) (*http.Transport, error) {
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%q: no PEM certificate found", caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return tr, nil
}

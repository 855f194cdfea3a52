package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/forcehttps/forcehttps/internal/admin"
	"github.com/forcehttps/forcehttps/internal/config"
	"github.com/forcehttps/forcehttps/internal/pg"
	"github.com/forcehttps/forcehttps/internal/pgcerts"
	"github.com/forcehttps/forcehttps/internal/pgstate"
)

func init() {
	register("cluster", "cluster mode on PostgreSQL: import a single node's state and certificates", runCluster)
}

const clusterUsage = `Usage: forcehttps cluster import --config FILE [--state FILE] [--certs DIR]

Copies a single node's Force HTTPS state file and ACME certificate
directory into the PostgreSQL database named by the configuration's
cluster section, so that the replicas start with them (and do not order
the certificates again). The schema is created or migrated first.

Apps the database already has a state for are kept as they are, and so are
certificates it already holds: importing twice changes nothing.

Flags:
`

// runCluster is the cluster subcommand. Its one command, import, takes
// its flags before or after the word.
func runCluster(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, clusterUsage)
		fs.PrintDefaults()
	}
	configFile := fs.String("config", "", "the edge's configuration `file`, with a cluster section (required)")
	stateFile := fs.String("state", "", "the state `file` to import; default: admin.state_file, else the configuration's path plus .state.json")
	certsDir := fs.String("certs", "", "the ACME certificate `directory` to import; default: tls.acme.storage when set")
	logOpts := addLogFlags(fs, nil) // import writes no logs, but accepts the flags every command has
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2 // the flag package printed it, with the usage
	}
	if _, err := logOpts.logger(io.Discard); err != nil {
		fmt.Fprintln(stderr, "forcehttps cluster: "+err.Error())
		return 2
	}
	if len(pos) != 1 || pos[0] != "import" || *configFile == "" {
		fmt.Fprintln(stderr, "forcehttps cluster: want \"import --config FILE\"")
		fs.Usage()
		return 2
	}
	if err := clusterImport(ctx, *configFile, *stateFile, *certsDir, stdout); err != nil {
		fmt.Fprintln(stderr, "forcehttps cluster import: "+err.Error())
		return 1
	}
	return 0
}

// clusterImport copies the state file and certificate directory of a
// single node into the cluster's database.
func clusterImport(ctx context.Context, file, state, certsDir string, stdout io.Writer) error {
	cfg, err := config.Load(file)
	if err != nil {
		return err
	}
	if cfg.Cluster == nil {
		return fmt.Errorf("%s has no cluster section: add one naming the database", file)
	}
	url, err := clusterURL(cfg.Cluster)
	if err != nil {
		return err
	}
	pool, err := pg.Open(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pg.Migrate(ctx, pool); err != nil {
		return err
	}
	if state == "" {
		state = statePath(cfg, file)
	}
	st, err := admin.LoadState(state)
	if err != nil {
		return err
	}
	res, err := pgstate.Import(ctx, pool, st)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "state %s: %d %s imported (state version %d)", state, len(res.Imported), plural(len(res.Imported), "app", "apps"), res.Version)
	if len(res.Kept) > 0 {
		fmt.Fprintf(stdout, "; kept the database's state of %s", strings.Join(res.Kept, ", "))
	}
	fmt.Fprintln(stdout)

	if certsDir == "" && cfg.TLS.ACME != nil {
		certsDir = cfg.TLS.ACME.Storage
	}
	if certsDir == "" {
		fmt.Fprintln(stdout, "certificates: nothing imported (no --certs and no tls.acme.storage)")
		return nil
	}
	storage, err := pgcerts.New(pool, pgcerts.Options{})
	if err != nil {
		return err
	}
	defer storage.Close(context.WithoutCancel(ctx))
	cr, err := storage.ImportDir(ctx, certsDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "certificates %s: %d imported, %d already there", certsDir, cr.Imported, cr.Unchanged)
	if len(cr.Kept) > 0 {
		fmt.Fprintf(stdout, ", %d kept (the database holds other bytes)", len(cr.Kept))
	}
	fmt.Fprintln(stdout)
	return nil
}

// statePath is where a single node keeps its state: admin.state_file,
// else the configuration file's path plus ".state.json", else "" (the
// embedded default).
func statePath(cfg *config.Config, file string) string {
	if cfg.Admin.StateFile != "" {
		return cfg.Admin.StateFile
	}
	if file != "" {
		return file + ".state.json"
	}
	return ""
}

// clusterURL returns the database URL of the cluster section. It is a
// secret: never logged.
func clusterURL(cl *config.Cluster) (string, error) {
	if cl.PostgresFile == "" {
		return cl.Postgres, nil
	}
	data, err := os.ReadFile(cl.PostgresFile)
	if err != nil {
		return "", fmt.Errorf("cluster.postgres_file: %w", err)
	}
	url := strings.TrimSpace(string(data))
	if url == "" || !config.LooksLikePostgresURL(url) {
		return "", fmt.Errorf("cluster.postgres_file %s: does not hold a PostgreSQL URL", cl.PostgresFile)
	}
	return url, nil
}

// openCluster opens the cluster store of cfg: the replica's name defaults
// to the host name, and the last-known-good copy of the state lives next
// to the state file (<state>.cluster.json instead of .json).
func openCluster(ctx context.Context, cfg *config.Config, file string, logger *slog.Logger) (*pgstate.Store, error) {
	cl := cfg.Cluster
	url, err := clusterURL(cl)
	if err != nil {
		return nil, err
	}
	name := cl.Replica
	if name == "" {
		if name, err = os.Hostname(); err != nil || name == "" {
			return nil, errors.New("cluster.replica: no host name to default to; set one")
		}
	}
	lkg := ""
	if s := statePath(cfg, file); s != "" {
		lkg = strings.TrimSuffix(s, ".json") + ".cluster.json"
	}
	octx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	st, err := pgstate.Open(octx, url, pgstate.Options{
		Replica:       name,
		BinaryVersion: binaryVersion(),
		LastKnownGood: lkg,
		Resync:        cl.Resync,
		MemberTimeout: cl.MemberTimeout,
		Logger:        logger,
	})
	if err != nil {
		return nil, err
	}
	logger.Info("cluster: joined", "replica", name, "state_version", st.Current().Version, "store_reachable", st.Reachable())
	return st, nil
}

// binaryVersion is the module version of this build, or "(devel)".
func binaryVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

package pg

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultConnectTimeout bounds one connection attempt when the URL does
// not set connect_timeout.
const DefaultConnectTimeout = 10 * time.Second

// What went wrong when [Open] fails; test with errors.Is.
var (
	// ErrBadURL: the connection string cannot be parsed.
	ErrBadURL = errors.New("invalid PostgreSQL URL")
	// ErrUnreachable: no server answered (wrong host or port, network,
	// TLS, timeout, server shutting down or full).
	ErrUnreachable = errors.New("PostgreSQL unreachable")
	// ErrAuth: the server refused the user or the password.
	ErrAuth = errors.New("PostgreSQL refused the credentials")
	// ErrNoDatabase: the database named in the URL does not exist.
	ErrNoDatabase = errors.New("PostgreSQL database does not exist")
)

// Open connects a pool to the database at conn (a postgres:// URL or a
// keyword/value string) and checks the connection once, within
// [DefaultConnectTimeout] (or the URL's connect_timeout) per attempt and
// ctx. Errors wrap one of [ErrBadURL], [ErrUnreachable], [ErrAuth] and
// [ErrNoDatabase], name the server with [Redact], and never contain the
// password. The caller closes the pool.
func Open(ctx context.Context, conn string) (*pgxpool.Pool, error) {
	pool, err := NewPool(conn)
	if err != nil {
		return nil, err
	}
	if err := Ping(ctx, pool, conn); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// NewPool is [Open] without connecting: the pool connects on first use.
// For a process that must start while the database is unreachable (and
// serve what it kept locally); its errors wrap [ErrBadURL] only.
func NewPool(conn string) (*pgxpool.Pool, error) {
	redacted, secrets := redact(conn)
	cfg, err := pgxpool.ParseConfig(conn)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %s", ErrBadURL, redacted, scrub(parseDetail(err), secrets))
	}
	secrets = append(secrets, cfg.ConnConfig.Password)
	if cfg.ConnConfig.ConnectTimeout <= 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "forcehttps"
	}
	// Builds the pool only: connections are made on first use (or in the
	// background when the URL sets pool_min_conns).
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %s", ErrBadURL, redacted, scrub(err.Error(), secrets))
	}
	return pool, nil
}

// Ping checks that pool reaches its database, within the connect timeout
// per host and ctx, with the errors of [Open]. conn is the connection
// string pool was made from, to name the server and mask its password.
func Ping(ctx context.Context, pool *pgxpool.Pool, conn string) error {
	redacted, secrets := redact(conn)
	cc := pool.Config().ConnConfig
	secrets = append(secrets, cc.Password)
	// One attempt per host (pgx tries each in turn), plus slack for the
	// ping itself.
	hosts := 1 + len(cc.Fallbacks)
	pctx, cancel := context.WithTimeout(ctx, time.Duration(hosts)*cc.ConnectTimeout+5*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		return fmt.Errorf("%w %s: %s", classify(err), redacted, scrub(err.Error(), secrets))
	}
	return nil
}

// classify maps a connection error to one of the sentinels.
func classify(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01", "28000": // invalid_password, invalid_authorization_specification
			return ErrAuth
		case "3D000": // invalid_catalog_name
			return ErrNoDatabase
		}
	}
	return ErrUnreachable
}

// parseDetail says what is wrong with an unparsable connection string
// without quoting it: pgx's message quotes the string (masked only on a
// best-effort basis) and the URL parser's error quotes it whole.
func parseDetail(err error) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err.Error()
	}
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		if inner := pce.Unwrap(); inner != nil {
			return inner.Error()
		}
		return "cannot parse the connection string"
	}
	return err.Error()
}

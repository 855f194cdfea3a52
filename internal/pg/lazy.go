package pg

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Pool returns a pool for conn like [Open] does, without connecting: the
// first query connects. It is for a replica that starts while the
// database is down and serves its local copy meanwhile. Errors wrap
// [ErrBadURL] and never contain the password.
func Pool(conn string) (*pgxpool.Pool, error) {
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
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %s", ErrBadURL, redacted, scrub(err.Error(), secrets))
	}
	return pool, nil
}

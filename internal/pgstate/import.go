package pgstate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/forcehttps/forcehttps/internal/admin"
)

// ImportResult says what [Import] did.
type ImportResult struct {
	Imported []string // apps whose state was copied
	Kept     []string // apps the database already had a state for, left alone
	Version  int64    // the state version after the import
}

// Import copies the apps of a single node's state (its state file) into
// the database, in one transaction that counts as one change: apps the
// database already has a row for are kept as they are, since replicas may
// have changed them since. The schema must be in place (pg.Migrate).
func Import(ctx context.Context, pool *pgxpool.Pool, st *admin.State) (ImportResult, error) {
	var res ImportResult
	names := make([]string, 0, len(st.Apps))
	for name := range st.Apps {
		names = append(names, name)
	}
	slices.Sort(names)
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		res = ImportResult{}
		if err := tx.QueryRow(ctx, "SELECT version FROM forcehttps_state_version FOR UPDATE").Scan(&res.Version); err != nil {
			return err
		}
		next := res.Version + 1
		for _, name := range names {
			data, err := json.Marshal(st.Apps[name])
			if err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `INSERT INTO forcehttps_app_state (app, state, version) VALUES ($1, $2, $3)
ON CONFLICT (app) DO NOTHING`, name, data, next)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				res.Imported = append(res.Imported, name)
			} else {
				res.Kept = append(res.Kept, name)
			}
		}
		if len(res.Imported) == 0 {
			return nil
		}
		res.Version = next
		return commitVersion(ctx, tx, next)
	})
	if err != nil {
		return ImportResult{}, fmt.Errorf("cluster: importing the state: %w", err)
	}
	return res, nil
}

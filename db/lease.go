package db

import (
	"context"
	"errors"
	"fmt"

	"github.com/orbitcp/orbit/db/internal/queries"
)

// ErrFenced is returned (wrapped) by a leader-only transaction of a replica that no longer
// holds the lease it led with.
var ErrFenced = errors.New("fenced: this replica no longer holds the leader lease")

// CheckLease is the leader fence's statement: inside tx, the lease name must still be held
// by holder with token. On PostgreSQL it locks the lease row in share mode until tx ends, so
// a replica taking the lease over waits for the transactions of the one it deposes, and a
// transaction that starts after the takeover sees the new token and fails. On SQLite one
// writer runs at a time anyway.
func (s *Store) CheckLease(ctx context.Context, tx *Tx, name, holder string, token int64) error {
	stmt := "SELECT token FROM leader_lease WHERE name = ? AND holder = ?"
	if s.dialect == Postgres {
		stmt = "SELECT token FROM leader_lease WHERE name = $1 AND holder = $2 FOR SHARE"
	}
	var current int64
	err := queries.DBOf(tx).QueryRowContext(ctx, stmt, name, holder).Scan(&current)
	switch {
	case err != nil && queries.Translate(err) == ErrNotFound:
		return fmt.Errorf("%w (lease %s is held by another replica)", ErrFenced, name)
	case err != nil:
		return fmt.Errorf("leader fence: %w", err)
	case current != token:
		return fmt.Errorf("%w (lease %s is at token %d, this replica led with %d)", ErrFenced, name, current, token)
	}
	return nil
}

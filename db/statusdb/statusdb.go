// Package statusdb is the query set of the status controller: it writes cluster_status from
// what satellites report in the actual bucket. Leader-only.
package statusdb

import (
	"context"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/internal/queries"
)

// Queries are the queries the service may run.
type Queries interface {
	UpsertClusterStatus(ctx context.Context, arg db.UpsertClusterStatusParams) error
	ForgetStatusRevisions(ctx context.Context) error
}

// Store is the service's view of the store.
type Store = db.Set[Queries]

// New returns the service's view of s.
func New(s *db.Store) Store {
	return db.NewSet(s, db.LeaderOnly, func(tx *db.Tx) Queries { return queries.Of(tx) })
}

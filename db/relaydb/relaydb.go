// Package relaydb is the query set of the outbox relay: it reads pending outbox rows and marks
// them published (every writer appends to the outbox in its own transaction; only the relay
// changes rows). Leader-only.
package relaydb

import (
	"context"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/internal/queries"
)

// Queries are the queries the service may run.
type Queries interface {
	ListPendingOutbox(ctx context.Context, maxRows int64) ([]db.Outbox, error)
	MarkOutboxPublished(ctx context.Context, arg db.MarkOutboxPublishedParams) error
	DeletePublishedOutbox(ctx context.Context, before int64) (int64, error)
}

// Store is the service's view of the store.
type Store = db.Set[Queries]

// New returns the service's view of s.
func New(s *db.Store) Store {
	return db.NewSet(s, db.LeaderOnly, func(tx *db.Tx) Queries { return queries.Of(tx) })
}

// Package usagedb is the query set of the usage meter: it writes usage and its cursor (the meta
// table's usage_cursor key) and reads what is running. Leader-only.
package usagedb

import (
	"context"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/internal/queries"
)

// Queries are the queries the service may run.
type Queries interface {
	GetUsageCursor(ctx context.Context) (string, error)
	SetUsageCursor(ctx context.Context, value string) error
	ListMeteredClusters(ctx context.Context) ([]db.ListMeteredClustersRow, error)
	AddUsage(ctx context.Context, arg db.AddUsageParams) error
}

// Store is the service's view of the store.
type Store = db.Set[Queries]

// New returns the service's view of s.
func New(s *db.Store) Store {
	return db.NewSet(s, db.LeaderOnly, func(tx *db.Tx) Queries { return queries.Of(tx) })
}

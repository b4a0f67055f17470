// Package schedulerdb is the query set of the scheduler: it writes placements (appending
// events.placement to the outbox) and reads physical clusters and the load placed on each
// satellite. Leader-only.
package schedulerdb

import (
	"context"
	"database/sql"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/internal/queries"
)

// Queries are the queries the service may run.
type Queries interface {
	InsertOutbox(ctx context.Context, arg db.InsertOutboxParams) (int64, error)
	GetPhysicalCluster(ctx context.Context, id string) (db.PhysicalCluster, error)
	ListPhysicalClusterIDs(ctx context.Context) ([]string, error)
	ListPhysicalDependentIDs(ctx context.Context, kafkaPhysicalID string) ([]string, error)
	GetPlacement(ctx context.Context, physicalClusterID string) (db.Placement, error)
	UpsertPlacement(ctx context.Context, arg db.UpsertPlacementParams) error
	CountPlacedOnSatellite(ctx context.Context, satellite sql.NullString) (db.CountPlacedOnSatelliteRow, error)
}

// Store is the service's view of the store.
type Store = db.Set[Queries]

// New returns the service's view of s.
func New(s *db.Store) Store {
	return db.NewSet(s, db.LeaderOnly, func(tx *db.Tx) Queries { return queries.Of(tx) })
}

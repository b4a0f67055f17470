// Package syncdb is the query set of the sync service: it writes no table (it is the desired
// and credentials buckets' writer) and reads physical clusters, their placements and
// tenancies, logical clusters (the tenant a ksqlDB or Connect cluster works for), the sealed Kafka API keys and the satellites' curve keys. Leader-only.
package syncdb

import (
	"context"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/internal/queries"
)

// Queries are the queries the service may run.
type Queries interface {
	GetPhysicalCluster(ctx context.Context, id string) (db.PhysicalCluster, error)
	GetPlacement(ctx context.Context, physicalClusterID string) (db.Placement, error)
	ListPhysicalClusterIDs(ctx context.Context) ([]string, error)
	GetTenancy(ctx context.Context, logicalClusterID string) (db.Tenancy, error)
	ListTenancyLogicalIDs(ctx context.Context, physicalClusterID string) ([]string, error)
	GetLogicalCluster(ctx context.Context, id string) (db.LogicalCluster, error)
	ListLiveKafkaAPIKeysByPhysical(ctx context.Context, physicalClusterID string) ([]db.KafkaApiKey, error)
	GetSatelliteCurveKey(ctx context.Context, name string) (string, error)
}

// Store is the service's view of the store.
type Store = db.Set[Queries]

// New returns the service's view of s.
func New(s *db.Store) Store {
	return db.NewSet(s, db.LeaderOnly, func(tx *db.Tx) Queries { return queries.Of(tx) })
}

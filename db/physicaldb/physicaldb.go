// Package physicaldb is the query set of the physical controller: it writes physical_clusters,
// physical_generations and tenancies (appending events.physical to the outbox) and reads
// logical clusters, profiles, the rollout controller's cluster targets and the status
// controller's cluster_status. Leader-only.
package physicaldb

import (
	"context"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/internal/queries"
)

// Queries are the queries the service may run.
type Queries interface {
	InsertOutbox(ctx context.Context, arg db.InsertOutboxParams) (int64, error)
	GetLogicalCluster(ctx context.Context, id string) (db.LogicalCluster, error)
	ListLogicalClusterIDs(ctx context.Context) ([]string, error)
	ListLogicalClusterIDsByProfile(ctx context.Context, arg db.ListLogicalClusterIDsByProfileParams) ([]string, error)
	GetCurrentProfile(ctx context.Context, arg db.GetCurrentProfileParams) (db.Profile, error)
	GetProfile(ctx context.Context, arg db.GetProfileParams) (db.Profile, error)
	GetClusterTarget(ctx context.Context, physicalClusterID string) (db.ClusterTarget, error)
	ListTenancyLogicalIDs(ctx context.Context, physicalClusterID string) ([]string, error)
	GetPhysicalCluster(ctx context.Context, id string) (db.PhysicalCluster, error)
	GetPhysicalClusterByLogical(ctx context.Context, logicalClusterID string) (db.PhysicalCluster, error)
	InsertPhysicalCluster(ctx context.Context, arg db.InsertPhysicalClusterParams) error
	UpdatePhysicalCluster(ctx context.Context, arg db.UpdatePhysicalClusterParams) (int64, error)
	InsertPhysicalGeneration(ctx context.Context, arg db.InsertPhysicalGenerationParams) error
	ObservedLogicalGeneration(ctx context.Context, arg db.ObservedLogicalGenerationParams) (int64, error)
	GetTenancy(ctx context.Context, logicalClusterID string) (db.Tenancy, error)
	InsertTenancy(ctx context.Context, arg db.InsertTenancyParams) error
	ListLiveTenants(ctx context.Context, physicalClusterID string) ([]string, error)
	GetClusterStatus(ctx context.Context, physicalClusterID string) (db.ClusterStatus, error)
	FindSharedPhysicalCluster(ctx context.Context, arg db.FindSharedPhysicalClusterParams) (string, error)
}

// Store is the service's view of the store.
type Store = db.Set[Queries]

// New returns the service's view of s.
func New(s *db.Store) Store {
	return db.NewSet(s, db.LeaderOnly, func(tx *db.Tx) Queries { return queries.Of(tx) })
}

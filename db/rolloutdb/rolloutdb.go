// Package rolloutdb is the query set of the rollout controller: it writes rollout_status,
// rollout_targets, cluster_targets and rollout_events (what the controller did on its own,
// for the rollout's history), appending events.target to the outbox, and reads the rollouts
// users asked for, the profiles (the Kafka version a finalized rollout rolled), the
// clusters' labels, pins and maintenance windows, and what the physical controller rendered
// and the satellites reported. Leader-only.
package rolloutdb

import (
	"context"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/internal/queries"
)

// Queries are the queries the service may run.
type Queries interface {
	InsertOutbox(ctx context.Context, arg db.InsertOutboxParams) (int64, error)
	ListActiveRollouts(ctx context.Context) ([]db.Rollout, error)
	GetRollout(ctx context.Context, id string) (db.Rollout, error)
	GetRolloutStatus(ctx context.Context, rolloutID string) (db.RolloutStatus, error)
	UpsertRolloutStatus(ctx context.Context, arg db.UpsertRolloutStatusParams) error
	InsertRolloutTarget(ctx context.Context, arg db.InsertRolloutTargetParams) error
	UpdateRolloutTarget(ctx context.Context, arg db.UpdateRolloutTargetParams) error
	ListRolloutTargets(ctx context.Context, rolloutID string) ([]db.RolloutTarget, error)
	ListRolloutObservations(ctx context.Context, rolloutID string) ([]db.ListRolloutObservationsRow, error)
	ListRolloutCandidates(ctx context.Context, arg db.ListRolloutCandidatesParams) ([]db.ListRolloutCandidatesRow, error)
	ListPhysicalTenants(ctx context.Context, arg db.ListPhysicalTenantsParams) ([]db.ListPhysicalTenantsRow, error)
	ListClusterLabels(ctx context.Context) ([]db.ClusterLabel, error)
	ListClusterPins(ctx context.Context) ([]db.ClusterPin, error)
	ListMaintenanceWindows(ctx context.Context) ([]db.MaintenanceWindow, error)
	GetClusterTarget(ctx context.Context, physicalClusterID string) (db.ClusterTarget, error)
	UpsertClusterTarget(ctx context.Context, arg db.UpsertClusterTargetParams) error
	FinalizeClusterTarget(ctx context.Context, arg db.FinalizeClusterTargetParams) (int64, error)
	GetProfile(ctx context.Context, arg db.GetProfileParams) (db.Profile, error)
	InsertRolloutEvent(ctx context.Context, arg db.InsertRolloutEventParams) error
}

// Store is the service's view of the store.
type Store = db.Set[Queries]

// New returns the service's view of s.
func New(s *db.Store) Store {
	return db.NewSet(s, db.LeaderOnly, func(tx *db.Tx) Queries { return queries.Of(tx) })
}

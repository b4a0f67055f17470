// Package frontenddb is the query set of the API (the frontend): it writes tenants, api_keys,
// kafka_api_keys, logical_clusters, cluster_history, profiles, console_sessions (the
// console's browser sessions), rollouts (what users asked of them) and rollout_history,
// cluster_labels, cluster_pins and maintenance_windows, appending each change's
// event to the outbox, and reads what the other services recorded for the API's views. Every
// replica serves the API, so its transactions pass no leader fence.
package frontenddb

import (
	"context"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/internal/queries"
)

// Queries are the queries the service may run.
type Queries interface {
	InsertOutbox(ctx context.Context, arg db.InsertOutboxParams) (int64, error)
	InsertTenant(ctx context.Context, arg db.InsertTenantParams) error
	GetTenantByName(ctx context.Context, name string) (db.Tenant, error)
	InsertAPIKey(ctx context.Context, arg db.InsertAPIKeyParams) error
	GetAPIKey(ctx context.Context, id string) (db.GetAPIKeyRow, error)
	GetAPIKeyByHash(ctx context.Context, secretHash []byte) (db.GetAPIKeyByHashRow, error)
	ListAPIKeys(ctx context.Context, tenantID string) ([]db.ListAPIKeysRow, error)
	RevokeAPIKey(ctx context.Context, arg db.RevokeAPIKeyParams) (int64, error)
	InsertKafkaAPIKey(ctx context.Context, arg db.InsertKafkaAPIKeyParams) error
	GetKafkaAPIKey(ctx context.Context, id string) (db.KafkaApiKey, error)
	ListKafkaAPIKeys(ctx context.Context, logicalClusterID string) ([]db.KafkaApiKey, error)
	RevokeKafkaAPIKey(ctx context.Context, arg db.RevokeKafkaAPIKeyParams) (int64, error)
	InsertLogicalCluster(ctx context.Context, arg db.InsertLogicalClusterParams) error
	GetLogicalCluster(ctx context.Context, id string) (db.LogicalCluster, error)
	GetLiveLogicalClusterByName(ctx context.Context, arg db.GetLiveLogicalClusterByNameParams) (db.LogicalCluster, error)
	GetLatestLogicalClusterByName(ctx context.Context, arg db.GetLatestLogicalClusterByNameParams) (db.LogicalCluster, error)
	ListLiveLogicalClusters(ctx context.Context, tenantID string) ([]db.LogicalCluster, error)
	ListAllLiveLogicalClusters(ctx context.Context) ([]db.LogicalCluster, error)
	ResizeLogicalCluster(ctx context.Context, arg db.ResizeLogicalClusterParams) (int64, error)
	DeleteLogicalCluster(ctx context.Context, arg db.DeleteLogicalClusterParams) (int64, error)
	UndeleteLogicalCluster(ctx context.Context, arg db.UndeleteLogicalClusterParams) (int64, error)
	RotateLogicalClusterCertificates(ctx context.Context, arg db.RotateLogicalClusterCertificatesParams) (int64, error)
	SetLogicalClusterMitigation(ctx context.Context, arg db.SetLogicalClusterMitigationParams) (int64, error)
	ListLiveDependents(ctx context.Context, kafkaClusterID string) ([]db.LogicalCluster, error)
	InsertClusterHistory(ctx context.Context, arg db.InsertClusterHistoryParams) error
	ListClusterHistoryByName(ctx context.Context, arg db.ListClusterHistoryByNameParams) ([]db.ClusterHistory, error)
	GetCurrentProfile(ctx context.Context, arg db.GetCurrentProfileParams) (db.Profile, error)
	InsertProfile(ctx context.Context, arg db.InsertProfileParams) error
	ListUsage(ctx context.Context, arg db.ListUsageParams) ([]db.ListUsageRow, error)
	CountPlacedBySatellite(ctx context.Context) ([]db.CountPlacedBySatelliteRow, error)
	GetPhysicalClusterByLogical(ctx context.Context, logicalClusterID string) (db.PhysicalCluster, error)
	GetPlacement(ctx context.Context, physicalClusterID string) (db.Placement, error)
	GetClusterStatus(ctx context.Context, physicalClusterID string) (db.ClusterStatus, error)
	ObservedLogicalGeneration(ctx context.Context, arg db.ObservedLogicalGenerationParams) (int64, error)
	InsertConsoleSession(ctx context.Context, arg db.InsertConsoleSessionParams) error
	GetConsoleSession(ctx context.Context, arg db.GetConsoleSessionParams) (db.GetConsoleSessionRow, error)
	DeleteConsoleSession(ctx context.Context, idHash []byte) (int64, error)
	DeleteExpiredConsoleSessions(ctx context.Context, now int64) (int64, error)
	GetProfile(ctx context.Context, arg db.GetProfileParams) (db.Profile, error)
	GetPhysicalCluster(ctx context.Context, id string) (db.PhysicalCluster, error)
	InsertRollout(ctx context.Context, arg db.InsertRolloutParams) error
	UpdateRolloutRequest(ctx context.Context, arg db.UpdateRolloutRequestParams) error
	GetRollout(ctx context.Context, id string) (db.Rollout, error)
	ListRollouts(ctx context.Context) ([]db.Rollout, error)
	InsertRolloutHistory(ctx context.Context, arg db.InsertRolloutHistoryParams) error
	ListRolloutHistory(ctx context.Context, rolloutID string) ([]db.RolloutHistory, error)
	ListRolloutEvents(ctx context.Context, rolloutID string) ([]db.RolloutEvent, error)
	GetRolloutStatus(ctx context.Context, rolloutID string) (db.RolloutStatus, error)
	ListRolloutTargets(ctx context.Context, rolloutID string) ([]db.RolloutTarget, error)
	ListRolloutFinalization(ctx context.Context, rolloutID string) ([]db.ListRolloutFinalizationRow, error)
	UpsertClusterLabel(ctx context.Context, arg db.UpsertClusterLabelParams) error
	DeleteClusterLabel(ctx context.Context, arg db.DeleteClusterLabelParams) error
	UpsertClusterPin(ctx context.Context, arg db.UpsertClusterPinParams) error
	DeleteClusterPin(ctx context.Context, physicalClusterID string) error
	UpsertMaintenanceWindow(ctx context.Context, arg db.UpsertMaintenanceWindowParams) error
	DeleteMaintenanceWindow(ctx context.Context, scope string) error
	ListMaintenanceWindows(ctx context.Context) ([]db.MaintenanceWindow, error)
}

// Store is the service's view of the store.
type Store = db.Set[Queries]

// New returns the service's view of s.
func New(s *db.Store) Store {
	return db.NewSet(s, db.AnyReplica, func(tx *db.Tx) Queries { return queries.Of(tx) })
}

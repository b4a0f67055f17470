// Code written to mirror the generated Querier; the compiler checks it (see the assertion
// below). Regenerate by hand when queries/*.sql changes: one method per query.

package db

import (
	"context"
	"database/sql"

	"github.com/orbitcp/orbit/db/pggen"
	"github.com/orbitcp/orbit/db/sqlitegen"
)

// pgQuerier adapts the PostgreSQL queries to the shared Querier. sqlc generates the same
// row and parameter structs for both engines, so each value converts directly.
type pgQuerier struct{ q *pggen.Queries }

var _ Querier = pgQuerier{}

func newPostgresQuerier(tx sqlitegen.DBTX) Querier { return pgQuerier{q: pggen.New(tx)} }

func convertAll[T, U any](in []T, err error, f func(T) U) ([]U, error) {
	if in == nil {
		return nil, err
	}
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out, err
}

func (p pgQuerier) CountPlacedBySatellite(ctx context.Context) ([]sqlitegen.CountPlacedBySatelliteRow, error) {
	rows, err := p.q.CountPlacedBySatellite(ctx)
	return convertAll(rows, err, func(r pggen.CountPlacedBySatelliteRow) sqlitegen.CountPlacedBySatelliteRow {
		return sqlitegen.CountPlacedBySatelliteRow(r)
	})
}

func (p pgQuerier) CountPlacedOnSatellite(ctx context.Context, satellite sql.NullString) (sqlitegen.CountPlacedOnSatelliteRow, error) {
	r, err := p.q.CountPlacedOnSatellite(ctx, satellite)
	return sqlitegen.CountPlacedOnSatelliteRow(r), err
}

func (p pgQuerier) DeleteLogicalCluster(ctx context.Context, arg sqlitegen.DeleteLogicalClusterParams) (int64, error) {
	return p.q.DeleteLogicalCluster(ctx, pggen.DeleteLogicalClusterParams(arg))
}

func (p pgQuerier) DeletePublishedOutbox(ctx context.Context, before int64) (int64, error) {
	return p.q.DeletePublishedOutbox(ctx, before)
}

func (p pgQuerier) GetAPIKeyByHash(ctx context.Context, secretHash []byte) (sqlitegen.GetAPIKeyByHashRow, error) {
	r, err := p.q.GetAPIKeyByHash(ctx, secretHash)
	return sqlitegen.GetAPIKeyByHashRow(r), err
}

func (p pgQuerier) GetClusterStatus(ctx context.Context, physicalClusterID string) (sqlitegen.ClusterStatus, error) {
	r, err := p.q.GetClusterStatus(ctx, physicalClusterID)
	return sqlitegen.ClusterStatus(r), err
}

func (p pgQuerier) GetLatestLogicalClusterByName(ctx context.Context, arg sqlitegen.GetLatestLogicalClusterByNameParams) (sqlitegen.LogicalCluster, error) {
	r, err := p.q.GetLatestLogicalClusterByName(ctx, pggen.GetLatestLogicalClusterByNameParams(arg))
	return sqlitegen.LogicalCluster(r), err
}

func (p pgQuerier) GetLiveLogicalClusterByName(ctx context.Context, arg sqlitegen.GetLiveLogicalClusterByNameParams) (sqlitegen.LogicalCluster, error) {
	r, err := p.q.GetLiveLogicalClusterByName(ctx, pggen.GetLiveLogicalClusterByNameParams(arg))
	return sqlitegen.LogicalCluster(r), err
}

func (p pgQuerier) GetLogicalCluster(ctx context.Context, id string) (sqlitegen.LogicalCluster, error) {
	r, err := p.q.GetLogicalCluster(ctx, id)
	return sqlitegen.LogicalCluster(r), err
}

func (p pgQuerier) GetMeta(ctx context.Context, key string) (string, error) {
	return p.q.GetMeta(ctx, key)
}

func (p pgQuerier) GetPhysicalCluster(ctx context.Context, id string) (sqlitegen.PhysicalCluster, error) {
	r, err := p.q.GetPhysicalCluster(ctx, id)
	return sqlitegen.PhysicalCluster(r), err
}

func (p pgQuerier) GetPhysicalClusterByLogical(ctx context.Context, logicalClusterID string) (sqlitegen.PhysicalCluster, error) {
	r, err := p.q.GetPhysicalClusterByLogical(ctx, logicalClusterID)
	return sqlitegen.PhysicalCluster(r), err
}

func (p pgQuerier) GetPlacement(ctx context.Context, physicalClusterID string) (sqlitegen.Placement, error) {
	r, err := p.q.GetPlacement(ctx, physicalClusterID)
	return sqlitegen.Placement(r), err
}

func (p pgQuerier) GetTenantByName(ctx context.Context, name string) (sqlitegen.Tenant, error) {
	r, err := p.q.GetTenantByName(ctx, name)
	return sqlitegen.Tenant(r), err
}

func (p pgQuerier) InsertAPIKey(ctx context.Context, arg sqlitegen.InsertAPIKeyParams) error {
	return p.q.InsertAPIKey(ctx, pggen.InsertAPIKeyParams(arg))
}

func (p pgQuerier) InsertLogicalCluster(ctx context.Context, arg sqlitegen.InsertLogicalClusterParams) error {
	return p.q.InsertLogicalCluster(ctx, pggen.InsertLogicalClusterParams(arg))
}

func (p pgQuerier) InsertMeta(ctx context.Context, arg sqlitegen.InsertMetaParams) error {
	return p.q.InsertMeta(ctx, pggen.InsertMetaParams(arg))
}

func (p pgQuerier) InsertOutbox(ctx context.Context, arg sqlitegen.InsertOutboxParams) (int64, error) {
	return p.q.InsertOutbox(ctx, pggen.InsertOutboxParams(arg))
}

func (p pgQuerier) InsertPhysicalCluster(ctx context.Context, arg sqlitegen.InsertPhysicalClusterParams) error {
	return p.q.InsertPhysicalCluster(ctx, pggen.InsertPhysicalClusterParams(arg))
}

func (p pgQuerier) InsertPhysicalGeneration(ctx context.Context, arg sqlitegen.InsertPhysicalGenerationParams) error {
	return p.q.InsertPhysicalGeneration(ctx, pggen.InsertPhysicalGenerationParams(arg))
}

func (p pgQuerier) InsertTenant(ctx context.Context, arg sqlitegen.InsertTenantParams) error {
	return p.q.InsertTenant(ctx, pggen.InsertTenantParams(arg))
}

func (p pgQuerier) ListLiveLogicalClusters(ctx context.Context, tenantID string) ([]sqlitegen.LogicalCluster, error) {
	rows, err := p.q.ListLiveLogicalClusters(ctx, tenantID)
	return convertAll(rows, err, func(r pggen.LogicalCluster) sqlitegen.LogicalCluster { return sqlitegen.LogicalCluster(r) })
}

func (p pgQuerier) ListLogicalClusterIDs(ctx context.Context) ([]string, error) {
	return p.q.ListLogicalClusterIDs(ctx)
}

func (p pgQuerier) ListPendingOutbox(ctx context.Context, maxRows int64) ([]sqlitegen.Outbox, error) {
	rows, err := p.q.ListPendingOutbox(ctx, maxRows)
	return convertAll(rows, err, func(r pggen.Outbox) sqlitegen.Outbox { return sqlitegen.Outbox(r) })
}

func (p pgQuerier) ListPhysicalClusterIDs(ctx context.Context) ([]string, error) {
	return p.q.ListPhysicalClusterIDs(ctx)
}

func (p pgQuerier) ListSatellites(ctx context.Context) ([]sqlitegen.Satellite, error) {
	rows, err := p.q.ListSatellites(ctx)
	return convertAll(rows, err, func(r pggen.Satellite) sqlitegen.Satellite { return sqlitegen.Satellite(r) })
}

func (p pgQuerier) ListUnplacedPhysicalClusterIDs(ctx context.Context) ([]string, error) {
	return p.q.ListUnplacedPhysicalClusterIDs(ctx)
}

func (p pgQuerier) MarkOutboxPublished(ctx context.Context, arg sqlitegen.MarkOutboxPublishedParams) error {
	return p.q.MarkOutboxPublished(ctx, pggen.MarkOutboxPublishedParams(arg))
}

func (p pgQuerier) ObservedLogicalGeneration(ctx context.Context, arg sqlitegen.ObservedLogicalGenerationParams) (int64, error) {
	return p.q.ObservedLogicalGeneration(ctx, pggen.ObservedLogicalGenerationParams(arg))
}

func (p pgQuerier) ResizeLogicalCluster(ctx context.Context, arg sqlitegen.ResizeLogicalClusterParams) (int64, error) {
	return p.q.ResizeLogicalCluster(ctx, pggen.ResizeLogicalClusterParams(arg))
}

func (p pgQuerier) UpdatePhysicalCluster(ctx context.Context, arg sqlitegen.UpdatePhysicalClusterParams) (int64, error) {
	return p.q.UpdatePhysicalCluster(ctx, pggen.UpdatePhysicalClusterParams(arg))
}

func (p pgQuerier) UpsertClusterStatus(ctx context.Context, arg sqlitegen.UpsertClusterStatusParams) error {
	return p.q.UpsertClusterStatus(ctx, pggen.UpsertClusterStatusParams(arg))
}

func (p pgQuerier) UpsertPlacement(ctx context.Context, arg sqlitegen.UpsertPlacementParams) error {
	return p.q.UpsertPlacement(ctx, pggen.UpsertPlacementParams(arg))
}

func (p pgQuerier) UpsertSatellite(ctx context.Context, arg sqlitegen.UpsertSatelliteParams) error {
	return p.q.UpsertSatellite(ctx, pggen.UpsertSatelliteParams(arg))
}

func (p pgQuerier) ListLiveDependents(ctx context.Context, kafkaClusterID string) ([]sqlitegen.LogicalCluster, error) {
	rows, err := p.q.ListLiveDependents(ctx, kafkaClusterID)
	return convertAll(rows, err, func(r pggen.LogicalCluster) sqlitegen.LogicalCluster { return sqlitegen.LogicalCluster(r) })
}

func (p pgQuerier) RotateLogicalClusterCertificates(ctx context.Context, arg sqlitegen.RotateLogicalClusterCertificatesParams) (int64, error) {
	return p.q.RotateLogicalClusterCertificates(ctx, pggen.RotateLogicalClusterCertificatesParams(arg))
}

func (p pgQuerier) UndeleteLogicalCluster(ctx context.Context, arg sqlitegen.UndeleteLogicalClusterParams) (int64, error) {
	return p.q.UndeleteLogicalCluster(ctx, pggen.UndeleteLogicalClusterParams(arg))
}

func (p pgQuerier) ListPhysicalDependentIDs(ctx context.Context, kafkaPhysicalID string) ([]string, error) {
	return p.q.ListPhysicalDependentIDs(ctx, kafkaPhysicalID)
}

func (p pgQuerier) GetAPIKey(ctx context.Context, id string) (sqlitegen.GetAPIKeyRow, error) {
	r, err := p.q.GetAPIKey(ctx, id)
	return sqlitegen.GetAPIKeyRow(r), err
}

func (p pgQuerier) ListAPIKeys(ctx context.Context, tenantID string) ([]sqlitegen.ListAPIKeysRow, error) {
	rows, err := p.q.ListAPIKeys(ctx, tenantID)
	return convertAll(rows, err, func(r pggen.ListAPIKeysRow) sqlitegen.ListAPIKeysRow { return sqlitegen.ListAPIKeysRow(r) })
}

func (p pgQuerier) ListAllLiveLogicalClusters(ctx context.Context) ([]sqlitegen.LogicalCluster, error) {
	rows, err := p.q.ListAllLiveLogicalClusters(ctx)
	return convertAll(rows, err, func(r pggen.LogicalCluster) sqlitegen.LogicalCluster { return sqlitegen.LogicalCluster(r) })
}

func (p pgQuerier) RevokeAPIKey(ctx context.Context, arg sqlitegen.RevokeAPIKeyParams) (int64, error) {
	return p.q.RevokeAPIKey(ctx, pggen.RevokeAPIKeyParams(arg))
}

func (p pgQuerier) RevokeSatellite(ctx context.Context, arg sqlitegen.RevokeSatelliteParams) (int64, error) {
	return p.q.RevokeSatellite(ctx, pggen.RevokeSatelliteParams(arg))
}

func (p pgQuerier) InsertClusterHistory(ctx context.Context, arg sqlitegen.InsertClusterHistoryParams) error {
	return p.q.InsertClusterHistory(ctx, pggen.InsertClusterHistoryParams(arg))
}

func (p pgQuerier) ListClusterHistoryByName(ctx context.Context, arg sqlitegen.ListClusterHistoryByNameParams) ([]sqlitegen.ClusterHistory, error) {
	rows, err := p.q.ListClusterHistoryByName(ctx, pggen.ListClusterHistoryByNameParams(arg))
	return convertAll(rows, err, func(r pggen.ClusterHistory) sqlitegen.ClusterHistory { return sqlitegen.ClusterHistory(r) })
}

func (p pgQuerier) GetCurrentProfile(ctx context.Context, arg sqlitegen.GetCurrentProfileParams) (sqlitegen.Profile, error) {
	r, err := p.q.GetCurrentProfile(ctx, pggen.GetCurrentProfileParams(arg))
	return sqlitegen.Profile(r), err
}

func (p pgQuerier) ListCurrentProfiles(ctx context.Context) ([]sqlitegen.Profile, error) {
	rows, err := p.q.ListCurrentProfiles(ctx)
	return convertAll(rows, err, func(r pggen.Profile) sqlitegen.Profile { return sqlitegen.Profile(r) })
}

func (p pgQuerier) InsertProfile(ctx context.Context, arg sqlitegen.InsertProfileParams) error {
	return p.q.InsertProfile(ctx, pggen.InsertProfileParams(arg))
}

func (p pgQuerier) ListLogicalClusterIDsByProfile(ctx context.Context, arg sqlitegen.ListLogicalClusterIDsByProfileParams) ([]string, error) {
	return p.q.ListLogicalClusterIDsByProfile(ctx, pggen.ListLogicalClusterIDsByProfileParams(arg))
}

func (p pgQuerier) AddUsage(ctx context.Context, arg sqlitegen.AddUsageParams) error {
	return p.q.AddUsage(ctx, pggen.AddUsageParams(arg))
}

func (p pgQuerier) ListUsage(ctx context.Context, arg sqlitegen.ListUsageParams) ([]sqlitegen.ListUsageRow, error) {
	rows, err := p.q.ListUsage(ctx, pggen.ListUsageParams(arg))
	return convertAll(rows, err, func(r pggen.ListUsageRow) sqlitegen.ListUsageRow { return sqlitegen.ListUsageRow(r) })
}

func (p pgQuerier) ListMeteredClusters(ctx context.Context) ([]sqlitegen.ListMeteredClustersRow, error) {
	rows, err := p.q.ListMeteredClusters(ctx)
	return convertAll(rows, err, func(r pggen.ListMeteredClustersRow) sqlitegen.ListMeteredClustersRow {
		return sqlitegen.ListMeteredClustersRow(r)
	})
}

func (p pgQuerier) SetMeta(ctx context.Context, arg sqlitegen.SetMetaParams) error {
	return p.q.SetMeta(ctx, pggen.SetMetaParams(arg))
}

func (p pgQuerier) GetTenancy(ctx context.Context, logicalClusterID string) (sqlitegen.Tenancy, error) {
	r, err := p.q.GetTenancy(ctx, logicalClusterID)
	return sqlitegen.Tenancy(r), err
}

func (p pgQuerier) InsertTenancy(ctx context.Context, arg sqlitegen.InsertTenancyParams) error {
	return p.q.InsertTenancy(ctx, pggen.InsertTenancyParams(arg))
}

func (p pgQuerier) ListLiveTenants(ctx context.Context, physicalClusterID string) ([]string, error) {
	return p.q.ListLiveTenants(ctx, physicalClusterID)
}

func (p pgQuerier) FindSharedPhysicalCluster(ctx context.Context, arg sqlitegen.FindSharedPhysicalClusterParams) (string, error) {
	return p.q.FindSharedPhysicalCluster(ctx, pggen.FindSharedPhysicalClusterParams(arg))
}

-- name: GetPlacement :one
SELECT * FROM placements WHERE physical_cluster_id = sqlc.arg(physical_cluster_id);

-- name: UpsertPlacement :exec
INSERT INTO placements (physical_cluster_id, satellite, reason, updated_at)
VALUES (sqlc.arg(physical_cluster_id), sqlc.narg(satellite), sqlc.arg(reason), sqlc.arg(now))
ON CONFLICT (physical_cluster_id) DO UPDATE SET satellite = excluded.satellite, reason = excluded.reason,
    updated_at = excluded.updated_at;

-- name: CountPlacedBySatellite :many
SELECT pl.satellite, CAST(COUNT(*) AS BIGINT) AS clusters, CAST(COALESCE(SUM(p.replicas), 0) AS BIGINT) AS replicas
FROM placements pl JOIN physical_clusters p ON p.id = pl.physical_cluster_id
WHERE pl.satellite IS NOT NULL AND p.deleted_at IS NULL
GROUP BY pl.satellite;

-- name: CountPlacedOnSatellite :one
SELECT CAST(COUNT(*) AS BIGINT) AS clusters, CAST(COALESCE(SUM(p.replicas), 0) AS BIGINT) AS replicas
FROM placements pl JOIN physical_clusters p ON p.id = pl.physical_cluster_id
WHERE pl.satellite = sqlc.arg(satellite) AND p.deleted_at IS NULL;

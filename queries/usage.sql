-- name: AddUsage :exec
INSERT INTO usage (tenant_id, hour, logical_cluster_id, cku_ms, storage_gib_ms, partition_ms)
VALUES (sqlc.arg(tenant_id), sqlc.arg(hour), sqlc.arg(logical_cluster_id), sqlc.arg(cku_ms), sqlc.arg(storage_gib_ms), sqlc.arg(partition_ms))
ON CONFLICT (tenant_id, hour, logical_cluster_id) DO UPDATE
    SET cku_ms = usage.cku_ms + excluded.cku_ms,
        storage_gib_ms = usage.storage_gib_ms + excluded.storage_gib_ms,
        partition_ms = usage.partition_ms + excluded.partition_ms;

-- name: ListUsage :many
SELECT u.hour, u.logical_cluster_id, l.name, u.cku_ms, u.storage_gib_ms, u.partition_ms
FROM usage u JOIN logical_clusters l ON l.id = u.logical_cluster_id
WHERE u.tenant_id = sqlc.arg(tenant_id) AND u.hour >= sqlc.arg(from_hour) AND u.hour < sqlc.arg(to_hour)
ORDER BY u.hour, l.name;

-- name: ListMeteredClusters :many
-- What the meter bills: live clusters with the satellite's last report of them.
SELECT l.id, l.tenant_id, l.cku, p.sku, p.replicas, p.storage_gib, s.phase, s.replicas AS running_replicas, s.data_usage
FROM logical_clusters l
JOIN tenancies t ON t.logical_cluster_id = l.id
JOIN physical_clusters p ON p.id = t.physical_cluster_id
JOIN cluster_status s ON s.physical_cluster_id = p.id
WHERE l.deleted_at IS NULL;

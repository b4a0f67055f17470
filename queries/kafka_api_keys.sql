-- name: InsertKafkaAPIKey :exec
INSERT INTO kafka_api_keys (id, logical_cluster_id, tenant_id, description, mechanism, iterations, sealed, sealed_by, created_at)
VALUES (sqlc.arg(id), sqlc.arg(logical_cluster_id), sqlc.arg(tenant_id), sqlc.arg(description), sqlc.arg(mechanism),
        sqlc.arg(iterations), sqlc.arg(sealed), sqlc.arg(sealed_by), sqlc.arg(created_at));

-- name: GetKafkaAPIKey :one
SELECT * FROM kafka_api_keys WHERE id = sqlc.arg(id);

-- name: ListKafkaAPIKeys :many
SELECT * FROM kafka_api_keys WHERE logical_cluster_id = sqlc.arg(logical_cluster_id) ORDER BY created_at, id;

-- name: ListLiveKafkaAPIKeysByPhysical :many
-- The keys a physical cluster must know: not revoked, of its live tenants.
SELECT k.* FROM kafka_api_keys k
JOIN tenancies t ON t.logical_cluster_id = k.logical_cluster_id
JOIN logical_clusters l ON l.id = k.logical_cluster_id
WHERE t.physical_cluster_id = sqlc.arg(physical_cluster_id) AND k.revoked_at IS NULL AND l.deleted_at IS NULL
ORDER BY k.id;

-- name: RevokeKafkaAPIKey :execrows
UPDATE kafka_api_keys SET revoked_at = CAST(sqlc.arg(now) AS BIGINT) WHERE id = sqlc.arg(id) AND revoked_at IS NULL;

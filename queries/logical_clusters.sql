-- name: InsertLogicalCluster :exec
INSERT INTO logical_clusters (id, tenant_id, name, product, sku, cku, region, cloud, network, kafka_cluster_id, generation, created_at, updated_at)
VALUES (sqlc.arg(id), sqlc.arg(tenant_id), sqlc.arg(name), sqlc.arg(product), sqlc.arg(sku), sqlc.arg(cku),
        sqlc.arg(region), sqlc.arg(cloud), sqlc.arg(network), sqlc.narg(kafka_cluster_id), 1, sqlc.arg(now), sqlc.arg(now));

-- name: GetLogicalCluster :one
SELECT * FROM logical_clusters WHERE id = sqlc.arg(id);

-- name: GetLiveLogicalClusterByName :one
SELECT * FROM logical_clusters WHERE tenant_id = sqlc.arg(tenant_id) AND name = sqlc.arg(name) AND deleted_at IS NULL;

-- name: GetLatestLogicalClusterByName :one
-- The live cluster of that name, or else the one deleted last.
SELECT * FROM logical_clusters WHERE tenant_id = sqlc.arg(tenant_id) AND name = sqlc.arg(name)
ORDER BY (deleted_at IS NULL) DESC, deleted_at DESC LIMIT 1;

-- name: ListLiveLogicalClusters :many
SELECT * FROM logical_clusters WHERE tenant_id = sqlc.arg(tenant_id) AND deleted_at IS NULL ORDER BY name;

-- name: ListLogicalClusterIDs :many
SELECT id FROM logical_clusters ORDER BY id;

-- name: ResizeLogicalCluster :execrows
UPDATE logical_clusters SET cku = sqlc.arg(cku), generation = generation + 1, updated_at = sqlc.arg(now)
WHERE id = sqlc.arg(id) AND deleted_at IS NULL;

-- name: DeleteLogicalCluster :execrows
UPDATE logical_clusters SET updated_at = sqlc.arg(now), generation = generation + 1, deleted_at = sqlc.arg(now)
WHERE id = sqlc.arg(id) AND deleted_at IS NULL;

-- name: ListLiveDependents :many
-- The live clusters that work with a Kafka cluster.
SELECT * FROM logical_clusters WHERE kafka_cluster_id = CAST(sqlc.arg(kafka_cluster_id) AS TEXT) AND deleted_at IS NULL ORDER BY name;

-- name: UndeleteLogicalCluster :execrows
UPDATE logical_clusters SET deleted_at = NULL, generation = generation + 1, updated_at = sqlc.arg(now)
WHERE id = sqlc.arg(id) AND deleted_at IS NOT NULL;

-- name: RotateLogicalClusterCertificates :execrows
UPDATE logical_clusters SET tls_serial = tls_serial + 1, generation = generation + 1, updated_at = sqlc.arg(now)
WHERE id = sqlc.arg(id) AND deleted_at IS NULL;

-- name: SetLogicalClusterMitigation :execrows
UPDATE logical_clusters SET mitigation = sqlc.arg(mitigation), generation = generation + 1, updated_at = sqlc.arg(now)
WHERE id = sqlc.arg(id) AND deleted_at IS NULL;

-- name: ListAllLiveLogicalClusters :many
-- Every tenant's live clusters (operators).
SELECT * FROM logical_clusters WHERE deleted_at IS NULL ORDER BY tenant_id, name;

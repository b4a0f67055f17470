-- name: GetPhysicalCluster :one
SELECT * FROM physical_clusters WHERE id = sqlc.arg(id);

-- name: GetPhysicalClusterByLogical :one
SELECT p.* FROM physical_clusters p JOIN tenancies t ON t.physical_cluster_id = p.id
WHERE t.logical_cluster_id = sqlc.arg(logical_cluster_id);

-- name: GetTenancy :one
SELECT * FROM tenancies WHERE logical_cluster_id = sqlc.arg(logical_cluster_id);

-- name: InsertTenancy :exec
INSERT INTO tenancies (logical_cluster_id, physical_cluster_id, created_at)
VALUES (sqlc.arg(logical_cluster_id), sqlc.arg(physical_cluster_id), sqlc.arg(created_at));

-- name: ListTenancyLogicalIDs :many
-- Every logical cluster a physical cluster hosts or hosted.
SELECT logical_cluster_id FROM tenancies WHERE physical_cluster_id = sqlc.arg(physical_cluster_id) ORDER BY logical_cluster_id;

-- name: ListLiveTenants :many
-- The live logical clusters a physical cluster hosts.
SELECT l.id FROM tenancies t JOIN logical_clusters l ON l.id = t.logical_cluster_id
WHERE t.physical_cluster_id = sqlc.arg(physical_cluster_id) AND l.deleted_at IS NULL ORDER BY l.id;

-- name: FindSharedPhysicalCluster :one
-- A shared cluster of that shape with room for one more tenant.
SELECT p.id FROM physical_clusters p
WHERE p.product = sqlc.arg(product) AND p.sku = sqlc.arg(sku) AND p.region = sqlc.arg(region)
  AND p.cloud = sqlc.arg(cloud) AND p.network = sqlc.arg(network) AND p.deleted_at IS NULL
  AND (SELECT COUNT(*) FROM tenancies t JOIN logical_clusters l ON l.id = t.logical_cluster_id
       WHERE t.physical_cluster_id = p.id AND l.deleted_at IS NULL) < CAST(sqlc.arg(max_tenants) AS BIGINT)
ORDER BY p.id LIMIT 1;

-- name: ListPhysicalClusterIDs :many
SELECT id FROM physical_clusters ORDER BY id;

-- name: InsertPhysicalCluster :exec
INSERT INTO physical_clusters (id, product, sku, region, cloud, network, version, replicas, controllers,
                               storage_class, storage_gib, config, kafka_physical_id, tls_serial, tenants, generation,
                               created_at, updated_at, deleted_at, purge_after, kraft_cluster_id, mitigation, profile_revision,
                               replication_throttle)
VALUES (sqlc.arg(id), sqlc.arg(product), sqlc.arg(sku), sqlc.arg(region), sqlc.arg(cloud), sqlc.arg(network),
        sqlc.arg(version), sqlc.arg(replicas), sqlc.arg(controllers), sqlc.arg(storage_class), sqlc.arg(storage_gib),
        sqlc.arg(config), sqlc.narg(kafka_physical_id), sqlc.arg(tls_serial), sqlc.arg(tenants), sqlc.arg(generation), sqlc.arg(now), sqlc.arg(now),
        sqlc.narg(deleted_at), sqlc.narg(purge_after), sqlc.arg(kraft_cluster_id), sqlc.arg(mitigation), sqlc.arg(profile_revision),
        sqlc.arg(replication_throttle));

-- name: UpdatePhysicalCluster :execrows
-- Compare-and-set on generation: the physical controller is the only writer, and this keeps
-- two instances of it from interleaving. The new generation is usually the previous one plus
-- one; after a restore it may jump past what a satellite already runs.
UPDATE physical_clusters SET version = sqlc.arg(version), replicas = sqlc.arg(replicas), controllers = sqlc.arg(controllers),
    storage_class = sqlc.arg(storage_class), storage_gib = sqlc.arg(storage_gib), config = sqlc.arg(config),
    kafka_physical_id = sqlc.narg(kafka_physical_id), tls_serial = sqlc.arg(tls_serial), tenants = sqlc.arg(tenants),
    generation = sqlc.arg(generation), updated_at = sqlc.arg(now), deleted_at = sqlc.narg(deleted_at),
    purge_after = sqlc.narg(purge_after), kraft_cluster_id = sqlc.arg(kraft_cluster_id), mitigation = sqlc.arg(mitigation),
    profile_revision = sqlc.arg(profile_revision), replication_throttle = sqlc.arg(replication_throttle),
    metadata_version = sqlc.arg(metadata_version)
WHERE id = sqlc.arg(id) AND generation = sqlc.arg(previous_generation);

-- name: InsertPhysicalGeneration :exec
INSERT INTO physical_generations (physical_cluster_id, generation, logical_cluster_id, logical_generation)
VALUES (sqlc.arg(physical_cluster_id), sqlc.arg(generation), sqlc.arg(logical_cluster_id), sqlc.arg(logical_generation))
ON CONFLICT (physical_cluster_id, generation, logical_cluster_id) DO UPDATE
    SET logical_generation = excluded.logical_generation
    WHERE excluded.logical_generation > physical_generations.logical_generation;

-- name: ObservedLogicalGeneration :one
-- The newest logical generation carried by a physical generation the satellite has observed.
SELECT CAST(COALESCE(MAX(logical_generation), 0) AS BIGINT) AS logical_generation FROM physical_generations
WHERE physical_cluster_id = sqlc.arg(physical_cluster_id) AND logical_cluster_id = sqlc.arg(logical_cluster_id)
  AND generation <= sqlc.arg(observed_generation);

-- name: ListPhysicalDependentIDs :many
-- The physical ksqldb and connect clusters that run next to a Kafka cluster.
SELECT id FROM physical_clusters WHERE kafka_physical_id = CAST(sqlc.arg(kafka_physical_id) AS TEXT) ORDER BY id;


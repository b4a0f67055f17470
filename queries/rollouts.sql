-- name: InsertRollout :exec
INSERT INTO rollouts (id, product, sku, revision, kind, rollback_of, selector, strategy, requested_state, request_seq,
                      finalize_requested, override_windows, created_at, created_by, updated_at)
VALUES (sqlc.arg(id), sqlc.arg(product), sqlc.arg(sku), sqlc.arg(revision), sqlc.arg(kind), sqlc.narg(rollback_of),
        sqlc.arg(selector), sqlc.arg(strategy), sqlc.arg(requested_state), 1, 0, sqlc.arg(override_windows),
        sqlc.arg(now), sqlc.arg(created_by), sqlc.arg(now));

-- name: UpdateRolloutRequest :exec
-- A user's request on a rollout: each one bumps request_seq so that the controller acts on it once.
UPDATE rollouts SET requested_state = sqlc.arg(requested_state), finalize_requested = sqlc.arg(finalize_requested),
    override_windows = sqlc.arg(override_windows), request_seq = request_seq + 1, updated_at = sqlc.arg(now)
WHERE id = sqlc.arg(id);

-- name: GetRollout :one
SELECT * FROM rollouts WHERE id = sqlc.arg(id);

-- name: ListRollouts :many
SELECT * FROM rollouts ORDER BY created_at, id;

-- name: ListActiveRollouts :many
-- Rollouts the controller still has work on, oldest first.
SELECT r.* FROM rollouts r LEFT JOIN rollout_status s ON s.rollout_id = r.id
WHERE s.state IS NULL OR s.state IN ('running', 'paused') OR s.request_seq < r.request_seq
ORDER BY r.created_at, r.id;

-- name: InsertRolloutHistory :exec
INSERT INTO rollout_history (rollout_id, at, actor, action, detail)
VALUES (sqlc.arg(rollout_id), sqlc.arg(at), sqlc.arg(actor), sqlc.arg(action), sqlc.arg(detail));

-- name: ListRolloutHistory :many
SELECT * FROM rollout_history WHERE rollout_id = sqlc.arg(rollout_id) ORDER BY id;

-- name: UpsertClusterLabel :exec
INSERT INTO cluster_labels (physical_cluster_id, key, value) VALUES (sqlc.arg(physical_cluster_id), sqlc.arg(key), sqlc.arg(value))
ON CONFLICT (physical_cluster_id, key) DO UPDATE SET value = excluded.value;

-- name: DeleteClusterLabel :exec
DELETE FROM cluster_labels WHERE physical_cluster_id = sqlc.arg(physical_cluster_id) AND key = sqlc.arg(key);

-- name: ListClusterLabels :many
SELECT * FROM cluster_labels ORDER BY physical_cluster_id, key;

-- name: UpsertClusterPin :exec
INSERT INTO cluster_pins (physical_cluster_id, pinned_by, pinned_at) VALUES (sqlc.arg(physical_cluster_id), sqlc.arg(pinned_by), sqlc.arg(pinned_at))
ON CONFLICT (physical_cluster_id) DO NOTHING;

-- name: DeleteClusterPin :exec
DELETE FROM cluster_pins WHERE physical_cluster_id = sqlc.arg(physical_cluster_id);

-- name: ListClusterPins :many
SELECT * FROM cluster_pins ORDER BY physical_cluster_id;

-- name: UpsertMaintenanceWindow :exec
INSERT INTO maintenance_windows (scope, spec, updated_by, updated_at) VALUES (sqlc.arg(scope), sqlc.arg(spec), sqlc.arg(updated_by), sqlc.arg(updated_at))
ON CONFLICT (scope) DO UPDATE SET spec = excluded.spec, updated_by = excluded.updated_by, updated_at = excluded.updated_at;

-- name: DeleteMaintenanceWindow :exec
DELETE FROM maintenance_windows WHERE scope = sqlc.arg(scope);

-- name: ListMaintenanceWindows :many
SELECT * FROM maintenance_windows ORDER BY scope;

-- name: GetRolloutStatus :one
SELECT * FROM rollout_status WHERE rollout_id = sqlc.arg(rollout_id);

-- name: UpsertRolloutStatus :exec
INSERT INTO rollout_status (rollout_id, state, reason, wave, waves, request_seq, wave_healthy_at, finalized_at, updated_at)
VALUES (sqlc.arg(rollout_id), sqlc.arg(state), sqlc.arg(reason), sqlc.arg(wave), sqlc.arg(waves), sqlc.arg(request_seq),
        sqlc.narg(wave_healthy_at), sqlc.narg(finalized_at), sqlc.arg(updated_at))
ON CONFLICT (rollout_id) DO UPDATE SET state = excluded.state, reason = excluded.reason, wave = excluded.wave,
    waves = excluded.waves, request_seq = excluded.request_seq, wave_healthy_at = excluded.wave_healthy_at,
    finalized_at = excluded.finalized_at, updated_at = excluded.updated_at;

-- name: InsertRolloutTarget :exec
INSERT INTO rollout_targets (rollout_id, physical_cluster_id, wave, position, satellite, from_revision, state, reason,
                             started_at, ready_since, finished_at)
VALUES (sqlc.arg(rollout_id), sqlc.arg(physical_cluster_id), sqlc.arg(wave), sqlc.arg(position), sqlc.arg(satellite),
        sqlc.arg(from_revision), sqlc.arg(state), sqlc.arg(reason), sqlc.narg(started_at), sqlc.narg(ready_since), sqlc.narg(finished_at));

-- name: UpdateRolloutTarget :exec
UPDATE rollout_targets SET state = sqlc.arg(state), reason = sqlc.arg(reason), satellite = sqlc.arg(satellite),
    started_at = sqlc.narg(started_at), ready_since = sqlc.narg(ready_since), finished_at = sqlc.narg(finished_at)
WHERE rollout_id = sqlc.arg(rollout_id) AND physical_cluster_id = sqlc.arg(physical_cluster_id);

-- name: ListRolloutTargets :many
SELECT * FROM rollout_targets WHERE rollout_id = sqlc.arg(rollout_id) ORDER BY wave, position;

-- name: ListRolloutObservations :many
-- Each cluster of a rollout still in flight (started, not final) with what it is rendered
-- at and what its satellite last reported: a step observes only those.
SELECT t.physical_cluster_id, t.state,
       CAST(COALESCE(p.generation, 0) AS BIGINT) AS generation,
       CAST(COALESCE(p.profile_revision, 0) AS BIGINT) AS profile_revision,
       CAST(COALESCE(pl.satellite, '') AS TEXT) AS placed_on,
       CAST(COALESCE(s.observed_generation, 0) AS BIGINT) AS observed_generation,
       CAST(COALESCE(s.profile_revision, 0) AS BIGINT) AS observed_revision,
       CAST(COALESCE(s.phase, '') AS TEXT) AS phase,
       CAST(COALESCE(s.message, '') AS TEXT) AS message,
       CAST(COALESCE(s.reported_at, 0) AS BIGINT) AS reported_at,
       CAST(CASE WHEN p.deleted_at IS NULL THEN 0 ELSE 1 END AS BIGINT) AS deleted
FROM rollout_targets t
LEFT JOIN physical_clusters p ON p.id = t.physical_cluster_id
LEFT JOIN placements pl ON pl.physical_cluster_id = t.physical_cluster_id
LEFT JOIN cluster_status s ON s.physical_cluster_id = t.physical_cluster_id
WHERE t.rollout_id = sqlc.arg(rollout_id) AND t.started_at IS NOT NULL
  AND t.state NOT IN ('done', 'failed', 'skipped', 'pinned', 'superseded')
ORDER BY t.wave, t.position;

-- name: ListRolloutCandidates :many
-- The live physical clusters of a product and SKU, with where they run.
SELECT p.id, p.region, p.profile_revision, CAST(COALESCE(pl.satellite, '') AS TEXT) AS satellite
FROM physical_clusters p LEFT JOIN placements pl ON pl.physical_cluster_id = p.id
WHERE p.product = sqlc.arg(product) AND p.sku = sqlc.arg(sku) AND p.deleted_at IS NULL
ORDER BY p.id;

-- name: ListPhysicalTenants :many
-- Which tenant's logical clusters each physical cluster of a product and SKU hosts.
SELECT t.physical_cluster_id, l.tenant_id FROM tenancies t
JOIN logical_clusters l ON l.id = t.logical_cluster_id
JOIN physical_clusters p ON p.id = t.physical_cluster_id
WHERE p.product = sqlc.arg(product) AND p.sku = sqlc.arg(sku) AND l.deleted_at IS NULL
ORDER BY t.physical_cluster_id, l.tenant_id;

-- name: GetClusterTarget :one
SELECT * FROM cluster_targets WHERE physical_cluster_id = sqlc.arg(physical_cluster_id);

-- name: UpsertClusterTarget :exec
INSERT INTO cluster_targets (physical_cluster_id, revision, rollout_id, updated_at)
VALUES (sqlc.arg(physical_cluster_id), sqlc.arg(revision), sqlc.arg(rollout_id), sqlc.arg(updated_at))
ON CONFLICT (physical_cluster_id) DO UPDATE SET revision = excluded.revision, rollout_id = excluded.rollout_id,
    updated_at = excluded.updated_at;

-- name: FinalizeClusterTarget :execrows
-- A finalized rollout asks its cluster for a metadata.version level; a level never goes
-- down (a lower one from an older rollout changes nothing).
UPDATE cluster_targets SET metadata_version = sqlc.arg(metadata_version), updated_at = sqlc.arg(updated_at)
WHERE physical_cluster_id = sqlc.arg(physical_cluster_id) AND metadata_version < sqlc.arg(metadata_version);

-- name: ListRolloutFinalization :many
-- Each cluster of a rollout with the metadata.version level it is to be finalized at and
-- the Kafka health its satellite last reported (JSON of kv.KafkaHealth; '' if none).
SELECT t.physical_cluster_id,
       CAST(COALESCE(ct.metadata_version, 0) AS BIGINT) AS metadata_version,
       CAST(COALESCE(s.kafka_health, '') AS TEXT) AS kafka_health
FROM rollout_targets t
LEFT JOIN cluster_targets ct ON ct.physical_cluster_id = t.physical_cluster_id
LEFT JOIN cluster_status s ON s.physical_cluster_id = t.physical_cluster_id
WHERE t.rollout_id = sqlc.arg(rollout_id)
ORDER BY t.wave, t.position;

-- name: InsertRolloutEvent :exec
-- An event is recorded once: replaying it (same rollout and key) changes nothing.
INSERT INTO rollout_events (rollout_id, key, at, actor, action, detail)
VALUES (sqlc.arg(rollout_id), sqlc.arg(key), sqlc.arg(at), sqlc.arg(actor), sqlc.arg(action), sqlc.arg(detail))
ON CONFLICT (rollout_id, key) DO NOTHING;

-- name: ListRolloutEvents :many
SELECT * FROM rollout_events WHERE rollout_id = sqlc.arg(rollout_id) ORDER BY id;

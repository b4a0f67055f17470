-- name: GetClusterStatus :one
SELECT * FROM cluster_status WHERE physical_cluster_id = sqlc.arg(physical_cluster_id);

-- name: UpsertClusterStatus :exec
-- Only a newer KV revision replaces a recorded status.
INSERT INTO cluster_status (physical_cluster_id, satellite, observed_generation, phase, reason, message, replicas,
                            ready_replicas, bootstrap, conditions, reported_at, kv_revision, ca_certificate, certificate_serial, bootstrap_host, data_usage, profile_revision,
                            kafka_health)
VALUES (sqlc.arg(physical_cluster_id), sqlc.arg(satellite), sqlc.arg(observed_generation), sqlc.arg(phase), sqlc.arg(reason),
        sqlc.arg(message), sqlc.arg(replicas), sqlc.arg(ready_replicas), sqlc.arg(bootstrap), sqlc.arg(conditions),
        sqlc.arg(reported_at), sqlc.arg(kv_revision), sqlc.arg(ca_certificate), sqlc.arg(certificate_serial), sqlc.arg(bootstrap_host), sqlc.arg(data_usage), sqlc.arg(profile_revision),
        sqlc.arg(kafka_health))
ON CONFLICT (physical_cluster_id) DO UPDATE SET satellite = excluded.satellite,
    observed_generation = excluded.observed_generation, phase = excluded.phase, reason = excluded.reason,
    message = excluded.message, replicas = excluded.replicas, ready_replicas = excluded.ready_replicas,
    bootstrap = excluded.bootstrap, conditions = excluded.conditions, reported_at = excluded.reported_at,
    kv_revision = excluded.kv_revision, ca_certificate = excluded.ca_certificate,
    certificate_serial = excluded.certificate_serial, bootstrap_host = excluded.bootstrap_host,
    data_usage = excluded.data_usage, profile_revision = excluded.profile_revision,
    kafka_health = excluded.kafka_health
WHERE excluded.kv_revision > cluster_status.kv_revision;

-- name: ForgetStatusRevisions :exec
-- After a restore: the restored revisions are a hub's that may be gone (a fresh hub numbers
-- from 1 again), so the next report of each cluster replaces what was recorded.
UPDATE cluster_status SET kv_revision = 0;

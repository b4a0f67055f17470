-- name: UpsertSatellite :exec
INSERT INTO satellites (name, region, cloud, networks, nkey, curve_key, created_at)
VALUES (sqlc.arg(name), sqlc.arg(region), sqlc.arg(cloud), sqlc.arg(networks), sqlc.arg(nkey), sqlc.arg(curve_key), sqlc.arg(created_at))
ON CONFLICT (name) DO UPDATE SET region = excluded.region, cloud = excluded.cloud,
    networks = excluded.networks, nkey = excluded.nkey, curve_key = excluded.curve_key, revoked_at = NULL;

-- name: ListSatellites :many
SELECT * FROM satellites WHERE revoked_at IS NULL ORDER BY name;

-- name: RevokeSatellite :execrows
UPDATE satellites SET revoked_at = CAST(sqlc.arg(now) AS BIGINT) WHERE name = sqlc.arg(name) AND revoked_at IS NULL;

-- name: GetSatelliteCurveKey :one
SELECT curve_key FROM satellites WHERE name = sqlc.arg(name) AND revoked_at IS NULL;

-- name: GetCurrentProfile :one
SELECT * FROM profiles WHERE product = sqlc.arg(product) AND sku = sqlc.arg(sku) ORDER BY version DESC LIMIT 1;

-- name: InsertProfile :exec
INSERT INTO profiles (product, sku, version, spec, created_at, created_by)
VALUES (sqlc.arg(product), sqlc.arg(sku), sqlc.arg(version), sqlc.arg(spec), sqlc.arg(created_at), sqlc.arg(created_by));

-- name: ListLogicalClusterIDsByProfile :many
SELECT id FROM logical_clusters WHERE product = sqlc.arg(product) AND sku = sqlc.arg(sku) ORDER BY id;

-- name: GetProfile :one
SELECT * FROM profiles WHERE product = sqlc.arg(product) AND sku = sqlc.arg(sku) AND version = sqlc.arg(version);

-- name: GetCurrentProfile :one
SELECT * FROM profiles WHERE product = sqlc.arg(product) AND sku = sqlc.arg(sku) ORDER BY version DESC LIMIT 1;

-- name: ListCurrentProfiles :many
SELECT p.* FROM profiles p
WHERE p.version = (SELECT MAX(v.version) FROM profiles v WHERE v.product = p.product AND v.sku = p.sku)
ORDER BY p.product, p.sku;

-- name: InsertProfile :exec
INSERT INTO profiles (product, sku, version, spec, created_at, created_by)
VALUES (sqlc.arg(product), sqlc.arg(sku), sqlc.arg(version), sqlc.arg(spec), sqlc.arg(created_at), sqlc.arg(created_by));

-- name: ListLogicalClusterIDsByProfile :many
SELECT id FROM logical_clusters WHERE product = sqlc.arg(product) AND sku = sqlc.arg(sku) ORDER BY id;

-- name: GetMeta :one
SELECT value FROM meta WHERE key = sqlc.arg(key);

-- name: InsertMeta :exec
INSERT INTO meta (key, value) VALUES (sqlc.arg(key), sqlc.arg(value))
ON CONFLICT (key) DO NOTHING;

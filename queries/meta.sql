-- The meta table is split by key, one writer each: outbox_epoch belongs to the store,
-- usage_cursor to the usage meter.

-- name: GetOutboxEpoch :one
SELECT value FROM meta WHERE key = 'outbox_epoch';

-- name: InsertOutboxEpoch :exec
INSERT INTO meta (key, value) VALUES ('outbox_epoch', sqlc.arg(value))
ON CONFLICT (key) DO NOTHING;

-- name: SetOutboxEpoch :exec
UPDATE meta SET value = sqlc.arg(value) WHERE key = 'outbox_epoch';

-- name: GetUsageCursor :one
SELECT value FROM meta WHERE key = 'usage_cursor';

-- name: SetUsageCursor :exec
INSERT INTO meta (key, value) VALUES ('usage_cursor', sqlc.arg(value))
ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- name: InsertOutbox :one
INSERT INTO outbox (subject, payload, created_at) VALUES (sqlc.arg(subject), sqlc.arg(payload), sqlc.arg(now))
RETURNING id;

-- name: ListPendingOutbox :many
SELECT * FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT CAST(sqlc.arg(max_rows) AS BIGINT);

-- name: MarkOutboxPublished :exec
UPDATE outbox SET published_at = CAST(sqlc.arg(now) AS BIGINT) WHERE id = sqlc.arg(id);

-- name: DeletePublishedOutbox :execrows
DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < CAST(sqlc.arg(before) AS BIGINT);

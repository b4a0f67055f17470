-- name: InsertConsoleSession :exec
INSERT INTO console_sessions (id_hash, api_key_id, created_at, expires_at)
VALUES (sqlc.arg(id_hash), sqlc.arg(api_key_id), sqlc.arg(created_at), sqlc.arg(expires_at));

-- name: GetConsoleSession :one
-- A live session with its key's tenant and role; a revoked key ends its sessions.
SELECT k.id AS api_key_id, k.tenant_id, k.role, t.name AS tenant_name, s.expires_at
FROM console_sessions s
JOIN api_keys k ON k.id = s.api_key_id
JOIN tenants t ON t.id = k.tenant_id
WHERE s.id_hash = sqlc.arg(id_hash) AND s.expires_at > sqlc.arg(now) AND k.revoked_at IS NULL;

-- name: DeleteConsoleSession :execrows
DELETE FROM console_sessions WHERE id_hash = sqlc.arg(id_hash);

-- name: DeleteExpiredConsoleSessions :execrows
DELETE FROM console_sessions WHERE expires_at <= sqlc.arg(now);

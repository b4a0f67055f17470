-- name: InsertTenant :exec
INSERT INTO tenants (id, name, created_at) VALUES (sqlc.arg(id), sqlc.arg(name), sqlc.arg(created_at));

-- name: GetTenantByName :one
SELECT * FROM tenants WHERE name = sqlc.arg(name);

-- name: InsertAPIKey :exec
INSERT INTO api_keys (id, tenant_id, role, description, secret_hash, created_at)
VALUES (sqlc.arg(id), sqlc.arg(tenant_id), sqlc.arg(role), sqlc.arg(description), sqlc.arg(secret_hash), sqlc.arg(created_at));

-- name: GetAPIKeyByHash :one
SELECT k.id, k.tenant_id, k.role, k.revoked_at, t.name AS tenant_name
FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
WHERE k.secret_hash = sqlc.arg(secret_hash);

-- name: ListAPIKeys :many
SELECT k.id, k.tenant_id, k.role, k.description, k.created_at, k.revoked_at, t.name AS tenant_name
FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
WHERE k.tenant_id = sqlc.arg(tenant_id) ORDER BY k.created_at, k.id;

-- name: GetAPIKey :one
SELECT k.id, k.tenant_id, k.role, k.description, k.created_at, k.revoked_at, t.name AS tenant_name
FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
WHERE k.id = sqlc.arg(id);

-- name: RevokeAPIKey :execrows
UPDATE api_keys SET revoked_at = CAST(sqlc.arg(now) AS BIGINT) WHERE id = sqlc.arg(id) AND revoked_at IS NULL;

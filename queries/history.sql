-- name: InsertClusterHistory :exec
INSERT INTO cluster_history (logical_cluster_id, tenant_id, at, actor, action, before_state, after_state)
VALUES (sqlc.arg(logical_cluster_id), sqlc.arg(tenant_id), sqlc.arg(at), sqlc.arg(actor), sqlc.arg(action),
        sqlc.arg(before_state), sqlc.arg(after_state));

-- name: ListClusterHistoryByName :many
-- The history of every cluster the tenant ever had under that name, oldest first.
SELECT h.* FROM cluster_history h JOIN logical_clusters l ON l.id = h.logical_cluster_id
WHERE l.tenant_id = sqlc.arg(tenant_id) AND l.name = sqlc.arg(name)
ORDER BY h.id;

-- name: TakeLease :execrows
-- Take the lease if it expired, or if this holder had it (a restarted replica): always with
-- the next token, which fences whatever the previous holder still tries to write.
UPDATE leader_lease SET holder = sqlc.arg(holder), token = token + 1, expires_at = sqlc.arg(expires_at)
WHERE name = sqlc.arg(name) AND (expires_at < sqlc.arg(now) OR holder = sqlc.arg(holder));

-- name: RenewLease :execrows
UPDATE leader_lease SET expires_at = sqlc.arg(expires_at)
WHERE name = sqlc.arg(name) AND holder = sqlc.arg(holder) AND token = sqlc.arg(token);

-- name: ReleaseLease :execrows
-- Give the lease up (a graceful stop): the next replica takes it at once.
UPDATE leader_lease SET expires_at = 0
WHERE name = sqlc.arg(name) AND holder = sqlc.arg(holder) AND token = sqlc.arg(token);

-- name: GetLease :one
SELECT * FROM leader_lease WHERE name = sqlc.arg(name);

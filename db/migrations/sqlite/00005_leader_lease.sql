-- +goose Up
-- The mothership replicas' leader lease: one row per lease. The holder renews it before it
-- expires; another replica takes it only once it has expired, with the next token. Every
-- leader-only transaction checks holder and token (the fence), so a deposed leader's
-- writes fail.
CREATE TABLE leader_lease (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    token      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
INSERT INTO leader_lease (name, holder, token, expires_at) VALUES ('mothership', '', 0, 0);

-- +goose Down
DROP TABLE leader_lease;

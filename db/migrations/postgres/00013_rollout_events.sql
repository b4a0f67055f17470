-- +goose Up
-- rollout_events: what the rollout controller did on its own (a wave started or turned
-- healthy, the rollout paused itself, completed, was superseded), with its actor; written
-- in the transaction of the state change it records (rollout controller). key names the
-- event within its rollout, so that an event is recorded once however often it is replayed.
CREATE TABLE rollout_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rollout_id TEXT NOT NULL,
    key        TEXT NOT NULL,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    UNIQUE (rollout_id, key)
);

-- +goose Down
DROP TABLE rollout_events;

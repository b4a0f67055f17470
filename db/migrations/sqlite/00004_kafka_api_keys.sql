-- +goose Up
-- Kafka API keys: each a SCRAM-SHA-512 user of one Kafka logical cluster. The secret is never
-- stored: only the SCRAM salted credential the mothership derived from it, sealed (NaCl box)
-- to the mothership's own curve key (sealed_by, its public half), so that the database alone
-- cannot use it. The credentials publisher opens it and seals it again to the satellite that
-- runs the cluster.
CREATE TABLE kafka_api_keys (
    id                 TEXT PRIMARY KEY,
    logical_cluster_id TEXT NOT NULL REFERENCES logical_clusters (id),
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    description        TEXT NOT NULL,
    mechanism          TEXT NOT NULL,
    iterations         BIGINT NOT NULL,
    sealed             BLOB NOT NULL,
    sealed_by          TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    revoked_at         BIGINT
);
CREATE INDEX kafka_api_keys_cluster ON kafka_api_keys (logical_cluster_id, created_at);

-- +goose Down
DROP TABLE kafka_api_keys;

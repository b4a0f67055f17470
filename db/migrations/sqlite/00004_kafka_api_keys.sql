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
-- A satellite's public curve key (nkeys, X…), minted at onboarding beside its nkey: Kafka
-- credentials are sealed to it ('' for a satellite onboarded before; it gets none).
ALTER TABLE satellites ADD COLUMN curve_key TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE satellites DROP COLUMN curve_key;
DROP TABLE kafka_api_keys;

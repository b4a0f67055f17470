-- +goose Up
-- Finalizing Kafka's metadata version after an upgrade, an explicit step per rollout.

-- cluster_targets.metadata_version: the metadata.version level a physical cluster is to be
-- finalized at, set when a rollout that reached it is finalized (rollout controller); 0:
-- none asked for.
ALTER TABLE cluster_targets ADD COLUMN metadata_version BIGINT NOT NULL DEFAULT 0;

-- physical_clusters.metadata_version: the level the cluster is rendered with (PSC
-- spec.metadataVersion), from its target (physical controller).
ALTER TABLE physical_clusters ADD COLUMN metadata_version BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE physical_clusters DROP COLUMN metadata_version;
ALTER TABLE cluster_targets DROP COLUMN metadata_version;

-- +goose Up
-- What a Kafka cluster holds, as its satellite read it from Kafka (JSON of kv.DataUsage:
-- partitions and logical bytes, per tenant on shared clusters; '' until reported).
ALTER TABLE cluster_status ADD COLUMN data_usage TEXT NOT NULL DEFAULT '';
-- Partition-milliseconds billed: a tenant's own partitions on a shared cluster, the
-- cluster's on a dedicated one.
ALTER TABLE usage ADD COLUMN partition_ms BIGINT NOT NULL DEFAULT 0;
-- Automated mitigation on the satellite: '' (on), 'on' or 'off'; set on the logical
-- cluster through the API, carried by its physical cluster into the PSC.
ALTER TABLE logical_clusters ADD COLUMN mitigation TEXT NOT NULL DEFAULT '';
ALTER TABLE physical_clusters ADD COLUMN mitigation TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE physical_clusters DROP COLUMN mitigation;
ALTER TABLE logical_clusters DROP COLUMN mitigation;
ALTER TABLE usage DROP COLUMN partition_ms;
ALTER TABLE cluster_status DROP COLUMN data_usage;

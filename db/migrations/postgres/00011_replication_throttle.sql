-- +goose Up
-- The replication throttle (bytes per second per broker) under which the satellite moves
-- replicas between brokers: from the cluster's profile, carried by its physical cluster
-- into the PSC (0: the satellite's default).
ALTER TABLE physical_clusters ADD COLUMN replication_throttle BIGINT NOT NULL DEFAULT 0;
-- A Kafka cluster's health as its satellite read it from Kafka (JSON of kv.KafkaHealth:
-- partitions, bytes on disk, under-replicated and offline, per tenant on shared clusters;
-- '' until reported). The status controller writes it.
ALTER TABLE cluster_status ADD COLUMN kafka_health TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE cluster_status DROP COLUMN kafka_health;
ALTER TABLE physical_clusters DROP COLUMN replication_throttle;

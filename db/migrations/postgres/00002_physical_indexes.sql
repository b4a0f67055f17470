-- +goose Up
-- The scheduler looks up the ksqlDB and Connect clusters next to a Kafka cluster on every
-- placement; without this it scans every physical cluster.
CREATE INDEX physical_clusters_kafka ON physical_clusters (kafka_physical_id);
-- It also sums what each satellite of the region holds; this index answers that without
-- reading the (wide) rows.
CREATE INDEX physical_clusters_load ON physical_clusters (id, deleted_at, replicas);

-- +goose Down
DROP INDEX physical_clusters_load;
DROP INDEX physical_clusters_kafka;

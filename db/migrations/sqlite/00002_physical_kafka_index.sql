-- +goose Up
-- The scheduler looks up the ksqlDB and Connect clusters next to a Kafka cluster on every
-- placement; without this it scans every physical cluster.
CREATE INDEX physical_clusters_kafka ON physical_clusters (kafka_physical_id);

-- +goose Down
DROP INDEX physical_clusters_kafka;

-- +goose Up
-- A Kafka physical cluster's KRaft cluster id: generated once by the physical controller,
-- formatted into every broker's storage, never changed ('' until generated).
ALTER TABLE physical_clusters ADD COLUMN kraft_cluster_id TEXT NOT NULL DEFAULT '';
-- What clients need to trust a cluster, as its satellite reports it: the cluster's CA
-- (public PEM) and the serial of the server certificate in use.
ALTER TABLE cluster_status ADD COLUMN ca_certificate TEXT NOT NULL DEFAULT '';
ALTER TABLE cluster_status ADD COLUMN certificate_serial TEXT NOT NULL DEFAULT '';
ALTER TABLE cluster_status ADD COLUMN bootstrap_host TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE cluster_status DROP COLUMN bootstrap_host;
ALTER TABLE cluster_status DROP COLUMN certificate_serial;
ALTER TABLE cluster_status DROP COLUMN ca_certificate;
ALTER TABLE physical_clusters DROP COLUMN kraft_cluster_id;

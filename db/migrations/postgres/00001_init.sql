-- +goose Up
-- Times are Unix milliseconds (BIGINT) so that SQLite and PostgreSQL share one set of queries.
-- Every table has one writer; see the package documentation of db.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE tenants (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    role        TEXT NOT NULL,
    description TEXT NOT NULL,
    secret_hash BYTEA NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE satellites (
    name       TEXT PRIMARY KEY,
    region     TEXT NOT NULL,
    cloud      TEXT NOT NULL,
    networks   TEXT NOT NULL,
    nkey       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE logical_clusters (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    name       TEXT NOT NULL,
    product    TEXT NOT NULL,
    sku        TEXT NOT NULL,
    cku        BIGINT NOT NULL,
    region     TEXT NOT NULL,
    cloud      TEXT NOT NULL,
    network    TEXT NOT NULL,
    -- kafka_cluster_id: the Kafka cluster a ksqldb or connect cluster works with.
    kafka_cluster_id TEXT REFERENCES logical_clusters (id),
    -- tls_serial: bumped to have the cluster's certificates reissued.
    tls_serial BIGINT NOT NULL DEFAULT 0,
    generation BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX logical_clusters_kafka ON logical_clusters (kafka_cluster_id);
CREATE UNIQUE INDEX logical_clusters_live_name ON logical_clusters (tenant_id, name) WHERE deleted_at IS NULL;
CREATE INDEX logical_clusters_tenant ON logical_clusters (tenant_id, name);

CREATE TABLE physical_clusters (
    id                 TEXT PRIMARY KEY,
    product            TEXT NOT NULL,
    -- sku: dedicated (one logical cluster), or basic/standard (shared by many tenants).
    sku                TEXT NOT NULL,
    region             TEXT NOT NULL,
    cloud              TEXT NOT NULL,
    network            TEXT NOT NULL,
    version            TEXT NOT NULL,
    replicas           BIGINT NOT NULL,
    controllers        BIGINT NOT NULL,
    storage_class      TEXT NOT NULL,
    storage_gib        BIGINT NOT NULL,
    config             TEXT NOT NULL,
    kafka_physical_id  TEXT,
    tls_serial         BIGINT NOT NULL,
    -- tenants: the logical clusters a shared cluster hosts, with their quotas (JSON).
    tenants            TEXT NOT NULL,
    generation         BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    deleted_at         BIGINT,
    -- purge_after: a deleted cluster's volumes are kept until then.
    purge_after        BIGINT
);

-- tenancies: which physical cluster runs each logical cluster (one for a dedicated one;
-- many logical clusters share a basic or standard one). Written by the physical controller.
CREATE TABLE tenancies (
    logical_cluster_id  TEXT PRIMARY KEY,
    physical_cluster_id TEXT NOT NULL,
    created_at          BIGINT NOT NULL
);
CREATE INDEX tenancies_physical ON tenancies (physical_cluster_id);
CREATE INDEX physical_clusters_shape ON physical_clusters (product, sku, region, cloud, network);

CREATE TABLE physical_generations (
    physical_cluster_id TEXT NOT NULL,
    generation          BIGINT NOT NULL,
    logical_cluster_id  TEXT NOT NULL,
    logical_generation  BIGINT NOT NULL,
    PRIMARY KEY (physical_cluster_id, generation, logical_cluster_id)
);

CREATE TABLE placements (
    physical_cluster_id TEXT PRIMARY KEY,
    satellite           TEXT,
    reason              TEXT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX placements_satellite ON placements (satellite);

CREATE TABLE cluster_status (
    physical_cluster_id TEXT PRIMARY KEY,
    satellite           TEXT NOT NULL,
    observed_generation BIGINT NOT NULL,
    phase               TEXT NOT NULL,
    reason              TEXT NOT NULL,
    message             TEXT NOT NULL,
    replicas            BIGINT NOT NULL,
    ready_replicas      BIGINT NOT NULL,
    bootstrap           TEXT NOT NULL,
    conditions          TEXT NOT NULL,
    reported_at         BIGINT NOT NULL,
    kv_revision         BIGINT NOT NULL
);

-- profiles: the defaults the team running a product sets per product and SKU (version,
-- disk, configuration), versioned; the highest version is current. Written by the frontend
-- (operators), read by the physical controller.
CREATE TABLE profiles (
    product    TEXT NOT NULL,
    sku        TEXT NOT NULL,
    version    BIGINT NOT NULL,
    spec       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (product, sku, version)
);

-- usage: what each cluster ran, per tenant and hour (start, Unix ms), metered from its
-- actual state: CKU-milliseconds and GiB-milliseconds of storage while ready. Written by the meter.
CREATE TABLE usage (
    tenant_id           TEXT NOT NULL,
    hour                BIGINT NOT NULL,
    logical_cluster_id  TEXT NOT NULL,
    cku_ms         BIGINT NOT NULL,
    storage_gib_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, hour, logical_cluster_id)
);

-- cluster_history: every change a user made to a cluster, with who and the full state
-- before and after (JSON). Written by the frontend, in the change's transaction.
CREATE TABLE cluster_history (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    logical_cluster_id TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    at           BIGINT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    before_state TEXT NOT NULL,
    after_state  TEXT NOT NULL
);
CREATE INDEX cluster_history_cluster ON cluster_history (logical_cluster_id, id);

CREATE TABLE outbox (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject      TEXT NOT NULL,
    payload      BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    published_at BIGINT
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;

-- +goose Down
DROP TABLE outbox;
DROP TABLE cluster_history;
DROP TABLE profiles;
DROP TABLE usage;
DROP TABLE cluster_status;
DROP TABLE placements;
DROP TABLE physical_generations;
DROP TABLE tenancies;
DROP TABLE physical_clusters;
DROP TABLE logical_clusters;
DROP TABLE satellites;
DROP TABLE api_keys;
DROP TABLE tenants;
DROP TABLE meta;

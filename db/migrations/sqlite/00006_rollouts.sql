-- +goose Up
-- Fleet rollouts. A profile revision reaches each physical cluster through its own target
-- revision, set by the rollout controller wave after wave.

-- physical_clusters.profile_revision: the profile revision the cluster is rendered at
-- (physical controller). Clusters rendered before this migration ran the newest revision.
ALTER TABLE physical_clusters ADD COLUMN profile_revision BIGINT NOT NULL DEFAULT 0;
UPDATE physical_clusters SET profile_revision = COALESCE((SELECT MAX(p.version) FROM profiles p
    WHERE p.product = physical_clusters.product AND p.sku = physical_clusters.sku), 0);

-- cluster_status.profile_revision: the revision the satellite reports the cluster runs at
-- its observed generation (status controller).
ALTER TABLE cluster_status ADD COLUMN profile_revision BIGINT NOT NULL DEFAULT 0;

-- rollouts: what users asked for (frontend): the revision of a product and SKU to roll,
-- the clusters (selector JSON) and the strategy (JSON); requested_state is running, paused
-- or aborted; request_seq counts the requests so that the controller acts on each once.
CREATE TABLE rollouts (
    id              TEXT PRIMARY KEY,
    product         TEXT NOT NULL,
    sku             TEXT NOT NULL,
    revision        BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    rollback_of     TEXT,
    selector        TEXT NOT NULL,
    strategy        TEXT NOT NULL,
    requested_state TEXT NOT NULL,
    request_seq     BIGINT NOT NULL,
    finalize_requested BIGINT NOT NULL DEFAULT 0,
    override_windows BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    created_by      TEXT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX rollouts_profile ON rollouts (product, sku, created_at);

-- rollout_history: every action a user took on a rollout, with the actor (frontend).
CREATE TABLE rollout_history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id TEXT NOT NULL,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX rollout_history_rollout ON rollout_history (rollout_id, id);

-- cluster_labels and cluster_pins: what operators set on physical clusters (frontend).
CREATE TABLE cluster_labels (
    physical_cluster_id TEXT NOT NULL,
    key                 TEXT NOT NULL,
    value               TEXT NOT NULL,
    PRIMARY KEY (physical_cluster_id, key)
);
CREATE TABLE cluster_pins (
    physical_cluster_id TEXT PRIMARY KEY,
    pinned_by           TEXT NOT NULL,
    pinned_at           BIGINT NOT NULL
);

-- maintenance_windows: weekly UTC windows and exclusions (JSON) per scope: cluster:<id>
-- (tenant admins, dedicated clusters), satellite:<name> or region:<name> (operators) (frontend).
CREATE TABLE maintenance_windows (
    scope      TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- rollout_status: where each rollout is (rollout controller).
CREATE TABLE rollout_status (
    rollout_id    TEXT PRIMARY KEY,
    state         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    wave          BIGINT NOT NULL,
    waves         BIGINT NOT NULL,
    request_seq   BIGINT NOT NULL,
    wave_healthy_at BIGINT,
    finalized_at  BIGINT,
    updated_at    BIGINT NOT NULL
);

-- rollout_targets: each cluster of a rollout, its wave and progress (rollout controller).
CREATE TABLE rollout_targets (
    rollout_id          TEXT NOT NULL,
    physical_cluster_id TEXT NOT NULL,
    wave                BIGINT NOT NULL,
    position            BIGINT NOT NULL,
    satellite           TEXT NOT NULL,
    from_revision       BIGINT NOT NULL,
    state               TEXT NOT NULL,
    reason              TEXT NOT NULL,
    started_at          BIGINT,
    ready_since         BIGINT,
    finished_at         BIGINT,
    PRIMARY KEY (rollout_id, physical_cluster_id)
);
CREATE INDEX rollout_targets_wave ON rollout_targets (rollout_id, wave, position);

-- cluster_targets: the profile revision each physical cluster should run, once a rollout
-- reached it (rollout controller); the physical controller renders it.
CREATE TABLE cluster_targets (
    physical_cluster_id TEXT PRIMARY KEY,
    revision            BIGINT NOT NULL,
    rollout_id          TEXT NOT NULL,
    updated_at          BIGINT NOT NULL
);

-- +goose Down
DROP TABLE cluster_targets;
DROP TABLE rollout_targets;
DROP TABLE rollout_status;
DROP TABLE maintenance_windows;
DROP TABLE cluster_pins;
DROP TABLE cluster_labels;
DROP TABLE rollout_history;
DROP TABLE rollouts;
ALTER TABLE cluster_status DROP COLUMN profile_revision;
ALTER TABLE physical_clusters DROP COLUMN profile_revision;

-- The Intelligence DB: documents → records → append-only record versions, with full lineage.
-- Idempotent (IF NOT EXISTS everywhere); the migration runner applies it once and records its checksum.

CREATE OR REPLACE FUNCTION spans_offsets_ok(spans jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT jsonb_typeof(spans) = 'array' AND NOT EXISTS (
        SELECT 1 FROM jsonb_array_elements(spans) AS s
        WHERE jsonb_typeof(s) <> 'object'
           OR jsonb_typeof(s -> 'start') <> 'number'
           OR jsonb_typeof(s -> 'end') <> 'number'
           OR NOT ((s ->> 'start')::numeric >= 0 AND (s ->> 'start')::numeric < (s ->> 'end')::numeric)
    )
$$;

CREATE TABLE IF NOT EXISTS documents (
    id          bigserial PRIMARY KEY,
    sha256      char(64) NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    uri         text NOT NULL CHECK (uri <> ''),
    s3_key      text,
    doc_type    text NOT NULL CHECK (doc_type IN ('text', 'csv', 'xlsx', 'pdf', 'image', 'docx', 'html', 'unknown')),
    size_bytes  bigint NOT NULL CHECK (size_bytes >= 0),
    status      text NOT NULL DEFAULT 'registered'
                CHECK (status IN ('registered', 'extracted', 'prelabeled', 'failed')),
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'failed' OR error IS NOT NULL)
);

CREATE TABLE IF NOT EXISTS records (
    id             bigserial PRIMARY KEY,
    document_id    bigint NOT NULL REFERENCES documents (id),
    record_key     text NOT NULL CHECK (record_key <> ''),
    text           text NOT NULL,
    meta           jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(meta) = 'object'),
    ls_project_id  bigint,
    ls_task_id     bigint,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (document_id, record_key),
    CHECK ((ls_task_id IS NULL) OR (ls_project_id IS NOT NULL))
);
-- LS (on SQLite) reuses task ids after deletes: only a live link is unique; history is in ls_task_links.
CREATE UNIQUE INDEX IF NOT EXISTS records_live_ls_task
    ON records (ls_project_id, ls_task_id) WHERE ls_task_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS ls_task_links (
    id             bigserial PRIMARY KEY,
    record_id      bigint NOT NULL REFERENCES records (id),
    ls_project_id  bigint NOT NULL,
    ls_task_id     bigint NOT NULL,
    model_version  text,
    linked_at      timestamptz NOT NULL DEFAULT now(),
    unlinked_at    timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS ls_task_links_live
    ON ls_task_links (ls_project_id, ls_task_id) WHERE unlinked_at IS NULL;

CREATE TABLE IF NOT EXISTS webhook_events (
    id              bigserial PRIMARY KEY,
    received_at     timestamptz NOT NULL DEFAULT now(),
    action          text NOT NULL,
    ls_project_id   bigint,
    payload         jsonb NOT NULL,
    payload_sha256  char(64) NOT NULL,
    outcome         text NOT NULL DEFAULT 'received'
                    CHECK (outcome IN ('received', 'applied', 'duplicate', 'stale', 'unmatched', 'ignored', 'partial')),
    detail          jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS webhook_events_action ON webhook_events (action, received_at);

CREATE TABLE IF NOT EXISTS annotations (
    id                bigserial PRIMARY KEY,
    ls_annotation_id  bigint NOT NULL UNIQUE,
    ls_project_id     bigint NOT NULL,
    ls_task_id        bigint NOT NULL,
    record_id         bigint REFERENCES records (id),
    result            jsonb NOT NULL CHECK (jsonb_typeof(result) = 'array'),
    state             text NOT NULL CHECK (state IN ('submitted', 'updated', 'skipped', 'deleted', 'unmatched')),
    completed_by      bigint,
    ls_updated_at     timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS model_versions (
    id               bigserial PRIMARY KEY,
    version          text NOT NULL UNIQUE CHECK (version <> ''),
    base_model       text,
    exporter_mode    text CHECK (exporter_mode IN ('modern', 'legacy_fallback')),
    triton_version   integer CHECK (triton_version >= 1),
    metrics          jsonb NOT NULL DEFAULT '{}'::jsonb,
    manifest_sha256  char(64),
    status           text NOT NULL DEFAULT 'candidate'
                     CHECK (status IN ('candidate', 'rejected', 'published', 'serving', 'failed', 'retired')),
    bundle_uri       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS record_versions (
    id                bigserial PRIMARY KEY,
    record_id         bigint NOT NULL REFERENCES records (id),
    version           integer NOT NULL CHECK (version >= 1),
    source            text NOT NULL CHECK (source IN ('prediction', 'annotation', 'tombstone')),
    spans             jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (spans_offsets_ok(spans)),
    canonical_fields  jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(canonical_fields) = 'object'),
    spans_valid       boolean NOT NULL DEFAULT true,
    flags             jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(flags) = 'array'),
    was_cancelled     boolean NOT NULL DEFAULT false,
    ls_project_id     bigint,
    ls_task_id        bigint,
    ls_annotation_id  bigint,
    ls_prediction_id  bigint,
    model_version     text,
    completed_by      bigint,
    lead_time         double precision CHECK (lead_time IS NULL OR lead_time >= 0),
    ls_updated_at     timestamptz,
    result_sha256     char(64),
    document_sha256   char(64) NOT NULL,
    document_uri      text NOT NULL,
    record_key        text NOT NULL,
    webhook_event_id  bigint REFERENCES webhook_events (id),
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (record_id, version),
    CHECK (source <> 'annotation' OR ls_annotation_id IS NOT NULL)
);
-- "Latest version per record" is an index-only descent on this.
CREATE INDEX IF NOT EXISTS record_versions_latest ON record_versions (record_id, version DESC);
CREATE INDEX IF NOT EXISTS record_versions_annotation ON record_versions (ls_annotation_id, version DESC)
    WHERE ls_annotation_id IS NOT NULL;
-- The same LS delivery (annotation, its updated_at and result) is one version, however often it arrives.
CREATE UNIQUE INDEX IF NOT EXISTS record_versions_delivery
    ON record_versions (ls_annotation_id, ls_updated_at, result_sha256)
    WHERE source = 'annotation';

CREATE TABLE IF NOT EXISTS training_runs (
    id               bigserial PRIMARY KEY,
    model_version    text REFERENCES model_versions (version),
    status           text NOT NULL DEFAULT 'running'
                     CHECK (status IN ('running', 'succeeded', 'skipped', 'failed')),
    manifest_sha256  char(64),
    counts           jsonb NOT NULL DEFAULT '{}'::jsonb,
    detail           jsonb NOT NULL DEFAULT '{}'::jsonb,
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);

-- The training manifest: exactly which record versions a run learned from, and in which split.
CREATE TABLE IF NOT EXISTS training_manifest (
    training_run_id    bigint NOT NULL REFERENCES training_runs (id),
    record_version_id  bigint NOT NULL REFERENCES record_versions (id),
    split              text NOT NULL CHECK (split IN ('train', 'dev', 'test')),
    PRIMARY KEY (training_run_id, record_version_id)
);
CREATE INDEX IF NOT EXISTS training_manifest_by_version ON training_manifest (record_version_id);

-- Tasks Label Studio created from a storage sync (one task per file, its text a link to the file).
-- The shim notes them from TASKS_CREATED (or a scan finds them); the intake registers the file as a
-- document (same sha256 → same document), and the import settles the task: prelabeled in place
-- (a single-record document), or split into record tasks / pointed at the tasks that already exist.
CREATE TABLE IF NOT EXISTS ls_source_tasks (
    ls_project_id  bigint NOT NULL,
    ls_task_id     bigint NOT NULL,
    source_link    text NOT NULL CHECK (source_link <> ''),
    document_id    bigint REFERENCES documents (id),
    document_had_tasks boolean,  -- the document's records already had tasks here: a duplicate file
    state          text NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'registered', 'in_place', 'split', 'duplicate', 'failed')),
    detail         text,
    noted_at       timestamptz NOT NULL DEFAULT now(),
    settled_at     timestamptz,
    PRIMARY KEY (ls_project_id, ls_task_id),
    CHECK (state IN ('pending', 'failed') OR document_id IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS ls_source_tasks_open
    ON ls_source_tasks (ls_project_id, state) WHERE state IN ('pending', 'registered');

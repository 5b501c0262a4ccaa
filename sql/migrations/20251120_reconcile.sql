-- Reconciliation with Label Studio: per project, the newest LS task updated_at seen and the last full pass.
-- Only an optimisation: a lost or reset row makes the next run a full pass, never a wrong one.

CREATE TABLE IF NOT EXISTS reconcile_watermarks (
    ls_project_id  bigint PRIMARY KEY,
    ls_updated_at  timestamptz,
    last_full_at   timestamptz,
    last_run_at    timestamptz NOT NULL DEFAULT now(),
    last_report    jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(last_report) = 'object')
);

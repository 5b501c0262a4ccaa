-- The model timeline: every model version, its held-out F1, how it was exported and where it serves.
CREATE OR REPLACE VIEW quality_model_timeline AS
SELECT m.version AS model_version, m.status, (m.metrics -> 'new' ->> 'f1')::float AS f1,
       m.exporter_mode, m.triton_version, m.bundle_uri, m.created_at, m.updated_at,
       (SELECT t.id FROM training_runs t WHERE t.model_version = m.version ORDER BY t.id LIMIT 1) AS training_run_id
FROM model_versions m;

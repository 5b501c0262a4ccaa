-- Quality of the loop, as views over the append-only tables (always current, nothing to refresh).
-- Per annotated record: the SME's latest live annotation (skipped ones left out) and the prediction the SME
-- saw — the record's latest prediction before it, of the model version the annotation followed.
CREATE OR REPLACE VIEW quality_reviewed AS
WITH latest AS (
    SELECT DISTINCT ON (record_id) *
    FROM live_annotation_versions WHERE NOT was_cancelled
    ORDER BY record_id, version DESC)
SELECT l.record_id, l.id AS annotation_version_id, l.spans AS annotation_spans, l.created_at AS annotated_at,
       l.ls_project_id, l.ls_task_id, p.id AS prediction_version_id, p.model_version,
       p.spans AS prediction_spans
FROM latest l
JOIN LATERAL (
    SELECT v.id, v.model_version, v.spans FROM record_versions v
    WHERE v.record_id = l.record_id AND v.source = 'prediction' AND v.version < l.version
      AND (l.model_version IS NULL OR v.model_version = l.model_version)
    ORDER BY v.version DESC LIMIT 1) p ON true;

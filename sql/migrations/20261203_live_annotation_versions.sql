-- Each annotation's newest version, when it is not a tombstone: the annotations that still count. The gold
-- query (include/db/models.py) and quality_reviewed both start from it, each picking a record's newest.
CREATE OR REPLACE VIEW live_annotation_versions AS
SELECT * FROM (
    SELECT DISTINCT ON (ls_annotation_id) *
    FROM record_versions
    WHERE source IN ('annotation', 'tombstone') AND ls_annotation_id IS NOT NULL
    ORDER BY ls_annotation_id, version DESC) newest
WHERE source = 'annotation';

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

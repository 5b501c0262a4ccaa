-- Records waiting in Label Studio with no annotation, least confident prediction first (a record's
-- confidence is its least confident span's score; no spans scores 1.0, as `include.adapters.ner.tags.task_score`).
CREATE OR REPLACE VIEW quality_uncertain_queue AS
SELECT r.id AS record_id, r.record_key, r.ls_project_id, r.ls_task_id, d.uri AS document_uri,
       p.model_version,
       coalesce((SELECT min((s ->> 'score')::float) FROM jsonb_array_elements(p.spans) s
                 WHERE s ? 'score'), 1.0) AS score,
       left(r.text, 200) AS text
FROM records r
JOIN documents d ON d.id = r.document_id
JOIN LATERAL (
    SELECT v.spans, v.model_version FROM record_versions v
    WHERE v.record_id = r.id AND v.source = 'prediction' ORDER BY v.version DESC LIMIT 1) p ON true
WHERE r.ls_task_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.record_id = r.id AND a.state <> 'deleted');

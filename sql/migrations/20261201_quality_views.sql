-- Quality of the loop, as views over the append-only tables (always current, nothing to refresh):
-- what the model proposed against what the experts kept, per label and model version; the learning
-- curve across nightly runs; the model timeline; the queue of records the model is least sure of.

-- Per annotated record: the SME's latest live annotation (skipped ones left out) and the prediction the SME
-- saw — the record's latest prediction before it, of the model version the annotation followed.
CREATE OR REPLACE VIEW quality_reviewed AS
WITH per_annotation AS (
    SELECT DISTINCT ON (ls_annotation_id) *
    FROM record_versions
    WHERE source IN ('annotation', 'tombstone') AND ls_annotation_id IS NOT NULL
    ORDER BY ls_annotation_id, version DESC),
latest AS (
    SELECT DISTINCT ON (record_id) *
    FROM per_annotation WHERE source = 'annotation' AND NOT was_cancelled
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

-- Every predicted span with what the SME made of it (kept, relabelled, re-bounded, removed), and every
-- annotated span no prediction overlapped (added). Each span is compared with its own record's spans only.
CREATE OR REPLACE VIEW quality_span_outcomes AS
SELECT r.record_id, r.model_version, r.annotated_at, p.value ->> 'label' AS label, 'predicted' AS side,
       CASE
           WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(r.annotation_spans) a
                        WHERE a.value -> 'start' = p.value -> 'start' AND a.value -> 'end' = p.value -> 'end'
                          AND a.value -> 'label' = p.value -> 'label') THEN 'kept'
           WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(r.annotation_spans) a
                        WHERE a.value -> 'start' = p.value -> 'start'
                          AND a.value -> 'end' = p.value -> 'end') THEN 'relabelled'
           WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(r.annotation_spans) a
                        WHERE a.value -> 'label' = p.value -> 'label'
                          AND (a.value ->> 'start')::int < (p.value ->> 'end')::int
                          AND (p.value ->> 'start')::int < (a.value ->> 'end')::int) THEN 're-bounded'
           ELSE 'removed'
       END AS outcome
FROM quality_reviewed r, jsonb_array_elements(r.prediction_spans) p
UNION ALL
SELECT r.record_id, r.model_version, r.annotated_at, a.value ->> 'label' AS label, 'annotated' AS side,
       CASE
           WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(r.prediction_spans) p
                        WHERE p.value -> 'start' = a.value -> 'start' AND p.value -> 'end' = a.value -> 'end'
                          AND p.value -> 'label' = a.value -> 'label') THEN 'kept'
           WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(r.prediction_spans) p
                        WHERE p.value -> 'label' = a.value -> 'label'
                          AND (p.value ->> 'start')::int < (a.value ->> 'end')::int
                          AND (a.value ->> 'start')::int < (p.value ->> 'end')::int) THEN 'overlapped'
           WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(r.prediction_spans) p
                        WHERE (p.value ->> 'start')::int < (a.value ->> 'end')::int
                          AND (a.value ->> 'start')::int < (p.value ->> 'end')::int) THEN 'relabelled'
           ELSE 'added'
       END AS outcome
FROM quality_reviewed r, jsonb_array_elements(r.annotation_spans) a;

-- Drift per model version and label, per week and over all weeks (week NULL): the model against the
-- experts, exact span match and overlap.
CREATE OR REPLACE VIEW quality_drift_periods AS
WITH counts AS (
    SELECT model_version, label, date_trunc('week', annotated_at) AS week,
           count(DISTINCT record_id) AS tasks,
           count(*) FILTER (WHERE side = 'predicted') AS predicted,
           count(*) FILTER (WHERE side = 'annotated') AS annotated,
           count(*) FILTER (WHERE side = 'predicted' AND outcome = 'kept') AS exact,
           count(*) FILTER (WHERE side = 'predicted' AND outcome IN ('kept', 're-bounded')) AS overlap_predicted,
           count(*) FILTER (WHERE side = 'annotated' AND outcome IN ('kept', 'overlapped')) AS overlap_annotated,
           count(*) FILTER (WHERE side = 'annotated' AND outcome = 'added') AS added,
           count(*) FILTER (WHERE side = 'predicted' AND outcome = 'removed') AS removed,
           count(*) FILTER (WHERE side = 'predicted' AND outcome = 'relabelled') AS relabelled,
           count(*) FILTER (WHERE side = 'predicted' AND outcome = 're-bounded') AS rebounded
    FROM quality_span_outcomes
    GROUP BY GROUPING SETS ((model_version, label, date_trunc('week', annotated_at)), (model_version, label)))
SELECT *,
       CASE WHEN predicted > 0 THEN exact::float / predicted END AS precision,
       CASE WHEN annotated > 0 THEN exact::float / annotated END AS recall,
       CASE WHEN predicted + annotated > 0 THEN 2.0 * exact / (predicted + annotated) END AS f1,
       CASE WHEN predicted + annotated > 0
            THEN (overlap_predicted + overlap_annotated)::float / (predicted + annotated) END AS overlap_f1,
       (added + removed + relabelled + rebounded)::float / greatest(tasks, 1) AS edits_per_task
FROM counts;

CREATE OR REPLACE VIEW quality_drift_weekly AS SELECT * FROM quality_drift_periods WHERE week IS NOT NULL;

CREATE OR REPLACE VIEW quality_drift AS SELECT * FROM quality_drift_periods WHERE week IS NULL;

-- One row per training run that trained: gold counts, held-out F1 of the candidate and of the model in
-- service (overall and per label, as JSON), the gate's decision; and what 100 more gold records bought.
CREATE OR REPLACE VIEW quality_learning_curve AS
WITH runs AS (
    SELECT t.id AS training_run_id, t.started_at, t.finished_at, t.status, t.model_version,
           (t.counts ->> 'gold')::int AS gold, (t.counts ->> 'train')::int AS train,
           (t.counts ->> 'dev')::int AS dev, (t.counts ->> 'test')::int AS test,
           (m.metrics -> 'new' ->> 'f1')::float AS candidate_f1,
           (m.metrics -> 'current' ->> 'f1')::float AS in_service_f1,
           m.metrics -> 'new' -> 'per_label' AS candidate_per_label,
           (t.detail ->> 'promoted')::boolean AS promoted, t.detail ->> 'gate' AS gate
    FROM training_runs t LEFT JOIN model_versions m ON m.version = t.model_version
    WHERE t.status = 'succeeded')
SELECT r.*,
       CASE WHEN r.gold > lag(r.gold) OVER w
            THEN 100.0 * (r.candidate_f1 - lag(r.candidate_f1) OVER w) / (r.gold - lag(r.gold) OVER w)
       END AS f1_per_100_gold
FROM runs r
WINDOW w AS (ORDER BY r.training_run_id);

-- Per run and label: the candidate's held-out F1 and what 100 more gold records bought for that label.
CREATE OR REPLACE VIEW quality_label_curve AS
WITH per_label AS (
    SELECT c.training_run_id, c.gold, l.key AS label, (l.value ->> 'f1')::float AS f1,
           (l.value ->> 'support')::int AS support
    FROM quality_learning_curve c, jsonb_each(coalesce(c.candidate_per_label, '{}'::jsonb)) l)
SELECT p.*,
       CASE WHEN p.gold > lag(p.gold) OVER w
            THEN 100.0 * (p.f1 - lag(p.f1) OVER w) / (p.gold - lag(p.gold) OVER w)
       END AS f1_per_100_gold
FROM per_label p
WINDOW w AS (PARTITION BY p.label ORDER BY p.training_run_id);

-- The model timeline: every model version, its held-out F1, how it was exported and where it serves.
CREATE OR REPLACE VIEW quality_model_timeline AS
SELECT m.version AS model_version, m.status, (m.metrics -> 'new' ->> 'f1')::float AS f1,
       m.exporter_mode, m.triton_version, m.bundle_uri, m.created_at, m.updated_at,
       (SELECT t.id FROM training_runs t WHERE t.model_version = m.version ORDER BY t.id LIMIT 1) AS training_run_id
FROM model_versions m;

-- Records waiting in Label Studio with no annotation, least confident prediction first (a record's
-- confidence is its least confident span's score; no spans scores 1.0, as `include.ner.tags.task_score`).
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

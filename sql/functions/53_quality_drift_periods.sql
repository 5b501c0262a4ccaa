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

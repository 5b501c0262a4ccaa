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

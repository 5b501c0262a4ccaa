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

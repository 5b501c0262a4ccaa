-- One row per training run that trained: gold counts, held-out F1 of the candidate and of the model in
-- service (overall and per label, as JSON), the gate's decision; what 100 more gold records bought; and
-- each run's per-label scores: the candidate's and the in-service model's F1 on the SME held-out gold and
-- on the bootstrap's held-out set (training_runs.detail -> 'scores', written by include/workflows/training/nightly.py),
-- so the page shows what the gate compared. `scores` is last: CREATE OR REPLACE VIEW only adds columns at
-- the end (a column moved or dropped needs DROP VIEW IF EXISTS ... CASCADE here, its dependents after it).
CREATE OR REPLACE VIEW quality_learning_curve AS
WITH runs AS (
    SELECT t.id AS training_run_id, t.started_at, t.finished_at, t.status, t.model_version,
           (t.counts ->> 'gold')::int AS gold, (t.counts ->> 'train')::int AS train,
           (t.counts ->> 'dev')::int AS dev, (t.counts ->> 'test')::int AS test,
           (m.metrics -> 'new' ->> 'f1')::float AS candidate_f1,
           (m.metrics -> 'current' ->> 'f1')::float AS in_service_f1,
           m.metrics -> 'new' -> 'per_label' AS candidate_per_label,
           (t.detail ->> 'promoted')::boolean AS promoted, t.detail ->> 'gate' AS gate,
           t.detail -> 'scores' AS scores
    FROM training_runs t LEFT JOIN model_versions m ON m.version = t.model_version
    WHERE t.status = 'succeeded')
SELECT r.training_run_id, r.started_at, r.finished_at, r.status, r.model_version, r.gold, r.train, r.dev,
       r.test, r.candidate_f1, r.in_service_f1, r.candidate_per_label, r.promoted, r.gate,
       CASE WHEN r.gold > lag(r.gold) OVER w
            THEN 100.0 * (r.candidate_f1 - lag(r.candidate_f1) OVER w) / (r.gold - lag(r.gold) OVER w)
       END AS f1_per_100_gold,
       r.scores
FROM runs r
WINDOW w AS (ORDER BY r.training_run_id);

-- Each annotation's newest version, when it is not a tombstone: the annotations that still count. The gold
-- query (include/adapters/db/models.py) and quality_reviewed both start from it, each picking a record's newest.
CREATE OR REPLACE VIEW live_annotation_versions AS
SELECT * FROM (
    SELECT DISTINCT ON (ls_annotation_id) *
    FROM record_versions
    WHERE source IN ('annotation', 'tombstone') AND ls_annotation_id IS NOT NULL
    ORDER BY ls_annotation_id, version DESC) newest
WHERE source = 'annotation';

-- Link the records of a TASKS_CREATED's tasks, all at once. `p_items` = the plan's link_tasks items
-- [{"task_id", "project_id", "document_sha256", "record_key", "model_version"}]. Returns
-- {"counts": {...}, "unmatched": [first 50 notes]}, or NULL when two items name the same task or the same
-- record: such an event (LS sends none) is applied item by item, in order, by nerloop_link_task.
CREATE OR REPLACE FUNCTION nerloop_link_tasks(p_items jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    v_record bigint[];
    v_project bigint[];
    v_task bigint[];
    v_model text[];
    v_matched integer;
    v_unmatched_n integer;
    v_notes jsonb;
    v_applied integer := 0;
    v_c_record bigint[];
    v_c_project bigint[];
    v_c_task bigint[];
    v_c_model text[];
    v_old_project bigint[];
    v_old_task bigint[];
    v_counts jsonb := '{}'::jsonb;
BEGIN
    -- Resolve every item's record by document sha256 + record key (the pipeline's tasks carry both).
    -- The record is read by a subquery on both key columns: as a join, statistics of another shape (one
    -- record per document) had Postgres read every record of the document per task (10^8 for 10,000).
    WITH items AS (
        SELECT t.*, (SELECT r.id FROM records r WHERE r.document_id = d.id AND r.record_key = t.record_key)
                    AS record_id
        FROM ROWS FROM (jsonb_to_recordset(p_items) AS (
                 task_id bigint, project_id bigint, document_sha256 text, record_key text, model_version text))
             WITH ORDINALITY AS t(task_id, project_id, document_sha256, record_key, model_version, n)
        LEFT JOIN documents d ON d.sha256 = t.document_sha256::bpchar AND t.record_key IS NOT NULL)
    SELECT array_agg(record_id ORDER BY n) FILTER (WHERE record_id IS NOT NULL AND project_id IS NOT NULL),
           array_agg(project_id ORDER BY n) FILTER (WHERE record_id IS NOT NULL AND project_id IS NOT NULL),
           array_agg(task_id ORDER BY n) FILTER (WHERE record_id IS NOT NULL AND project_id IS NOT NULL),
           array_agg(model_version ORDER BY n) FILTER (WHERE record_id IS NOT NULL AND project_id IS NOT NULL),
           count(*) FILTER (WHERE record_id IS NULL OR project_id IS NULL),
           COALESCE((SELECT jsonb_agg(note ORDER BY n) FROM (
               SELECT i.n, format('task %s: no record for %s', i.task_id,
                                  COALESCE(quote_literal(i.record_key), 'None')) AS note
               FROM items i WHERE i.record_id IS NULL OR i.project_id IS NULL ORDER BY i.n LIMIT 50) s),
               '[]'::jsonb)
    INTO v_record, v_project, v_task, v_model, v_unmatched_n, v_notes
    FROM items;
    v_matched := COALESCE(cardinality(v_record), 0);

    IF v_matched > 0 THEN
        IF (SELECT count(DISTINCT r) <> v_matched FROM unnest(v_record) AS r)
           OR (SELECT count(DISTINCT (p, t)) <> v_matched FROM unnest(v_project, v_task) AS x(p, t)) THEN
            RETURN NULL;
        END IF;
        -- A redelivery, every record already holding its task, is read and not locked: locking writes
        -- every row (10,000 tuples and their WAL for a 10,000-task import sent again).
        IF EXISTS (SELECT 1 FROM unnest(v_record, v_project, v_task) AS m(record_id, project_id, task_id)
                   JOIN records r ON r.id = m.record_id
                   WHERE (r.ls_project_id, r.ls_task_id) IS DISTINCT FROM (m.project_id, m.task_id)) THEN
            -- Lock, in id order (two bulk events cannot deadlock), the records to link and those holding
            -- the tasks now; then read their links afresh.
            PERFORM 1 FROM records
            WHERE id = ANY (v_record)
               OR (ls_project_id, ls_task_id) IN (SELECT * FROM unnest(v_project, v_task))
            ORDER BY id FOR UPDATE;
            SELECT array_agg(m.record_id), array_agg(m.project_id), array_agg(m.task_id),
                   array_agg(m.model_version), array_agg(r.ls_project_id), array_agg(r.ls_task_id)
            INTO v_c_record, v_c_project, v_c_task, v_c_model, v_old_project, v_old_task
            FROM unnest(v_record, v_project, v_task, v_model) AS m(record_id, project_id, task_id, model_version)
            JOIN records r ON r.id = m.record_id
            WHERE (r.ls_project_id, r.ls_task_id) IS DISTINCT FROM (m.project_id, m.task_id);
            v_applied := COALESCE(cardinality(v_c_record), 0);
        END IF;
    END IF;

    IF v_applied > 0 THEN
        -- As nerloop_link_task does per item: close the live links of the tasks and of the records' old
        -- tasks, clear those links on the records, link each record, and keep the history.
        UPDATE ls_task_links l SET unlinked_at = now()
        FROM (SELECT * FROM unnest(v_c_project, v_c_task)
              UNION SELECT * FROM unnest(v_old_project, v_old_task)) AS p(project_id, task_id)
        WHERE l.unlinked_at IS NULL AND l.ls_project_id = p.project_id AND l.ls_task_id = p.task_id;
        UPDATE records SET ls_project_id = NULL, ls_task_id = NULL
        WHERE (id = ANY (v_c_record) AND ls_task_id IS NOT NULL)
           OR (ls_project_id, ls_task_id) IN (SELECT * FROM unnest(v_c_project, v_c_task));
        UPDATE records r SET ls_project_id = m.project_id, ls_task_id = m.task_id
        FROM unnest(v_c_record, v_c_project, v_c_task) AS m(record_id, project_id, task_id)
        WHERE r.id = m.record_id;
        INSERT INTO ls_task_links (record_id, ls_project_id, ls_task_id, model_version)
        SELECT * FROM unnest(v_c_record, v_c_project, v_c_task, v_c_model);
    END IF;

    IF v_applied > 0 THEN
        v_counts := v_counts || jsonb_build_object('applied', v_applied);
    END IF;
    IF v_matched - v_applied > 0 THEN
        v_counts := v_counts || jsonb_build_object('duplicate', v_matched - v_applied);
    END IF;
    IF v_unmatched_n > 0 THEN
        v_counts := v_counts || jsonb_build_object('unmatched', v_unmatched_n);
    END IF;
    RETURN jsonb_build_object('counts', v_counts, 'unmatched', v_notes);
END
$$;

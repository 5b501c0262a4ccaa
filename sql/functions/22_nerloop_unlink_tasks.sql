-- Close the links of a TASKS_DELETED's tasks, all at once. `p_items` = [{"id"}]; a task id given twice
-- counts once as applied, then as unmatched, as item by item. Returns {"counts", "unmatched"}.
CREATE OR REPLACE FUNCTION nerloop_unlink_tasks(p_project_id bigint, p_items jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[];
    v_found bigint[];
    v_applied integer;
    v_total integer;
    v_notes jsonb;
    v_counts jsonb := '{}'::jsonb;
BEGIN
    SELECT array_agg(t.id ORDER BY t.n) INTO v_ids
    FROM ROWS FROM (jsonb_to_recordset(p_items) AS (id bigint)) WITH ORDINALITY AS t(id, n);
    v_total := COALESCE(cardinality(v_ids), 0);
    IF p_project_id IS NULL THEN
        SELECT COALESCE(jsonb_agg(format('task %s: no project in payload', id) ORDER BY n), '[]'::jsonb)
        INTO v_notes FROM (SELECT id, n FROM unnest(v_ids) WITH ORDINALITY AS u(id, n) ORDER BY n LIMIT 50) s;
        IF v_total > 0 THEN
            v_counts := jsonb_build_object('unmatched', v_total);
        END IF;
        RETURN jsonb_build_object('counts', v_counts, 'unmatched', v_notes);
    END IF;
    -- Lock the linked records in id order, then clear their links and close the links' history.
    SELECT COALESCE(array_agg(ls_task_id), '{}') INTO v_found FROM (
        SELECT ls_task_id FROM records
        WHERE ls_project_id = p_project_id AND ls_task_id = ANY (v_ids) ORDER BY id FOR UPDATE) s;
    UPDATE records SET ls_project_id = NULL, ls_task_id = NULL
    WHERE ls_project_id = p_project_id AND ls_task_id = ANY (v_found);
    UPDATE ls_task_links SET unlinked_at = now()
    WHERE ls_project_id = p_project_id AND ls_task_id = ANY (v_ids) AND unlinked_at IS NULL;
    WITH items AS (
        SELECT u.id, u.n, row_number() OVER (PARTITION BY u.id ORDER BY u.n) AS k
        FROM unnest(v_ids) WITH ORDINALITY AS u(id, n)),
    judged AS (
        SELECT i.id, i.n, (i.k = 1 AND f.id IS NOT NULL) AS hit
        FROM items i LEFT JOIN unnest(v_found) AS f(id) ON f.id = i.id)
    SELECT count(*) FILTER (WHERE hit),
           COALESCE((SELECT jsonb_agg(format('task %s: not linked to a record', j.id) ORDER BY j.n)
                     FROM (SELECT id, n FROM judged WHERE NOT hit ORDER BY n LIMIT 50) j), '[]'::jsonb)
    INTO v_applied, v_notes FROM judged;
    IF v_applied > 0 THEN
        v_counts := v_counts || jsonb_build_object('applied', v_applied);
    END IF;
    IF v_total - v_applied > 0 THEN
        v_counts := v_counts || jsonb_build_object('unmatched', v_total - v_applied);
    END IF;
    RETURN jsonb_build_object('counts', v_counts, 'unmatched', v_notes);
END
$$;

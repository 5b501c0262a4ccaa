-- Note (task id, link) pairs of a storage sync's tasks; a task id LS reused for another file starts over.
-- `p_items` = [{"task_id", "link"}]; an id given twice keeps its last link. Returns how many are new.
CREATE OR REPLACE FUNCTION nerloop_note_source_tasks(p_project_id bigint, p_items jsonb)
RETURNS integer LANGUAGE sql AS $$
    WITH items AS (
        SELECT DISTINCT ON (t.task_id) t.task_id, t.link
        FROM ROWS FROM (jsonb_to_recordset(p_items) AS (task_id bigint, link text)) WITH ORDINALITY
            AS t(task_id, link, n)
        WHERE t.task_id IS NOT NULL AND t.link IS NOT NULL AND t.link <> ''
        ORDER BY t.task_id, t.n DESC),
    noted AS (
        INSERT INTO ls_source_tasks (ls_project_id, ls_task_id, source_link)
        SELECT p_project_id, task_id, link FROM items ORDER BY task_id
        ON CONFLICT (ls_project_id, ls_task_id) DO UPDATE
            SET source_link = EXCLUDED.source_link, state = 'pending', document_id = NULL,
                document_had_tasks = NULL, detail = NULL, noted_at = now(), settled_at = NULL
            WHERE ls_source_tasks.source_link IS DISTINCT FROM EXCLUDED.source_link
        RETURNING 1)
    SELECT count(*)::integer FROM noted
$$;

-- Unlink an LS task from its record (history kept in ls_task_links); returns the record id, or NULL when
-- the task was linked to none.
CREATE OR REPLACE FUNCTION nerloop_unlink_task(p_project_id bigint, p_task_id bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_record_id bigint;
BEGIN
    UPDATE records SET ls_project_id = NULL, ls_task_id = NULL
    WHERE ls_project_id = p_project_id AND ls_task_id = p_task_id
    RETURNING id INTO v_record_id;
    UPDATE ls_task_links SET unlinked_at = now()
    WHERE ls_project_id = p_project_id AND ls_task_id = p_task_id AND unlinked_at IS NULL;
    RETURN v_record_id;
END
$$;

-- Link a record to its LS task, history kept in ls_task_links; false when already so linked. A live link
-- of that task id to another record (LS reuses ids after deletes) is closed first.
CREATE OR REPLACE FUNCTION nerloop_link_task(
    p_record_id bigint, p_project_id bigint, p_task_id bigint, p_model_version text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_project bigint;
    v_task bigint;
BEGIN
    SELECT ls_project_id, ls_task_id INTO v_project, v_task FROM records WHERE id = p_record_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'record_id: no record %', p_record_id USING ERRCODE = 'no_data_found';
    END IF;
    IF v_project IS NOT DISTINCT FROM p_project_id AND v_task IS NOT DISTINCT FROM p_task_id THEN
        RETURN false;
    END IF;
    PERFORM nerloop_unlink_task(p_project_id, p_task_id);
    IF v_task IS NOT NULL THEN
        PERFORM nerloop_unlink_task(v_project, v_task);
    END IF;
    UPDATE records SET ls_project_id = p_project_id, ls_task_id = p_task_id WHERE id = p_record_id;
    INSERT INTO ls_task_links (record_id, ls_project_id, ls_task_id, model_version)
    VALUES (p_record_id, p_project_id, p_task_id, p_model_version);
    RETURN true;
END
$$;

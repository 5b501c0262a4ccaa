-- The record an LS task stands for: by the document sha256 + record key the pipeline wrote into the task
-- data, else (when a project is given) by the task's live link.
CREATE OR REPLACE FUNCTION nerloop_resolve_record(
    p_sha256 text, p_record_key text, p_project_id bigint, p_task_id bigint)
RETURNS records LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_out records;
BEGIN
    IF p_sha256 IS NOT NULL AND p_record_key IS NOT NULL THEN
        -- Both key columns bound, so the record is one index probe whatever the statistics say; the cast
        -- lets the documents' sha256 index serve (char(64) = text compares as text, by a scan).
        SELECT r.* INTO v_out FROM records r
        WHERE r.document_id = (SELECT d.id FROM documents d WHERE d.sha256 = p_sha256::bpchar)
          AND r.record_key = p_record_key;
        IF FOUND THEN
            RETURN v_out;
        END IF;
    END IF;
    IF p_project_id IS NOT NULL THEN
        SELECT * INTO v_out FROM records WHERE ls_project_id = p_project_id AND ls_task_id = p_task_id;
    END IF;
    RETURN v_out;
END
$$;

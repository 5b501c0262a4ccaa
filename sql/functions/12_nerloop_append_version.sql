-- Append the next version of a record (number assigned under the record's row lock), lineage filled in
-- from the record and its document. A row of NULLs when this LS delivery (annotation id, LS updated_at,
-- result hash) is already stored.
CREATE OR REPLACE FUNCTION nerloop_append_version(p_record_id bigint, v jsonb)
RETURNS record_versions LANGUAGE plpgsql AS $$
DECLARE
    v_rec record;
    v_out record_versions;
BEGIN
    SELECT r.record_key, d.sha256, d.uri INTO v_rec
    FROM records r JOIN documents d ON d.id = r.document_id
    WHERE r.id = p_record_id FOR UPDATE OF r;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'record_id: no record %', p_record_id USING ERRCODE = 'no_data_found';
    END IF;
    INSERT INTO record_versions (
        record_id, version, source, spans, canonical_fields, spans_valid, flags, was_cancelled,
        ls_project_id, ls_task_id, ls_annotation_id, ls_prediction_id, model_version, completed_by,
        lead_time, ls_updated_at, result_sha256, document_sha256, document_uri, record_key,
        webhook_event_id)
    SELECT p_record_id, COALESCE(MAX(version), 0) + 1, v ->> 'source',
        COALESCE(v -> 'spans', '[]'::jsonb), COALESCE(v -> 'canonical_fields', '{}'::jsonb),
        COALESCE((v ->> 'spans_valid')::boolean, true), COALESCE(v -> 'flags', '[]'::jsonb),
        COALESCE((v ->> 'was_cancelled')::boolean, false),
        (v ->> 'ls_project_id')::bigint, (v ->> 'ls_task_id')::bigint, (v ->> 'ls_annotation_id')::bigint,
        (v ->> 'ls_prediction_id')::bigint, v ->> 'model_version', (v ->> 'completed_by')::bigint,
        (v ->> 'lead_time')::double precision, (v ->> 'ls_updated_at')::timestamptz, v ->> 'result_sha256',
        v_rec.sha256, v_rec.uri, v_rec.record_key, (v ->> 'webhook_event_id')::bigint
    FROM record_versions WHERE record_id = p_record_id
    ON CONFLICT (ls_annotation_id, ls_updated_at, result_sha256) WHERE source = 'annotation' DO NOTHING
    RETURNING * INTO v_out;
    RETURN v_out;
END
$$;

-- A task created in Label Studio, not by the pipeline, becomes a record when its first annotation
-- arrives: a document `ls://<project>/<task>` keyed by the sha256 of the task's canonical data, and one
-- record (`task=<id>`) holding the labelled text. `born` = {uri, sha256, size, record_key, text, meta}.
CREATE OR REPLACE FUNCTION nerloop_born_record(born jsonb)
RETURNS records LANGUAGE plpgsql AS $$
DECLARE
    v_document_id bigint;
    v_out records;
BEGIN
    INSERT INTO documents (sha256, uri, doc_type, size_bytes, status)
    VALUES (born ->> 'sha256', born ->> 'uri', 'text', (born ->> 'size')::bigint, 'prelabeled')
    ON CONFLICT (sha256) DO NOTHING;
    SELECT id INTO v_document_id FROM documents WHERE sha256 = born ->> 'sha256';
    INSERT INTO records (document_id, record_key, text, meta)
    VALUES (v_document_id, born ->> 'record_key', born ->> 'text', COALESCE(born -> 'meta', '{}'::jsonb))
    ON CONFLICT (document_id, record_key) DO NOTHING;
    SELECT * INTO v_out FROM records WHERE document_id = v_document_id AND record_key = born ->> 'record_key';
    RETURN v_out;
END
$$;

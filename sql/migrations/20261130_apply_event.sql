-- One round trip per Label Studio webhook: the shim (and reconcile's replay) send the parsed event as one
-- JSON plan and `nerloop_apply_event` applies it in the caller's transaction: the raw event, the
-- annotation lock, the stale check, the record version, the annotation state and the outcome.
-- PL/pgSQL caches the plans of its statements per session, so a pooled connection plans them once.

-- The event row is written last, with its outcome, so a version's reference to it is checked at commit.
ALTER TABLE record_versions
    ALTER CONSTRAINT record_versions_webhook_event_id_fkey DEFERRABLE INITIALLY DEFERRED;
-- The unique (record_id, version) index already serves "latest version per record" (scanned backwards).
DROP INDEX IF EXISTS record_versions_latest;

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

-- The record an LS task stands for: by the document sha256 + record key the pipeline wrote into the task
-- data, else (when a project is given) by the task's live link.
CREATE OR REPLACE FUNCTION nerloop_resolve_record(
    p_sha256 text, p_record_key text, p_project_id bigint, p_task_id bigint)
RETURNS records LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_out records;
BEGIN
    IF p_sha256 IS NOT NULL AND p_record_key IS NOT NULL THEN
        SELECT r.* INTO v_out FROM records r JOIN documents d ON d.id = r.document_id
        WHERE d.sha256 = p_sha256 AND r.record_key = p_record_key;
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

-- The model version behind the prediction an SME corrected: the LS prediction's if known, else the
-- record's latest prediction, else the model version its task was linked with.
CREATE OR REPLACE FUNCTION nerloop_prediction_model_version(p_record_id bigint, p_prediction_id bigint)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT COALESCE(
        (SELECT model_version FROM record_versions
         WHERE record_id = p_record_id AND ls_prediction_id = p_prediction_id AND p_prediction_id IS NOT NULL
         ORDER BY version DESC LIMIT 1),
        (SELECT model_version FROM record_versions
         WHERE record_id = p_record_id AND source = 'prediction' ORDER BY version DESC LIMIT 1),
        (SELECT model_version FROM ls_task_links
         WHERE record_id = p_record_id AND model_version IS NOT NULL ORDER BY id DESC LIMIT 1))
$$;

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

-- The plan `ev` (built by include/label_studio/events.py):
--   {"action", "project_id", "kind": annotations|delete_annotations|link_tasks|unlink_tasks|none,
--    "items": [...]}
-- and the raw event with its secrets stripped (`payload`, hashed by the caller as `payload_sha256`).
-- Returns the outcome {event_id, action, outcome, counts, versions_written, unmatched}, or, before any
-- write, {"retry": {"<annotation id>": "<record text>"}} when an annotation's spans were checked against
-- a task text that is not its record's text: the caller checks them again against that text.
CREATE OR REPLACE FUNCTION nerloop_apply_event(ev jsonb, payload jsonb, payload_sha256 text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    v_kind text := ev ->> 'kind';
    v_event_id bigint;
    v_counts jsonb := '{}'::jsonb;
    v_unmatched jsonb := '[]'::jsonb;
    v_written integer := 0;
    v_retry jsonb := '{}'::jsonb;
    v_item jsonb;
    v_key text;
    v_project bigint;
    v_task bigint;
    v_record records;
    v_state text;
    v_stored_state text;
    v_stored_ls_updated timestamptz;
    v_stored_updated timestamptz;
    v_inserted boolean;
    v_created timestamptz;
    v_updated timestamptz;
    v_version record_versions;
    v_before record;
    v_found bigint;
    v_kinds text[];
    v_outcome text;
    v_detail jsonb;
BEGIN
    IF v_kind = 'annotations' THEN
        FOR v_item IN SELECT * FROM jsonb_array_elements(ev -> 'items') LOOP
            v_record := nerloop_resolve_record(v_item ->> 'document_sha256', v_item ->> 'record_key',
                                               (v_item ->> 'project_id')::bigint, (v_item ->> 'task_id')::bigint);
            IF v_record.id IS NOT NULL AND md5(v_record.text) IS DISTINCT FROM v_item ->> 'text_md5' THEN
                v_retry := v_retry || jsonb_build_object(v_item ->> 'id', v_record.text);
            END IF;
        END LOOP;
        IF v_retry <> '{}'::jsonb THEN
            RETURN jsonb_build_object('retry', v_retry);
        END IF;
    END IF;

    v_event_id := nextval('webhook_events_id_seq');

    FOR v_item IN SELECT * FROM jsonb_array_elements(COALESCE(ev -> 'items', '[]'::jsonb)) LOOP
        v_key := NULL;
        IF v_kind = 'annotations' THEN
            v_project := (v_item ->> 'project_id')::bigint;
            v_task := (v_item ->> 'task_id')::bigint;
            v_created := (v_item ->> 'created_at')::timestamptz;
            v_updated := (v_item ->> 'updated_at')::timestamptz;
            v_record := nerloop_resolve_record(v_item ->> 'document_sha256', v_item ->> 'record_key',
                                               v_project, v_task);
            IF v_record.id IS NULL AND v_item ? 'born' THEN
                v_record := nerloop_born_record(v_item -> 'born');
            END IF;
            -- Lock the annotation's row, creating it when new (a concurrent creator makes us lock theirs).
            v_inserted := false;
            LOOP
                SELECT state, ls_updated_at, updated_at INTO v_stored_state, v_stored_ls_updated, v_stored_updated
                FROM annotations WHERE ls_annotation_id = (v_item ->> 'id')::bigint FOR UPDATE;
                EXIT WHEN FOUND;
                INSERT INTO annotations (ls_annotation_id, ls_project_id, ls_task_id, record_id, result, state)
                VALUES ((v_item ->> 'id')::bigint, COALESCE(v_project, 0), v_task, v_record.id, '[]', 'unmatched')
                ON CONFLICT (ls_annotation_id) DO NOTHING;
                IF FOUND THEN
                    v_inserted := true;
                    EXIT;
                END IF;
            END LOOP;
            IF v_record.id IS NULL THEN
                UPDATE annotations SET ls_task_id = v_task, record_id = NULL, result = v_item -> 'result',
                    state = 'unmatched', completed_by = (v_item ->> 'completed_by')::bigint,
                    ls_updated_at = v_updated, updated_at = now()
                WHERE ls_annotation_id = (v_item ->> 'id')::bigint;
                v_key := 'unmatched';
                v_unmatched := v_unmatched || to_jsonb(format('annotation %s: task %s matches no record',
                                                              v_item ->> 'id', v_task));
            ELSIF NOT v_inserted AND (
                    (v_stored_state = 'deleted' AND (v_created IS NULL OR v_created <= v_stored_updated))
                 OR (v_stored_state <> 'deleted' AND v_updated < v_stored_ls_updated)) THEN
                -- An update older than what is stored, or a late copy of a deleted annotation (a deleted
                -- annotation comes back only as a new one reusing its id, created after the deletion).
                v_key := 'stale';
            ELSE
                IF v_project IS NOT NULL AND v_record.ls_task_id IS NULL THEN
                    PERFORM nerloop_link_task(v_record.id, v_project, v_task, NULL);
                END IF;
                v_version := nerloop_append_version(v_record.id, jsonb_build_object(
                    'source', 'annotation', 'spans', v_item -> 'spans', 'canonical_fields', v_item -> 'fields',
                    'spans_valid', v_item -> 'spans_valid', 'flags', v_item -> 'flags',
                    'was_cancelled', v_item -> 'was_cancelled', 'ls_project_id', v_project,
                    'ls_task_id', v_task, 'ls_annotation_id', v_item -> 'id',
                    'ls_prediction_id', v_item -> 'prediction_id',
                    'model_version', nerloop_prediction_model_version(
                        v_record.id, (v_item ->> 'prediction_id')::bigint),
                    'completed_by', v_item -> 'completed_by', 'lead_time', v_item -> 'lead_time',
                    'ls_updated_at', v_item -> 'updated_at', 'result_sha256', v_item -> 'result_sha256',
                    'webhook_event_id', v_event_id));
                IF v_version.id IS NULL THEN
                    v_key := 'duplicate';
                ELSE
                    v_state := CASE WHEN (v_item ->> 'was_cancelled')::boolean THEN 'skipped'
                                    WHEN v_inserted THEN 'submitted' ELSE 'updated' END;
                    UPDATE annotations SET ls_task_id = v_task, record_id = v_record.id,
                        result = v_item -> 'result', state = v_state,
                        completed_by = (v_item ->> 'completed_by')::bigint, ls_updated_at = v_updated,
                        updated_at = now()
                    WHERE ls_annotation_id = (v_item ->> 'id')::bigint;
                    v_key := 'applied';
                    v_written := v_written + 1;
                END IF;
            END IF;
        ELSIF v_kind = 'delete_annotations' THEN
            SELECT ls_project_id, ls_task_id, record_id, state, ls_updated_at INTO v_before
            FROM annotations WHERE ls_annotation_id = (v_item ->> 'id')::bigint FOR UPDATE;
            IF FOUND THEN
                UPDATE annotations SET state = 'deleted', updated_at = now()
                WHERE ls_annotation_id = (v_item ->> 'id')::bigint;
            END IF;
            IF NOT FOUND OR v_before.record_id IS NULL THEN
                v_key := 'unmatched';
                v_unmatched := v_unmatched || to_jsonb(format('annotation %s: unknown, nothing to tombstone',
                                                              v_item ->> 'id'));
            ELSIF v_before.state = 'deleted' THEN
                v_key := 'duplicate';
            ELSE
                PERFORM nerloop_append_version(v_before.record_id, jsonb_build_object(
                    'source', 'tombstone', 'ls_project_id', v_before.ls_project_id,
                    'ls_task_id', v_before.ls_task_id, 'ls_annotation_id', v_item -> 'id',
                    'ls_updated_at', v_before.ls_updated_at, 'webhook_event_id', v_event_id));
                v_key := 'applied';
                v_written := v_written + 1;
            END IF;
        ELSIF v_kind = 'link_tasks' THEN
            v_project := (v_item ->> 'project_id')::bigint;
            v_record := nerloop_resolve_record(v_item ->> 'document_sha256', v_item ->> 'record_key', NULL, NULL);
            IF v_record.id IS NULL OR v_project IS NULL THEN
                v_key := 'unmatched';
                v_unmatched := v_unmatched || to_jsonb(v_item ->> 'unmatched_note');
            ELSIF nerloop_link_task(v_record.id, v_project, (v_item ->> 'task_id')::bigint,
                                    v_item ->> 'model_version') THEN
                v_key := 'applied';
            ELSE
                v_key := 'duplicate';
            END IF;
        ELSIF v_kind = 'unlink_tasks' THEN
            v_project := (ev ->> 'project_id')::bigint;
            IF v_project IS NULL THEN
                v_key := 'unmatched';
                v_unmatched := v_unmatched || to_jsonb(format('task %s: no project in payload', v_item ->> 'id'));
            ELSE
                v_found := nerloop_unlink_task(v_project, (v_item ->> 'id')::bigint);
                IF v_found IS NULL THEN
                    v_key := 'unmatched';
                    v_unmatched := v_unmatched || to_jsonb(format('task %s: not linked to a record', v_item ->> 'id'));
                ELSE
                    v_key := 'applied';
                END IF;
            END IF;
        END IF;
        IF v_key IS NOT NULL THEN
            v_counts := v_counts || jsonb_build_object(v_key, COALESCE((v_counts ->> v_key)::integer, 0) + 1);
        END IF;
    END LOOP;

    SELECT array_agg(k) INTO v_kinds FROM jsonb_object_keys(v_counts) AS k;
    v_outcome := CASE WHEN v_kinds IS NULL THEN 'ignored'
                      WHEN cardinality(v_kinds) = 1 THEN v_kinds[1] ELSE 'partial' END;
    v_detail := jsonb_build_object(
        'event_id', v_event_id, 'action', ev ->> 'action', 'outcome', v_outcome, 'counts', v_counts,
        'versions_written', v_written,
        'unmatched', COALESCE((SELECT jsonb_agg(u) FROM (
            SELECT u FROM jsonb_array_elements(v_unmatched) WITH ORDINALITY AS t(u, n) ORDER BY n LIMIT 50) s),
            '[]'::jsonb));
    INSERT INTO webhook_events (id, action, ls_project_id, payload, payload_sha256, outcome, detail)
    VALUES (v_event_id, ev ->> 'action', (ev ->> 'project_id')::bigint, payload, payload_sha256, v_outcome,
            v_detail);
    RETURN v_detail;
END
$$;

-- What an import step sent to Label Studio, noted before sending and closed once its tasks are linked:
-- only an import left open (the worker died in between) makes the next run list the project's tasks.
CREATE TABLE IF NOT EXISTS ls_imports (
    id             bigserial PRIMARY KEY,
    ls_project_id  bigint NOT NULL,
    record_ids     bigint[] NOT NULL,
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);
CREATE INDEX IF NOT EXISTS ls_imports_open ON ls_imports (ls_project_id) WHERE finished_at IS NULL;

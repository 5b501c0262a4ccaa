-- The plan `ev` (`EventPlan` in include/workflows/annotations.py, the typed model of this JSON):
--   {"action", "project_id", "kind": annotations|delete_annotations|link_tasks|unlink_tasks|none,
--    "items": [...], "source_tasks": [{"task_id", "link"}] (optional)}
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
    v_bulk jsonb;
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

    -- Task events are applied to all their items at once (an import or a storage sync sends thousands).
    IF v_kind = 'link_tasks' THEN
        v_bulk := nerloop_link_tasks(COALESCE(ev -> 'items', '[]'::jsonb));
    ELSIF v_kind = 'unlink_tasks' THEN
        v_bulk := nerloop_unlink_tasks((ev ->> 'project_id')::bigint, COALESCE(ev -> 'items', '[]'::jsonb));
    END IF;
    IF v_bulk IS NOT NULL THEN
        v_counts := v_bulk -> 'counts';
        v_unmatched := v_bulk -> 'unmatched';
    END IF;

    FOR v_item IN SELECT * FROM jsonb_array_elements(COALESCE(ev -> 'items', '[]'::jsonb)) WHERE v_bulk IS NULL
    LOOP
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
                IF jsonb_array_length(v_unmatched) < 50 THEN
                    v_unmatched := v_unmatched || to_jsonb(format('annotation %s: task %s matches no record',
                                                              v_item ->> 'id', v_task));
                END IF;
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
                IF jsonb_array_length(v_unmatched) < 50 THEN
                    v_unmatched := v_unmatched || to_jsonb(format('annotation %s: unknown, nothing to tombstone',
                                                              v_item ->> 'id'));
                END IF;
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
                IF jsonb_array_length(v_unmatched) < 50 THEN
                    v_unmatched := v_unmatched || to_jsonb(format('task %s: no record for %s', v_item ->> 'task_id',
                                                              COALESCE(quote_literal(v_item ->> 'record_key'), 'None')));
                END IF;
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
                IF jsonb_array_length(v_unmatched) < 50 THEN
                    v_unmatched := v_unmatched || to_jsonb(format('task %s: no project in payload', v_item ->> 'id'));
                END IF;
            ELSE
                v_found := nerloop_unlink_task(v_project, (v_item ->> 'id')::bigint);
                IF v_found IS NULL THEN
                    v_key := 'unmatched';
                    IF jsonb_array_length(v_unmatched) < 50 THEN
                        v_unmatched := v_unmatched || to_jsonb(format('task %s: not linked to a record', v_item ->> 'id'));
                    END IF;
                ELSE
                    v_key := 'applied';
                END IF;
            END IF;
        END IF;
        IF v_key IS NOT NULL THEN
            v_counts := v_counts || jsonb_build_object(v_key, COALESCE((v_counts ->> v_key)::integer, 0) + 1);
        END IF;
    END LOOP;

    -- The tasks a storage sync made (one per file), noted for the intake in the same statement.
    IF jsonb_typeof(ev -> 'source_tasks') = 'array' AND ev ->> 'project_id' IS NOT NULL THEN
        PERFORM nerloop_note_source_tasks((ev ->> 'project_id')::bigint, ev -> 'source_tasks');
    END IF;

    SELECT array_agg(k) INTO v_kinds FROM jsonb_object_keys(v_counts) AS k;
    v_outcome := CASE WHEN v_kinds IS NULL THEN 'ignored'
                      WHEN cardinality(v_kinds) = 1 THEN v_kinds[1] ELSE 'partial' END;
    v_detail := jsonb_build_object(
        'event_id', v_event_id, 'action', ev ->> 'action', 'outcome', v_outcome, 'counts', v_counts,
        'versions_written', v_written,
        'unmatched', v_unmatched);
    INSERT INTO webhook_events (id, action, ls_project_id, payload, payload_sha256, outcome, detail)
    VALUES (v_event_id, ev ->> 'action', (ev ->> 'project_id')::bigint, payload, payload_sha256, v_outcome,
            v_detail);
    RETURN v_detail;
END
$$;

-- Bulk Label Studio events in set-based statements: a TASKS_CREATED of 10,000 tasks (an import, a storage
-- sync) or a TASKS_DELETED of as many is linked, unlinked and noted by a few statements over all its items
-- instead of a function call per item (the shim gives a bulk event a statement budget in proportion to its
-- size, webhook_shim/app.py). Outcomes are unchanged: the same counts and, as before, the first 50 notes of
-- what matched nothing (kept at 50 while collected, not appended to one growing array per item: quadratic).
-- nerloop_apply_event is replaced (from 20261130_apply_event.sql) to call these and to note a storage
-- sync's tasks (the plan's "source_tasks") in the event's own statement, so an event and its notes commit
-- together; annotation events are applied as before, item by item.

-- The model version a record's task was linked with (nerloop_prediction_model_version, per annotation):
-- without this index each lookup scanned every link, so a bulk ANNOTATIONS_CREATED was quadratic.
CREATE INDEX IF NOT EXISTS ls_task_links_by_record ON ls_task_links (record_id, id);

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
    WITH items AS (
        SELECT t.*, r.id AS record_id
        FROM ROWS FROM (jsonb_to_recordset(p_items) AS (
                 task_id bigint, project_id bigint, document_sha256 text, record_key text, model_version text))
             WITH ORDINALITY AS t(task_id, project_id, document_sha256, record_key, model_version, n)
        LEFT JOIN documents d ON d.sha256 = t.document_sha256::bpchar AND t.record_key IS NOT NULL
        LEFT JOIN records r ON r.document_id = d.id AND r.record_key = t.record_key)
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
        -- Lock, in id order (two bulk events cannot deadlock), the records to link and those holding the
        -- tasks now; then read their links afresh.
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

-- The plan `ev` (built by include/label_studio/events.py):
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
"""The webhook shim against a real database: every LS action, exactly-once, lineage and bad input."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
from flask.testing import FlaskClient

from include.adapters.db import repository as repo
from include.adapters.db.connection import transaction
from include.core.spans import Span
from tests.helpers.quality_seed import seed_quality
from tests.integration.ls_payloads import (
    PROJECT,
    TEXT,
    annotation,
    annotation_event,
    make_record,
    span,
    task_of,
)
from webhook_shim.app import create_app

SECRET = "s3cret-for-tests"
HEADERS = {"X-Webhook-Secret": SECRET}
SHA = hashlib.sha256(b"doc").hexdigest()


@pytest.fixture
def client(db, database_url: str) -> FlaskClient:
    app = create_app({"DATABASE_URL": database_url, "WEBHOOK_SECRET": SECRET, "MAX_CONTENT_LENGTH": 200_000})
    return app.test_client()


def post(client: FlaskClient, payload, headers=HEADERS):
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return client.post("/webhooks/label-studio", data=body, headers=headers, content_type="application/json")


def count(db, table: str) -> int:
    with db.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")
        n = cur.fetchone()[0]
    db.commit()
    return n


def versions(db, record_id: int) -> list[dict]:
    with db.cursor() as cur:
        cur.execute(
            """SELECT version, source, spans, canonical_fields, spans_valid, flags, was_cancelled,
                      ls_annotation_id, model_version, ls_updated_at
               FROM record_versions WHERE record_id = %s ORDER BY version""",
            (record_id,),
        )
        cols = [c.name for c in cur.description]
        rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    db.commit()
    return rows


def test_refuses_to_start_without_secret(database_url: str) -> None:
    with pytest.raises(RuntimeError, match="WEBHOOK_SECRET"):
        create_app({"DATABASE_URL": database_url, "WEBHOOK_SECRET": None})


@pytest.mark.parametrize("headers", [{}, {"X-Webhook-Secret": "wrong"}, {"X-Webhook-Secret": SECRET + "x"}])
def test_wrong_or_missing_secret_is_401_and_stores_nothing(client, db, headers) -> None:
    record = make_record(db)
    task = task_of(record, SHA)
    resp = post(client, annotation_event("ANNOTATION_CREATED", annotation(1, task, []), task), headers)
    assert resp.status_code == 401
    assert resp.json["error"]
    assert count(db, "webhook_events") == 0 and count(db, "record_versions") == 0


def test_non_json_is_400(client, db) -> None:
    resp = post(client, b"{not json")
    assert resp.status_code == 400 and resp.json["error"] == "body is not JSON"
    assert count(db, "webhook_events") == 0


def test_missing_field_is_422_naming_the_path(client, db) -> None:
    record = make_record(db)
    task = task_of(record, SHA)
    ann = annotation(1, task, [span(TEXT, "Alice Smith", "PERSON")])
    del ann["result"][0]["value"]["start"]
    del ann["id"]
    resp = post(client, annotation_event("ANNOTATION_CREATED", ann, task))
    assert resp.status_code == 422
    assert "annotation.id" in {f["field"] for f in resp.json["fields"]}
    assert count(db, "webhook_events") == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"action": "PROJECT_\u0000UPDATED"},  # found by the schemathesis fuzz: a text column, was a 500
        {"action": "TASKS_CREATED", "tasks": [{"id": 1, "data": {"record_key": "para=\u00001"}}]},
        {"action": "PROJECT_UPDATED", "project": {"id": 7, "ti\u0000tle": "x"}},
    ],
    ids=["action", "task_data", "key"],
)
def test_nul_in_any_string_is_422_and_stores_nothing(client, db, payload) -> None:
    resp = post(client, payload)
    assert resp.status_code == 422 and resp.json["error"] == "a value cannot be stored"
    assert count(db, "webhook_events") == 0


def test_nul_in_a_utf16_body_is_422_too(client, db) -> None:
    body = json.dumps({"action": "PROJECT_\u0000UPDATED"}, ensure_ascii=False).encode("utf-16")
    resp = post(client, body)
    assert resp.status_code == 422 and resp.json["error"] == "a value cannot be stored"
    assert count(db, "webhook_events") == 0


@pytest.mark.parametrize("when", ["0001-01-01T03:00:00+05:00", -62135596800, "1969-12-31T23:59:59Z"])
def test_a_time_before_1970_is_422_not_a_stored_time_that_breaks_later_deliveries(client, db, when) -> None:
    # Found by the schemathesis fuzz: year 1 at +05:00 is BC in UTC; Postgres stored it, and every
    # later delivery of that annotation failed with a 500 reading it back.
    record = make_record(db)
    task = task_of(record, SHA)
    ann = {**annotation(1, task, [span(TEXT, "Alice Smith", "PERSON")]), "updated_at": when}
    for _ in range(2):
        resp = post(client, annotation_event("ANNOTATION_UPDATED", ann, task))
        assert resp.status_code == 422
        assert {f["field"] for f in resp.json["fields"]} == {"annotation.updated_at"}
    assert count(db, "webhook_events") == 0 and count(db, "annotations") == 0


def test_oversized_body_is_413(client, db) -> None:
    resp = post(client, json.dumps({"action": "TASKS_CREATED", "tasks": [], "pad": "x" * 300_000}))
    assert resp.status_code == 413 and resp.json["limit_bytes"] == 200_000
    assert count(db, "webhook_events") == 0


def test_annotation_created_appends_a_version_with_lineage_and_canonical_fields(client, db) -> None:
    record = make_record(db)
    with transaction(db):
        repo.append_record_version(
            db,
            record.id,
            repo.NewRecordVersion(
                source="prediction",
                model_version="ner-v1",
                ls_prediction_id=55,
                spans=[Span(start=0, end=11, label="PERSON", text="Alice Smith")],
            ),
        )
    task = task_of(record, SHA)
    result = [
        span(TEXT, "Alice Smith", "PERSON", rid="a"),
        span(TEXT, "$120.50", "MONEY", rid="b"),
        span(TEXT, "March 1, 2024", "DATE", rid="c"),
        span(TEXT, "(415) 555-0132", "PHONE", rid="d"),
        span(TEXT, "bob@acme.com", "EMAIL", rid="e"),
        span(TEXT, "Acme  Corp"[:4], "ORG", rid="f"),
    ]
    resp = post(
        client,
        annotation_event("ANNOTATION_CREATED", annotation(1, task, result, parent_prediction=55), task),
    )
    assert resp.status_code == 200, resp.json
    assert resp.json["outcome"] == "applied" and resp.json["versions_written"] == 1
    (_pred, ann) = versions(db, record.id)
    assert ann["version"] == 2 and ann["source"] == "annotation" and ann["spans_valid"]
    assert ann["model_version"] == "ner-v1"
    assert all(TEXT[s["start"] : s["end"]] == s["text"] for s in ann["spans"])
    fields = ann["canonical_fields"]
    assert fields["money"][0]["amount"] == "120.50" and fields["money"][0]["currency"] == "USD"
    assert fields["date"][0]["value"] == "2024-03-01"
    assert fields["phone"][0]["value"] == "+14155550132"
    assert fields["email"][0]["value"] == "bob@acme.com"
    assert fields["organisation"][0]["value"] == "Acme"
    (gold,) = repo.latest_human_versions(db)
    lineage = repo.record_version_lineage(db, gold.record_version_id)
    assert lineage.document_sha256 == SHA and lineage.document_s3_key == "docs/a.txt"
    assert (lineage.ls_project_id, lineage.ls_task_id, lineage.ls_annotation_id) == (7, 100, 1)
    assert lineage.completed_by == 1 and lineage.record_key == "para=1"
    # The task got linked to the record on the way.
    assert repo.record_for_ls_task(db, ls_project_id=7, ls_task_id=100).id == record.id


def test_same_delivery_twice_writes_one_version(client, db) -> None:
    record = make_record(db)
    task = task_of(record, SHA)
    event = annotation_event("ANNOTATION_CREATED", annotation(1, task, [span(TEXT, "Alice", "PERSON")]), task)
    assert post(client, event).json["outcome"] == "applied"
    assert post(client, event).json["outcome"] == "duplicate"
    assert len(versions(db, record.id)) == 1
    assert count(db, "webhook_events") == 2


def test_older_update_after_newer_never_becomes_latest(client, db) -> None:
    record = make_record(db)
    task = task_of(record, SHA)
    created = annotation(1, task, [span(TEXT, "Alice", "PERSON")], minutes=0)
    newer = annotation(1, task, [span(TEXT, "Alice Smith", "PERSON")], minutes=10)
    older = annotation(1, task, [span(TEXT, "Smith", "PERSON")], minutes=5)
    assert post(client, annotation_event("ANNOTATION_CREATED", created, task)).json["outcome"] == "applied"
    assert post(client, annotation_event("ANNOTATION_UPDATED", newer, task)).json["outcome"] == "applied"
    assert post(client, annotation_event("ANNOTATION_UPDATED", older, task)).json["outcome"] == "stale"
    (gold,) = repo.latest_human_versions(db)
    assert [s["text"] for s in gold.spans] == ["Alice Smith"]
    assert len(versions(db, record.id)) == 2


def test_skipped_task_is_recorded_but_not_gold(client, db) -> None:
    record = make_record(db)
    task = task_of(record, SHA)
    resp = post(client, annotation_event("ANNOTATION_CREATED", annotation(1, task, [], cancelled=True), task))
    assert resp.json["outcome"] == "applied"
    (v,) = versions(db, record.id)
    assert v["was_cancelled"]
    (candidate,) = repo.latest_human_versions(db)
    assert not candidate.is_gold
    with db.cursor() as cur:
        cur.execute("SELECT state FROM annotations WHERE ls_annotation_id = 1")
        assert cur.fetchone()[0] == "skipped"


def test_mismatched_span_is_kept_flagged_and_never_gold(client, db) -> None:
    record = make_record(db)
    task = task_of(record, SHA)
    bad = span(TEXT, "Alice Smith", "PERSON")
    bad["value"]["text"] = "Bob Jones!!"
    out_of_range = {
        "type": "labels",
        "from_name": "label",
        "to_name": "text",
        "value": {"start": 5, "end": 5000, "text": "x", "labels": ["ORG"]},
    }
    impossible = {
        "type": "labels",
        "from_name": "label",
        "to_name": "text",
        "value": {"start": 9, "end": 3, "text": "", "labels": ["ORG"]},
    }
    nameless = span(TEXT, "Alice", "")  # found by the webhook fuzz: an empty label gave a 500
    resp = post(
        client,
        annotation_event(
            "ANNOTATION_CREATED", annotation(1, task, [bad, out_of_range, impossible, nameless]), task
        ),
    )
    assert resp.status_code == 200
    (v,) = versions(db, record.id)
    assert not v["spans_valid"]
    assert [s["text"] for s in v["spans"]] == ["Bob Jones!!", "x"]
    assert any(f.startswith("invalid_span:2") for f in v["flags"])
    assert any(f.startswith("invalid_span:3:empty label") for f in v["flags"])
    assert sum(f.startswith("span_mismatch") for f in v["flags"]) == 2
    (candidate,) = repo.latest_human_versions(db)
    assert not candidate.is_gold


def test_unparseable_canonical_value_keeps_raw_text_and_a_flag(client, db) -> None:
    text = "Paid on someday, phone banana."
    record = make_record(db, text=text, data=b"doc2")
    sha = hashlib.sha256(b"doc2").hexdigest()
    task = task_of(record, sha)
    result = [span(text, "someday", "DATE", rid="a"), span(text, "banana", "PHONE", rid="b")]
    post(client, annotation_event("ANNOTATION_CREATED", annotation(1, task, result), task))
    (v,) = versions(db, record.id)
    assert v["spans_valid"]
    assert (
        v["canonical_fields"]["date"][0]["raw"] == "someday" and "error" in v["canonical_fields"]["date"][0]
    )
    assert any(f.startswith("canonical_unparsed:phone") for f in v["flags"])


def test_deleted_annotation_appends_one_tombstone_and_leaves_gold(client, db) -> None:
    record = make_record(db)
    task = task_of(record, SHA)
    post(
        client,
        annotation_event("ANNOTATION_CREATED", annotation(1, task, [span(TEXT, "Alice", "PERSON")]), task),
    )
    delete = {"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 1}], "project": PROJECT}
    assert post(client, delete).json["outcome"] == "applied"
    assert post(client, delete).json["outcome"] == "duplicate"
    sources = [v["source"] for v in versions(db, record.id)]
    assert sources == ["annotation", "tombstone"]
    assert repo.latest_human_versions(db) == []
    # A late copy of the deleted annotation does not resurrect it.
    late = annotation(1, task, [span(TEXT, "Alice", "PERSON")], minutes=1)
    assert post(client, annotation_event("ANNOTATION_UPDATED", late, task)).json["outcome"] == "stale"
    unknown = post(
        client, {"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 999}], "project": PROJECT}
    )
    assert unknown.status_code == 200 and unknown.json["outcome"] == "unmatched"


def test_bulk_annotations_created_is_one_transaction(client, db) -> None:
    records = [make_record(db, key=f"row={i}") for i in range(1, 4)]
    tasks = [task_of(r, SHA, task_id=100 + i) for i, r in enumerate(records)]
    anns = [annotation(10 + i, t, [span(TEXT, "Alice", "PERSON")]) for i, t in enumerate(tasks)]
    ok = post(
        client, {"action": "ANNOTATIONS_CREATED", "annotation": anns, "task": tasks, "project": PROJECT}
    )
    assert ok.json["counts"] == {"applied": 3}
    # One item that the database cannot store (NUL in text) rolls the whole event back.
    more = [annotation(20 + i, t, [span(TEXT, "Smith", "PERSON")]) for i, t in enumerate(tasks)]
    more[2]["result"][0]["value"]["labels"] = ["PER\u0000SON"]
    bad = post(
        client, {"action": "ANNOTATIONS_CREATED", "annotation": more, "task": tasks, "project": PROJECT}
    )
    assert bad.status_code == 422
    assert sum(len(versions(db, r.id)) for r in records) == 3
    assert count(db, "webhook_events") == 1


def test_tasks_created_links_and_tasks_deleted_unlinks(client, db) -> None:
    record = make_record(db)
    task = task_of(record, SHA, task_id=42)
    task["predictions"] = [{"model_version": "ner-v1", "result": []}]
    stranger = {"id": 43, "data": {"text": "?", "document_sha256": "0" * 64, "record_key": "para=9"}}
    resp = post(client, {"action": "TASKS_CREATED", "tasks": [task, stranger], "project": PROJECT})
    assert resp.json["counts"] == {"applied": 1, "unmatched": 1}
    assert repo.record_for_ls_task(db, ls_project_id=7, ls_task_id=42).id == record.id
    assert repo.prediction_model_version(db, record.id) == "ner-v1"
    resp = post(client, {"action": "TASKS_DELETED", "tasks": [{"id": 42}], "project": PROJECT})
    assert resp.json["outcome"] == "applied"
    assert repo.record_for_ls_task(db, ls_project_id=7, ls_task_id=42) is None


def test_annotation_naming_an_unknown_record_is_stored_unmatched_not_500(client, db) -> None:
    task = {"id": 5, "data": {"text": "hello", "document_sha256": "0" * 64, "record_key": "para=9"}}
    resp = post(client, annotation_event("ANNOTATION_CREATED", annotation(3, task, []), task))
    assert resp.status_code == 200 and resp.json["outcome"] == "unmatched"
    with db.cursor() as cur:
        cur.execute("SELECT state, record_id FROM annotations WHERE ls_annotation_id = 3")
        assert cur.fetchone() == ("unmatched", None)


def test_task_born_in_label_studio_becomes_a_record_with_lineage(client, db) -> None:
    # Imported in the LS UI: no document sha256 or record key of the pipeline, just the labelled text.
    task = {"id": 77, "data": {"text": "Alice Smith joined Acme Corp.", "note": "by hand"}}
    spans = [span(task["data"]["text"], "Alice Smith", "PERSON")]
    resp = post(client, annotation_event("ANNOTATION_CREATED", annotation(12, task, spans), task))
    assert resp.json["outcome"] == "applied"
    record = repo.record_for_ls_task(db, ls_project_id=7, ls_task_id=77)
    assert record is not None and record.record_key == "task=77" and record.text == task["data"]["text"]
    with db.cursor() as cur:
        cur.execute("SELECT id FROM record_versions WHERE record_id = %s", (record.id,))
        (version_id,) = cur.fetchone()
    lineage = repo.record_version_lineage(db, version_id)
    canonical = json.dumps(task["data"], sort_keys=True, separators=(",", ":")).encode()
    assert lineage.document_uri == "ls://7/77"
    assert lineage.document_sha256 == hashlib.sha256(canonical).hexdigest()
    assert (lineage.ls_task_id, lineage.ls_annotation_id) == (77, 12)
    (gold,) = [c for c in repo.latest_human_versions(db) if c.record_id == record.id]
    assert gold.is_gold and gold.spans[0]["text"] == "Alice Smith"
    again = post(client, annotation_event("ANNOTATION_UPDATED", annotation(12, task, [], minutes=1), task))
    assert again.json["outcome"] == "applied" and count(db, "documents") == 1, "one task, one record"


def test_tasks_a_storage_sync_made_are_noted_once_and_an_early_annotation_is_not_a_born_record(
    client, db
) -> None:
    tasks = [
        {"id": 201, "data": {"text": "s3://inbox/in/report.pdf"}, "project": 7},
        {"id": 202, "data": {"text": "/data/local-files/?d=inbox/note.txt"}, "project": 7},
        {"id": 203, "data": {"text": "typed in LS"}, "project": 7},
    ]
    created = {"action": "TASKS_CREATED", "tasks": tasks, "project": PROJECT}
    assert post(client, created).status_code == 200
    assert post(client, created).status_code == 200  # redelivered: noted once
    with db.cursor() as cur:
        cur.execute("SELECT ls_task_id, source_link, state FROM ls_source_tasks ORDER BY 1")
        assert cur.fetchall() == [
            (201, "s3://inbox/in/report.pdf", "pending"),
            (202, "/data/local-files/?d=inbox/note.txt", "pending"),
        ]
    db.commit()
    # Annotated before the intake took it in: its text is a link, so no `ls://` document of that link.
    task = tasks[0]
    resp = post(client, annotation_event("ANNOTATION_CREATED", annotation(31, task, []), task))
    assert resp.status_code == 200 and resp.json["outcome"] == "unmatched"
    assert count(db, "documents") == 0


@pytest.mark.parametrize("action", ["PROJECT_UPDATED", "SOMETHING_NEW"])
def test_other_actions_are_acknowledged_recorded_and_secrets_stripped(client, db, action) -> None:
    resp = post(client, {"action": action, "project": PROJECT})
    assert resp.status_code == 200 and resp.json["outcome"] == "ignored"
    with db.cursor() as cur:
        cur.execute("SELECT action, payload::text FROM webhook_events")
        stored_action, stored = cur.fetchone()
    assert stored_action == action
    assert "secret-project-token-123" not in stored and '"title": "NER"' in stored


def test_database_down_is_fast_503_and_service_recovers(db, database_url: str, tmp_path) -> None:
    from devstack.services.embedded_postgres import EmbeddedPostgres
    from tests.conftest import free_port

    pg = EmbeddedPostgres(root=tmp_path / "pg", port=free_port())
    url = pg.start(database="shim")
    from include.adapters.db.connection import connect
    from include.adapters.db.migrate import apply_migrations

    conn = connect(url, statement_timeout_ms=0)
    apply_migrations(conn)
    conn.close()
    try:
        client = create_app({"DATABASE_URL": url, "WEBHOOK_SECRET": SECRET}).test_client()
        assert client.get("/healthz").status_code == 200
        pg.stop()
        started = time.perf_counter()
        resp = post(client, {"action": "PROJECT_UPDATED", "project": PROJECT})
        elapsed = time.perf_counter() - started
        assert resp.status_code == 503 and resp.json["error"] == "database unavailable"
        print(f"database down: 503 in {elapsed * 1000:.1f} ms")
        assert elapsed < 1.0, f"503 took {elapsed:.3f}s"
        assert client.get("/healthz").status_code == 503
        pg.start()
        assert client.get("/healthz").status_code == 200
        assert post(client, {"action": "PROJECT_UPDATED", "project": PROJECT}).status_code == 200
    finally:
        pg.stop()


def test_metrics_count_requests_and_versions(client, db) -> None:
    record = make_record(db)
    task = task_of(record, SHA)
    post(
        client,
        annotation_event("ANNOTATION_CREATED", annotation(1, task, [span(TEXT, "Alice", "PERSON")]), task),
    )
    post(client, b"nope")
    page = client.get("/metrics").get_data(as_text=True)
    assert 'shim_webhook_requests_total{action="ANNOTATION_CREATED",status="200"}' in page
    assert 'shim_webhook_errors_total{reason="bad_json"}' in page
    assert "shim_record_versions_written_total" in page
    assert "shim_webhook_latency_seconds_bucket" in page


def test_metrics_carry_per_label_agreement_by_model_version(client, db) -> None:
    seed_quality(db, "metrics")
    page = client.get("/metrics").get_data(as_text=True)
    assert 'nerloop_label_f1{label="ORG",model_version="bootstrap-0"} 0.666' in page
    assert 'nerloop_label_precision{label="ORG",model_version="bootstrap-0"} 1.0' in page
    assert 'nerloop_label_overlap_f1{label="PERSON",model_version="bootstrap-0"} 1.0' in page
    assert 'nerloop_label_edits_per_task{label="LOCATION",model_version="bootstrap-0"} 1.5' in page
    assert 'nerloop_label_tasks{label="PERSON",model_version="bootstrap-0"} 2.0' in page


@pytest.mark.parametrize("mode", ["on", "off"])
def test_synchronous_commit_setting_reaches_the_shim_sessions(db, database_url: str, mode: str) -> None:
    app = create_app({"DATABASE_URL": database_url, "WEBHOOK_SECRET": SECRET, "SYNCHRONOUS_COMMIT": mode})
    with app.extensions["db_pool"].connection() as conn, conn.cursor() as cur:
        cur.execute("SHOW synchronous_commit")
        assert cur.fetchone()[0] == mode


def test_lone_surrogate_in_a_task_born_in_label_studio_is_a_422_not_a_500(client, db) -> None:
    text = "Alice \ud800 met Bob."
    task = {"id": 78, "data": {"text": text}}
    result = [span(text, "Alice", "PERSON")]
    event = annotation_event("ANNOTATION_CREATED", annotation(13, task, result), task)
    resp = post(client, json.dumps(event))
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert count(db, "documents") == 0 and count(db, "webhook_events") == 0

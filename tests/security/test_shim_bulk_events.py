"""Bulk Label Studio events against the real shim (gunicorn) and Postgres, at its default 200 ms budget.

A TASKS_CREATED of 1,000 or 10,000 tasks (an import, a storage sync, an import made in LS) and the
TASKS_DELETED of as many are each applied by one set-based statement: 200, every task linked or noted,
never the 503 of a statement that ran out of budget. A bulk event gets a budget in proportion to its size
(WEBHOOK_DB_TIMEOUT_PER_ITEM_MS); bulk annotation events (Data Manager actions) are stored too.
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.integration.ls_payloads import annotation, span
from tests.security import bulk_payloads as bp

SIZES = [1_000, 10_000]


def post(shim_server, payload: dict) -> tuple[requests.Response, float, int]:
    body = json.dumps(payload).encode()
    started = time.perf_counter()
    resp = requests.post(
        shim_server.webhook_url,
        data=body,
        headers={"X-Webhook-Secret": shim_server.secret, "Content-Type": "application/json"},
        timeout=60,
    )
    return resp, time.perf_counter() - started, len(body)


@pytest.fixture(autouse=True)
def no_source_tasks(db) -> None:
    """The `db` fixture empties the domain tables; the storage sync's notes are emptied here."""
    with db.cursor() as cur:
        cur.execute("TRUNCATE ls_source_tasks")
    db.commit()


def scalar(db, sql: str, *args) -> int:
    with db.cursor() as cur:
        cur.execute(sql, args)
        value = cur.fetchone()[0]
    db.commit()
    return value


@pytest.mark.parametrize("n", SIZES)
def test_an_import_of_n_tasks_links_every_record_and_a_redelivery_is_all_duplicates(
    shim_server, db, n: int
) -> None:
    bp.seed_records(db, n)
    payload = bp.tasks_created([bp.pipeline_task(100_000 + i, i) for i in range(n)])
    resp, seconds, size = post(shim_server, payload)
    assert resp.status_code == 200, resp.text[:500]
    assert resp.json()["counts"] == {"applied": n}
    print(f"TASKS_CREATED import of {n} tasks ({size / 1e6:.1f} MB): 200 in {seconds * 1000:.0f} ms")
    assert scalar(db, "SELECT count(*) FROM records WHERE ls_project_id = %s", bp.PROJECT_ID) == n
    assert scalar(db, "SELECT count(*) FROM ls_task_links WHERE unlinked_at IS NULL") == n
    assert scalar(db, "SELECT count(DISTINCT model_version) FROM ls_task_links") == 1
    # Record para=i holds task 100000+i.
    assert (
        scalar(db, "SELECT count(*) FROM records WHERE ls_task_id - 100000 <> substr(record_key, 6)::int")
        == 0
    )

    locks = "SELECT md5(string_agg(xmax::text, ',' ORDER BY id)) FROM records"
    locked_before = scalar(db, locks)
    resp, seconds, _ = post(shim_server, payload)
    assert resp.status_code == 200, resp.text[:500]
    assert resp.json()["counts"] == {"duplicate": n}
    # A redelivery reads: no record row is locked (locking writes every tuple and its WAL again).
    assert scalar(db, locks) == locked_before
    print(f"  redelivered: 200 in {seconds * 1000:.0f} ms")
    assert scalar(db, "SELECT count(*) FROM ls_task_links") == n

    deleted = {
        "action": "TASKS_DELETED",
        "tasks": [{"id": 100_000 + i} for i in range(n)],
        "project": bp.project(),
    }
    resp, seconds, _ = post(shim_server, deleted)
    assert resp.status_code == 200 and resp.json()["counts"] == {"applied": n}, resp.text[:500]
    print(f"  TASKS_DELETED of {n}: 200 in {seconds * 1000:.0f} ms")
    assert scalar(db, "SELECT count(*) FROM records WHERE ls_task_id IS NOT NULL") == 0
    assert scalar(db, "SELECT count(*) FROM ls_task_links WHERE unlinked_at IS NULL") == 0
    assert scalar(db, "SELECT count(*) FROM webhook_events") == 3


@pytest.mark.parametrize("n", SIZES)
def test_n_tasks_made_in_label_studio_are_stored_unmatched_with_50_notes(shim_server, db, n: int) -> None:
    payload = bp.tasks_created([bp.task(200_000 + i, {"text": bp.TEXT}) for i in range(n)])
    resp, seconds, size = post(shim_server, payload)
    assert resp.status_code == 200, resp.text[:500]
    outcome = resp.json()
    assert outcome["counts"] == {"unmatched": n} and len(outcome["unmatched"]) == 50
    assert outcome["unmatched"][0] == "task 200000: no record for None"
    print(f"TASKS_CREATED of {n} tasks made in LS ({size / 1e6:.1f} MB): 200 in {seconds * 1000:.0f} ms")
    assert scalar(db, "SELECT jsonb_array_length(payload -> 'tasks') FROM webhook_events") == n


@pytest.mark.parametrize("n", SIZES)
def test_a_storage_sync_of_n_files_notes_every_task_in_the_same_statement(shim_server, db, n: int) -> None:
    tasks = [bp.task(300_000 + i, {"text": f"s3://inbox/in/file-{i}.pdf"}) for i in range(n)]
    resp, seconds, size = post(shim_server, bp.tasks_created(tasks))
    assert resp.status_code == 200, resp.text[:500]
    print(f"TASKS_CREATED of a {n}-file storage sync ({size / 1e6:.1f} MB): 200 in {seconds * 1000:.0f} ms")
    assert scalar(db, "SELECT count(*) FROM ls_source_tasks WHERE state = 'pending'") == n
    assert (
        scalar(db, "SELECT count(*) FROM ls_source_tasks WHERE source_link LIKE 's3://inbox/in/file-%%'") == n
    )
    resp, _, _ = post(shim_server, bp.tasks_created(tasks))  # redelivered: noted once
    assert resp.status_code == 200
    assert scalar(db, "SELECT count(*) FROM ls_source_tasks") == n


@pytest.mark.parametrize("n", SIZES)
def test_bulk_annotations_of_n_tasks_are_stored_and_deleted(shim_server, db, n: int) -> None:
    bp.seed_records(db, n)
    tasks = [bp.pipeline_task(100_000 + i, i) for i in range(n)]
    assert post(shim_server, bp.tasks_created(tasks))[0].status_code == 200
    anns = [annotation(900_000 + i, t, [span(bp.TEXT, "Acme Corp", "ORG")]) for i, t in enumerate(tasks)]
    created = {"action": "ANNOTATIONS_CREATED", "annotation": anns, "task": tasks, "project": bp.project()}
    resp, seconds, size = post(shim_server, created)
    assert resp.status_code == 200 and resp.json()["counts"] == {"applied": n}, resp.text[:500]
    print(f"ANNOTATIONS_CREATED of {n} ({size / 1e6:.1f} MB): 200 in {seconds * 1000:.0f} ms")
    deleted = {
        "action": "ANNOTATIONS_DELETED",
        "annotations": [{"id": a["id"]} for a in anns],
        "project": bp.project(),
    }
    resp, seconds, _ = post(shim_server, deleted)
    assert resp.status_code == 200 and resp.json()["counts"] == {"applied": n}, resp.text[:500]
    print(f"  ANNOTATIONS_DELETED of {n}: 200 in {seconds * 1000:.0f} ms")
    versions = """SELECT count(*) FILTER (WHERE source = 'annotation'),
                         count(*) FILTER (WHERE source = 'tombstone') FROM record_versions"""
    with db.cursor() as cur:
        cur.execute(versions)
        assert cur.fetchone() == (n, n)
    db.commit()


def other_statistics(db, n: int) -> None:
    """Statistics of another shape, as an earlier batch or test leaves them: n documents of one record
    each, analyzed, then emptied."""
    with db.cursor() as cur:
        cur.execute(
            """WITH d AS (INSERT INTO documents (sha256, uri, doc_type, size_bytes, status)
                          SELECT md5(i::text) || md5(i::text), 'file:///d' || i, 'text', 1, 'prelabeled'
                          FROM generate_series(1, %s) AS i RETURNING id)
               INSERT INTO records (document_id, record_key, text) SELECT id, 'para=0', 'x' FROM d""",
            (n,),
        )
        cur.execute("ANALYZE documents, records")
        cur.execute("TRUNCATE ls_task_links, records, documents RESTART IDENTITY CASCADE")
    db.commit()


def key_reads(db, since: int, at_least: int) -> int:
    """Index tuples read by record key since `since`; the shim's backend reports its counters when it next
    goes idle (within a second or so), so wait up to 15 s for `at_least`."""
    reads = """SELECT COALESCE(sum(idx_tup_read), 0) FROM pg_stat_user_indexes
               WHERE indexrelname = 'records_document_id_record_key_key'"""
    deadline = time.monotonic() + 15
    while (read := int(scalar(db, reads)) - since) < at_least and time.monotonic() < deadline:
        time.sleep(0.5)
    return read


def test_each_task_and_annotation_reads_its_record_by_key_whatever_the_statistics_say(
    shim_server, db
) -> None:
    """Such statistics once made Postgres find an import's records by document alone and filter by key:
    10,000 index tuples read per task, 5 x 10^7 for an import of 10,000 tasks in one document (7.8 s
    where 1 s is enough; the 503 of CI's full suite, past the 20 s budget, on the redelivery). Each item
    must read its record by both key columns."""
    n = 10_000
    other_statistics(db, n)
    bp.seed_records(db, n)
    start = key_reads(db, 0, 0)
    tasks = [bp.pipeline_task(100_000 + i, i) for i in range(n)]
    resp, seconds, _ = post(shim_server, bp.tasks_created(tasks))
    assert resp.status_code == 200 and resp.json()["counts"] == {"applied": n}, resp.text[:500]
    read = key_reads(db, start, n)
    print(f"import of {n} tasks after other statistics: {read} index tuples read, {seconds * 1000:.0f} ms")
    assert n <= read <= 3 * n

    start += read
    anns = [annotation(900_000 + i, t, [span(bp.TEXT, "Acme Corp", "ORG")]) for i, t in enumerate(tasks)]
    created = {"action": "ANNOTATIONS_CREATED", "annotation": anns, "task": tasks, "project": bp.project()}
    scans = "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'documents'"
    scans_before = scalar(db, scans)
    resp, seconds, _ = post(shim_server, created)
    assert resp.status_code == 200 and resp.json()["counts"] == {"applied": n}, resp.text[:500]
    read = key_reads(db, start, n)
    scanned = scalar(db, scans) - scans_before
    print(
        f"  {n} annotations: {read} index tuples read, {scanned} scans of documents, {seconds * 1000:.0f} ms"
    )
    assert n <= read <= 5 * n  # each annotation's record is read a few times, each by its key
    # A document is found by its sha256 index, never by reading every document: 2 scans per annotation
    # (20,000) before. CI's shuffled suite once saw 15 (which statement, not found): a planner may read a
    # one-row table whole, a count that does not grow with the event.
    assert scanned <= 100, f"{scanned} scans of documents for {n} annotations"

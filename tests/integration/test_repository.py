"""The repository on a real server: same bytes → same document, atomic version numbers, constraints."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime

import psycopg2
import pytest

from include.adapters.db import repository as repo
from include.adapters.db.connection import connect, transaction
from include.core.spans import Span

TEXT = "Alice Smith paid $120.50 to Acme Corp on 2024-03-01."


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_record(db, text: str = TEXT, key: str = "para=1", data: bytes = b"doc-1") -> repo.Record:
    with transaction(db):
        doc = repo.add_document(
            db, sha256=sha(data), uri="file:///inbox/a.txt", doc_type="text", size_bytes=len(data)
        )
        (record,) = repo.add_records(db, doc.id, [repo.NewRecord(record_key=key, text=text)])
    return record


def test_same_bytes_give_the_same_document(db) -> None:
    with transaction(db):
        first = repo.add_document(db, sha256=sha(b"x"), uri="file:///a/x.txt", doc_type="text", size_bytes=1)
        again = repo.add_document(
            db, sha256=sha(b"x"), uri="s3://bucket/other-name.txt", doc_type="text", size_bytes=1
        )
    assert first.created and not again.created
    assert again.id == first.id
    assert again.uri == "file:///a/x.txt"


@pytest.mark.parametrize("bad", ["", "abc", "G" * 64, "A" * 64])
def test_bad_sha256_is_rejected_naming_the_field(db, bad: str) -> None:
    with pytest.raises(repo.RepositoryError, match="sha256"):
        repo.add_document(db, sha256=bad, uri="file:///x", doc_type="text", size_bytes=1)


def test_records_are_unique_per_document_and_key(db) -> None:
    record = make_record(db)
    with transaction(db):
        (again,) = repo.add_records(
            db, record.document_id, [repo.NewRecord(record_key="para=1", text="other")]
        )
    assert again.id == record.id and again.text == TEXT


def test_unknown_record_is_rejected_naming_the_field(db) -> None:
    with pytest.raises(repo.RepositoryError, match="record_id"):
        repo.append_record_version(db, 999_999, repo.NewRecordVersion(source="prediction"))


def test_span_with_start_not_before_end_is_rejected() -> None:
    with pytest.raises(ValueError, match="start"):
        Span(start=5, end=5, label="PERSON", text="")


def test_constraint_rejects_bad_span_offsets_written_directly(db) -> None:
    record = make_record(db)
    with pytest.raises(psycopg2.errors.CheckViolation), transaction(db) as cur:
        cur.execute(
            """INSERT INTO record_versions (record_id, version, source, spans, document_sha256,
                       document_uri, record_key)
                   VALUES (%s, 1, 'prediction', %s, %s, 'file:///x', 'para=1')""",
            (record.id, '[{"start": 7, "end": 3, "label": "X", "text": ""}]', sha(b"doc-1")),
        )
    with pytest.raises(psycopg2.errors.CheckViolation), transaction(db) as cur:
        cur.execute(
            """INSERT INTO record_versions (record_id, version, source, spans, document_sha256,
                       document_uri, record_key)
                   VALUES (%s, 1, 'prediction', %s, %s, 'file:///x', 'para=1')""",
            (record.id, '[{"start": -1, "end": 3, "label": "X", "text": ""}]', sha(b"doc-1")),
        )


def test_constraint_rejects_duplicate_annotations_and_versions(db) -> None:
    record = make_record(db)
    with transaction(db) as cur:
        cur.execute(
            """INSERT INTO annotations (ls_annotation_id, ls_project_id, ls_task_id, record_id, result, state)
               VALUES (1, 1, 1, %s, '[]', 'submitted')""",
            (record.id,),
        )
    with pytest.raises(psycopg2.errors.UniqueViolation), transaction(db) as cur:
        cur.execute(
            """INSERT INTO annotations (ls_annotation_id, ls_project_id, ls_task_id, result, state)
                   VALUES (1, 1, 1, '[]', 'submitted')"""
        )
    with transaction(db):
        repo.append_record_version(db, record.id, repo.NewRecordVersion(source="prediction"))
    with pytest.raises(psycopg2.errors.UniqueViolation), transaction(db) as cur:
        cur.execute(
            """INSERT INTO record_versions (record_id, version, source, document_sha256, document_uri,
                       record_key) VALUES (%s, 1, 'prediction', %s, 'file:///x', 'para=1')""",
            (record.id, sha(b"doc-1")),
        )


def test_versions_carry_lineage_copied_from_document_and_record(db) -> None:
    record = make_record(db)
    span = Span(start=0, end=11, label="PERSON", text="Alice Smith", score=0.9)
    with transaction(db):
        v = repo.append_record_version(
            db,
            record.id,
            repo.NewRecordVersion(
                source="prediction", spans=[span], model_version="m-0", ls_project_id=3, ls_task_id=7
            ),
        )
    assert v is not None and v.version == 1
    assert v.document_sha256 == sha(b"doc-1") and v.record_key == "para=1"
    assert v.spans == [{"start": 0, "end": 11, "label": "PERSON", "text": "Alice Smith", "score": 0.9}]
    lineage = repo.record_version_lineage(db, v.id)
    assert lineage.document_uri == "file:///inbox/a.txt"
    assert lineage.model_version == "m-0" and lineage.ls_task_id == 7


def test_same_delivery_twice_writes_one_version(db) -> None:
    record = make_record(db)
    new = repo.NewRecordVersion(
        source="annotation",
        ls_annotation_id=11,
        ls_updated_at=datetime(2026, 1, 1, tzinfo=UTC),
        result_sha256=sha(b"result"),
    )
    with transaction(db):
        first = repo.append_record_version(db, record.id, new)
        second = repo.append_record_version(db, record.id, new)
    assert first is not None and second is None


def test_eight_threads_append_800_versions_without_gap_or_duplicate(db, database_url: str) -> None:
    record = make_record(db)
    errors: list[BaseException] = []

    def worker() -> None:
        conn = connect(database_url)
        try:
            for _ in range(100):
                with transaction(conn):
                    repo.append_record_version(conn, record.id, repo.NewRecordVersion(source="prediction"))
        except BaseException as exc:
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.cursor() as cur:
        cur.execute("SELECT version FROM record_versions WHERE record_id = %s ORDER BY version", (record.id,))
        assert [r[0] for r in cur.fetchall()] == list(range(1, 801))


def _annotation(
    db,
    record_id: int,
    ann_id: int,
    *,
    cancelled: bool = False,
    valid: bool = True,
    source: str = "annotation",
) -> repo.RecordVersion:
    with transaction(db):
        v = repo.append_record_version(
            db,
            record_id,
            repo.NewRecordVersion(
                source=source, ls_annotation_id=ann_id, was_cancelled=cancelled, spans_valid=valid
            ),
        )
    assert v is not None
    return v


def test_latest_human_version_skips_tombstoned_and_reports_skipped_and_flagged(db) -> None:
    r1 = make_record(db, key="row=1")
    r2 = make_record(db, key="row=2")
    r3 = make_record(db, key="row=3")
    r4 = make_record(db, key="row=4")
    with transaction(db):
        repo.append_record_version(db, r1.id, repo.NewRecordVersion(source="prediction"))
    old = _annotation(db, r1.id, 1)
    newest = _annotation(db, r1.id, 2)
    _annotation(db, r2.id, 3)
    _annotation(db, r2.id, 3, source="tombstone")
    _annotation(db, r3.id, 4, cancelled=True)
    _annotation(db, r4.id, 5, valid=False)
    candidates = {c.record_id: c for c in repo.latest_human_versions(db)}
    assert set(candidates) == {r1.id, r3.id, r4.id}
    assert candidates[r1.id].record_version_id == newest.id != old.id
    assert candidates[r1.id].is_gold
    assert not candidates[r3.id].is_gold and not candidates[r4.id].is_gold


def test_link_ls_task_keeps_history_and_survives_task_id_reuse(db) -> None:
    a = make_record(db, key="row=1")
    b = make_record(db, key="row=2")
    with transaction(db):
        assert repo.link_ls_task(db, a.id, ls_project_id=1, ls_task_id=10)
        assert not repo.link_ls_task(db, a.id, ls_project_id=1, ls_task_id=10)
        assert repo.unlink_ls_task(db, ls_project_id=1, ls_task_id=10) == a.id
        # LS on SQLite hands the freed id to a new task of another record.
        assert repo.link_ls_task(db, b.id, ls_project_id=1, ls_task_id=10)
    found = repo.record_for_ls_task(db, ls_project_id=1, ls_task_id=10)
    assert found is not None and found.id == b.id
    with db.cursor() as cur:
        cur.execute("SELECT record_id, unlinked_at IS NOT NULL FROM ls_task_links ORDER BY id")
        assert cur.fetchall() == [(a.id, True), (b.id, False)]

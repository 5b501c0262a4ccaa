"""Gold selection on a real database: latest human versions only, exclusions counted, runs recorded."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime, timedelta

from include.adapters.db import repository as repo
from include.adapters.db.connection import transaction
from include.core.spans import Span
from include.workflows.training.gold import (
    document_splits,
    finish_training_run,
    record_model_version,
    record_training_run,
    select_gold,
)

TEXT = "Alice Smith paid $120.50 to Acme Corp on 2024-03-01."
T0 = datetime(2025, 10, 1, tzinfo=UTC)


def span(part: str, label: str, text: str = TEXT) -> Span:
    start = text.index(part)
    return Span(start=start, end=start + len(part), label=label, text=part)


def add_record(db, doc: str, key: str, text: str = TEXT) -> int:
    data = doc.encode()
    document = repo.add_document(
        db,
        sha256=hashlib.sha256(data).hexdigest(),
        uri=f"file:///inbox/{doc}.txt",
        doc_type="text",
        size_bytes=len(data),
    )
    (record,) = repo.add_records(db, document.id, [repo.NewRecord(record_key=key, text=text)])
    return record.id


def annotate(db, record_id: int, annotation_id: int, spans: list[Span], minutes: int = 0, **kw) -> int:
    version = repo.append_record_version(
        db,
        record_id,
        repo.NewRecordVersion(
            source=kw.pop("source", "annotation"),
            spans=spans,
            ls_project_id=1,
            ls_task_id=record_id,
            ls_annotation_id=annotation_id,
            ls_updated_at=T0 + timedelta(minutes=minutes),
            **kw,
        ),
    )
    return version.id


def seed(db) -> dict[str, int]:
    ids: dict[str, int] = {}
    with transaction(db):
        updated = add_record(db, "doc-a", "para=1")
        annotate(db, updated, 1, [span("Alice", "PERSON")])
        ids["updated"] = annotate(db, updated, 1, [span("Alice Smith", "PERSON")], minutes=5)
        later_prediction = add_record(db, "doc-a", "para=2")
        ids["annotated_then_predicted"] = annotate(db, later_prediction, 2, [span("Acme Corp", "ORG")])
        repo.append_record_version(db, later_prediction, repo.NewRecordVersion(source="prediction"))
        tombstoned = add_record(db, "doc-b", "para=1")
        annotate(db, tombstoned, 3, [span("Alice Smith", "PERSON")])
        annotate(db, tombstoned, 3, [], minutes=9, source="tombstone")
        skipped = add_record(db, "doc-b", "para=2")
        annotate(db, skipped, 4, [], was_cancelled=True)
        flagged = add_record(db, "doc-c", "para=1")
        annotate(db, flagged, 5, [span("Alice", "PERSON")], spans_valid=False, flags=["overlap"])
        invalid = add_record(db, "doc-c", "para=2")
        wrong_text = Span(start=0, end=5, label="PERSON", text="Alicia")
        ids["invalid"] = annotate(db, invalid, 6, [wrong_text])
        predicted_only = add_record(db, "doc-d", "para=1")
        repo.append_record_version(db, predicted_only, repo.NewRecordVersion(source="prediction"))
        for i in range(12):
            record = add_record(db, f"doc-{i % 4 + 10}", f"para={i}")
            ids[f"bulk{i}"] = annotate(db, record, 100 + i, [span("2024-03-01", "DATE")])
    return ids


def test_gold_is_the_latest_human_version_and_exclusions_are_counted(db) -> None:
    ids = seed(db)
    gold = select_gold(db)
    got = {e.record_version_id for e in gold.examples}
    assert ids["updated"] in got and ids["annotated_then_predicted"] in got
    assert len(gold.examples) == 2 + 12
    assert gold.excluded == {"skipped": 1, "flagged": 1, "invalid_spans": 1}
    assert "Alicia" in gold.problems[ids["invalid"]][0]
    updated = next(e for e in gold.examples if e.record_version_id == ids["updated"])
    assert [(s.text, s.label) for s in updated.spans] == [("Alice Smith", "PERSON")]
    assert all(e.text[s.start : s.end] == s.text for e in gold.examples for s in e.spans)


def test_labels_outside_the_set_are_invalid_spans(db) -> None:
    seed(db)
    gold = select_gold(db, labels=["PERSON", "ORG"])
    assert gold.excluded["invalid_spans"] == 1 + 12
    assert all(s.label in ("PERSON", "ORG") for e in gold.examples for s in e.spans)


def test_each_document_lands_in_one_split(db) -> None:
    seed(db)
    gold = select_gold(db)
    documents: Counter[str] = Counter()
    for e in gold.examples:
        documents[e.document_sha256] += len(e.spans)
    for e in gold.examples:
        assert e.split == document_splits(documents)[e.document_sha256]
    splits_per_document: dict[str, set[str]] = {}
    for e in gold.examples:
        splits_per_document.setdefault(e.document_sha256, set()).add(e.split)
    assert all(len(s) == 1 for s in splits_per_document.values())
    assert select_gold(db).manifest_sha256 == gold.manifest_sha256


def test_training_run_records_its_manifest_and_shows_in_lineage(db) -> None:
    ids = seed(db)
    gold = select_gold(db)
    with transaction(db):
        run_id = record_training_run(db, gold, detail={"trigger": "test"})
    with db.cursor() as cur:
        cur.execute("SELECT status, manifest_sha256, counts FROM training_runs WHERE id = %s", (run_id,))
        status, digest, counts = cur.fetchone()
        cur.execute(
            "SELECT split, array_agg(record_version_id ORDER BY record_version_id) FROM training_manifest "
            "WHERE training_run_id = %s GROUP BY split",
            (run_id,),
        )
        manifest = dict(cur.fetchall())
    assert status == "running" and digest == gold.manifest_sha256
    assert counts["gold"] == 14 and counts["excluded"]["skipped"] == 1
    assert {k: v for k, v in gold.manifest.items() if v} == manifest

    version = {"model_version": "ner-20251101-010203-abcdef12", "exporter_mode": "modern", "metrics": {}}
    with transaction(db):
        record_model_version(db, version)
        finish_training_run(db, run_id, "succeeded", model_version=version["model_version"])
    lineage = repo.record_version_lineage(db, ids["updated"])
    assert [(r["training_run_id"], r["status"], r["model_version"]) for r in lineage.training_runs] == [
        (run_id, "succeeded", version["model_version"])
    ]

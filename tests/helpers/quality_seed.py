"""A small database for the quality views and pages: known predictions, SME edits and two nightly runs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from include.adapters.db import repository as repo
from include.adapters.db.connection import transaction
from include.core.spans import Span

TEXT = "Alice Smith joined Acme Corp in Paris."
MODEL = "bootstrap-0"
PROJECT = 3


def span(text: str, label: str, score: float | None = None, start: int | None = None) -> Span:
    begin = TEXT.index(text) if start is None else start
    return Span(start=begin, end=begin + len(text), label=label, text=text, score=score)


@dataclass(frozen=True)
class Seeded:
    records: list[repo.Record]
    uncertain_record_id: int
    gold_version_id: int
    task_ids: list[int]


def seed_quality(conn: repo.Connection, tag: str = "q") -> Seeded:
    """Record 1: PERSON and ORG kept, LOCATION added. Record 2: PERSON re-bounded, a LOCATION relabelled
    to ORG, a LOCATION removed. Record 3: never annotated, least confident. Runs: gold 40 (F1 0.5), then
    140 (F1 0.7)."""
    sha = hashlib.sha256(f"quality-seed-{tag}".encode()).hexdigest()
    task_ids = [int(sha[:6], 16) * 10 + i for i in range(3)]
    with transaction(conn):
        doc = repo.add_document(
            conn, sha256=sha, uri=f"file:///inbox/{tag}.csv", doc_type="csv", size_bytes=10
        )
        records = repo.add_records(
            conn,
            doc.id,
            [repo.NewRecord(record_key=f"row={i}", text=TEXT, meta={"row": i}) for i in range(1, 4)],
        )
        predictions = [
            [span("Alice Smith", "PERSON", 0.95), span("Acme Corp", "ORG", 0.9)],
            [
                span("Alice", "PERSON", 0.8),
                span("Acme Corp", "LOCATION", 0.6),
                span("Paris", "LOCATION", 0.7),
            ],
            [span("Alice Smith", "PERSON", 0.41)],
        ]
        for record, spans, task_id in zip(records, predictions, task_ids, strict=True):
            repo.append_record_version(
                conn, record.id, repo.NewRecordVersion(source="prediction", spans=spans, model_version=MODEL)
            )
            repo.link_ls_task(conn, record.id, ls_project_id=PROJECT, ls_task_id=task_id, model_version=MODEL)
        annotations = [
            [span("Alice Smith", "PERSON"), span("Acme Corp", "ORG"), span("Paris", "LOCATION")],
            [span("Alice Smith", "PERSON"), span("Acme Corp", "ORG")],
        ]
        versions = []
        for n, (record, spans) in enumerate(zip(records[:2], annotations, strict=True)):
            version = repo.append_record_version(
                conn,
                record.id,
                repo.NewRecordVersion(
                    source="annotation",
                    spans=spans,
                    ls_project_id=PROJECT,
                    ls_task_id=task_ids[n],
                    ls_annotation_id=int(sha[:6], 16) * 10 + n,
                    model_version=MODEL,
                    ls_updated_at=datetime(2026, 11, 2, tzinfo=UTC),
                ),
            )
            assert version is not None
            versions.append(version)
        with conn.cursor() as cur:
            for annotation_version in versions:
                cur.execute(
                    """INSERT INTO annotations
                           (ls_annotation_id, ls_project_id, ls_task_id, record_id, result, state)
                       VALUES (%s, %s, %s, %s, '[]', 'submitted')""",
                    (
                        annotation_version.ls_annotation_id,
                        PROJECT,
                        annotation_version.ls_task_id,
                        annotation_version.record_id,
                    ),
                )
            for run_no, (gold, f1) in enumerate([(40, 0.5), (140, 0.7)], start=1):
                version = f"ner-{tag}-{run_no}"
                metrics = {
                    "new": {
                        "f1": f1,
                        "precision": f1,
                        "recall": f1,
                        "per_label": {"PERSON": {"f1": f1 + 0.1, "precision": 1, "recall": 1, "support": 9}},
                    },
                    "current": {"f1": f1 - 0.1} if run_no > 1 else None,
                }
                cur.execute(
                    """INSERT INTO model_versions (version, status, metrics, exporter_mode)
                       VALUES (%s, %s, %s, 'modern')""",
                    (version, "serving" if run_no == 2 else "retired", json.dumps(metrics)),
                )
                counts = {"gold": gold, "train": int(gold * 0.8), "dev": gold // 10, "test": gold // 10}
                cur.execute(
                    """INSERT INTO training_runs (model_version, status, counts, detail, finished_at)
                       VALUES (%s, 'succeeded', %s, %s, now())""",
                    (version, json.dumps(counts), json.dumps({"promoted": True, "gate": f"F1 {f1}"})),
                )
    return Seeded(records, records[2].id, versions[0].id, task_ids)

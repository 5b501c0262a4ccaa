"""Builders of Label Studio webhook payloads shaped as LS 1.23 sends them (see shared notes)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from include.adapters.db import repository as repo
from include.adapters.db.connection import transaction

TEXT = "Alice Smith paid $120.50 to Acme Corp on March 1, 2024. Call (415) 555-0132 or bob@acme.com."
PROJECT = {"id": 7, "title": "NER", "token": "secret-project-token-123", "created_by": {"id": 1}}
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def make_record(conn, text: str = TEXT, key: str = "para=1", data: bytes = b"doc") -> repo.Record:
    with transaction(conn):
        doc = repo.add_document(
            conn,
            sha256=hashlib.sha256(data).hexdigest(),
            uri="s3://inbox/docs/a.txt",
            s3_key="docs/a.txt",
            doc_type="text",
            size_bytes=len(data),
        )
        (record,) = repo.add_records(conn, doc.id, [repo.NewRecord(record_key=key, text=text)])
    return record


def task_of(record: repo.Record, sha256: str, task_id: int = 100, text: str | None = None) -> dict[str, Any]:
    return {
        "id": task_id,
        "data": {
            "text": text if text is not None else record.text,
            "document_sha256": sha256,
            "record_key": record.record_key,
            "source_uri": "s3://inbox/docs/a.txt",
        },
        "project": PROJECT["id"],
        "created_at": T0.isoformat(),
        "is_labeled": True,
    }


def label_span(text: str, needle: str, label: str) -> dict[str, Any]:
    """An LS `labels` result item for the first occurrence of `needle` in `text`."""
    start = text.index(needle)
    return {
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "value": {"start": start, "end": start + len(needle), "text": needle, "labels": [label]},
    }


def span(text: str, needle: str, label: str, *, rid: str = "r1") -> dict[str, Any]:
    start = text.index(needle)
    return {
        "id": rid,
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "origin": "manual",
        "value": {"start": start, "end": start + len(needle), "text": needle, "labels": [label]},
    }


def annotation(
    ann_id: int,
    task: dict[str, Any],
    result: list[dict[str, Any]],
    *,
    minutes: int = 0,
    cancelled: bool = False,
    parent_prediction: int | None = None,
) -> dict[str, Any]:
    when = (T0 + timedelta(minutes=minutes)).isoformat()
    return {
        "id": ann_id,
        "task": task["id"],
        "project": PROJECT["id"],
        "result": result,
        "completed_by": 1,
        "lead_time": 12.5,
        "created_at": T0.isoformat(),
        "updated_at": when,
        "was_cancelled": cancelled,
        "ground_truth": False,
        "parent_prediction": parent_prediction,
        "result_count": len(result),
    }


def annotation_event(action: str, ann: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    return {"action": action, "annotation": ann, "task": task, "project": PROJECT}

"""Label Studio 1.23 bulk events of any size, shaped as LS sends them (TaskWebhookSerializer: every Task
column, no predictions; ProjectWebhookSerializer: every Project column, its token included)."""

from __future__ import annotations

import hashlib
from typing import Any

from include.adapters.db.common import Connection

PROJECT_ID = 7
SHA = hashlib.sha256(b"bulk-document").hexdigest()
CREATED = "2026-01-01T12:00:00.000000Z"
# About the length of a paragraph record: a 1,000-task event is ~680 KB, as measured from LS 1.23.2.
TEXT = (
    "Invoice 4471 from Acme Corp to Globex Ltd, issued on March 1, 2024 by Alice Smith (alice@acme.com, "
    "+1 415 555 0132): 12 units of part X-100 at $120.50 each, payable within 30 days to account "
    "GB82 WEST 1234 5698 7654 32. Late payments accrue 2% a month. "
)


def project(**extra: Any) -> dict[str, Any]:
    """The project object LS puts in every webhook (a subset of its columns, its token included)."""
    return {
        "id": PROJECT_ID,
        "title": "NER",
        "token": "a1b2c3d4e5f6-project-token",
        "label_config": '<View><Labels name="label" toName="text"><Label value="PERSON"/></Labels>'
        '<Text name="text" value="$text"/></View>',
        "created_by": 1,
        "organization": 1,
        "task_number": 0,
        **extra,
    }


def task(task_id: int, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": task_id,
        "data": data,
        "meta": {},
        "created_at": CREATED,
        "updated_at": CREATED,
        "is_labeled": False,
        "overlap": 1,
        "inner_id": task_id,
        "total_annotations": 0,
        "cancelled_annotations": 0,
        "total_predictions": 0,
        "comment_count": 0,
        "unresolved_comment_count": 0,
        "last_comment_updated_at": None,
        "project": PROJECT_ID,
        "updated_by": None,
        "file_upload": 3,
        "comment_authors": [],
        "allow_skip": True,
        "precomputed_agreement": None,
    }


def record_key(i: int) -> str:
    return f"para={i}"


def pipeline_task(task_id: int, i: int) -> dict[str, Any]:
    """A task the prelabel import made for record `i` of the bulk document."""
    return task(
        task_id,
        {
            "text": TEXT,
            "document_sha256": SHA,
            "record_key": record_key(i),
            "model_version": "ner-bulk-1",
            "source_uri": "s3://inbox/docs/bulk.pdf",
            "doc_type": "pdf",
            "para": i,
            "page_images": [],
        },
    )


def tasks_created(tasks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"action": "TASKS_CREATED", "tasks": tasks, "project": project()}


def seed_records(conn: Connection, n: int) -> None:
    """The bulk document and its records para=0..n-1, in one statement each (committed)."""
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO documents (sha256, uri, doc_type, size_bytes, status)
               VALUES (%s, 's3://inbox/docs/bulk.pdf', 'pdf', 1, 'prelabeled') RETURNING id""",
            (SHA,),
        )
        doc_id = cur.fetchone()[0]
        cur.execute(
            """INSERT INTO records (document_id, record_key, text)
               SELECT %s, 'para=' || i, %s FROM generate_series(0, %s - 1) AS i""",
            (doc_id, TEXT, n),
        )
    conn.commit()

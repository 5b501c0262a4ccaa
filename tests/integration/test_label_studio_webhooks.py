"""A real Label Studio sends its real webhooks to the shim under gunicorn; the rows they leave behind."""

from __future__ import annotations

import hashlib

import pytest

from include.adapters.db import repository as repo
from include.adapters.db.connection import transaction
from include.adapters.label_studio import client as ls_client
from tests.integration.ls_payloads import label_span

pytestmark = pytest.mark.e2e

TEXTS = [
    "Alice Smith joined Acme Corp in Paris on March 1, 2024.",
    "Call Bob Jones at (415) 555-0132 about the $1,200 invoice.",
    "Globex Ltd moved to Berlin.",
]


def test_real_label_studio_webhooks_become_versions_with_lineage(label_studio, shim_server, db) -> None:
    data = b"three records"
    sha = hashlib.sha256(data).hexdigest()
    with transaction(db):
        doc = repo.add_document(
            db, sha256=sha, uri="file:///inbox/notes.txt", doc_type="text", size_bytes=len(data)
        )
        records = repo.add_records(
            db, doc.id, [repo.NewRecord(record_key=f"para={i + 1}", text=t) for i, t in enumerate(TEXTS)]
        )
    ls = ls_client.connect(label_studio.url, label_studio.token)
    project_id = ls_client.ensure_project(ls, "webhook-test")
    assert ls_client.ensure_project(ls, "webhook-test") == project_id
    headers = {"X-Webhook-Secret": shim_server.secret}
    hook = ls_client.ensure_webhook(ls, project_id, shim_server.webhook_url, headers)
    assert ls_client.ensure_webhook(ls, project_id, shim_server.webhook_url, headers) == hook

    tasks = [
        {
            "data": {
                "text": r.text,
                "document_sha256": sha,
                "record_key": r.record_key,
                "model_version": "ner-test-1",
            },
            "predictions": [
                {
                    "model_version": "ner-test-1",
                    "score": 0.5,
                    "result": [label_span(r.text, r.text.split()[0], "PERSON")],
                }
            ],
        }
        for r in records
    ]
    task_ids = ls_client.import_tasks(ls, project_id, tasks, chunk_size=2)
    # TASKS_CREATED linked every record to its LS task.
    for record, task_id in zip(records, task_ids, strict=True):
        linked = repo.record_for_ls_task(db, ls_project_id=project_id, ls_task_id=task_id)
        assert linked is not None and linked.id == record.id
    db.commit()

    # Task 1: accept the prediction, then correct it (update).
    prediction_id = ls.tasks.get(task_ids[0]).predictions[0].id
    accepted = ls.annotations.create(
        id=task_ids[0],
        result=[label_span(TEXTS[0], "Alice", "PERSON")],
        parent_prediction=prediction_id,
        lead_time=4.2,
    )
    ls.annotations.update(
        id=accepted.id,
        result=[
            label_span(TEXTS[0], "Alice Smith", "PERSON"),
            label_span(TEXTS[0], "Acme Corp", "ORG"),
            label_span(TEXTS[0], "March 1, 2024", "DATE"),
        ],
    )
    # Task 2: skipped. Task 3: annotated, then deleted.
    ls.annotations.create(id=task_ids[1], result=[], was_cancelled=True)
    doomed = ls.annotations.create(id=task_ids[2], result=[label_span(TEXTS[2], "Globex Ltd", "ORG")])
    ls.annotations.delete(id=doomed.id)
    ls.tasks.delete(str(task_ids[1]))

    with db.cursor() as cur:
        cur.execute(
            """SELECT r.record_key, v.version, v.source, v.was_cancelled, v.ls_annotation_id
               FROM record_versions v JOIN records r ON r.id = v.record_id ORDER BY r.record_key, v.version"""
        )
        rows = cur.fetchall()
        cur.execute("SELECT action, outcome FROM webhook_events ORDER BY id")
        events = cur.fetchall()
    db.commit()
    assert rows == [
        ("para=1", 1, "annotation", False, accepted.id),
        ("para=1", 2, "annotation", False, accepted.id),
        ("para=2", 1, "annotation", True, rows[2][4]),
        ("para=3", 1, "annotation", False, doomed.id),
        ("para=3", 2, "tombstone", False, doomed.id),
    ]
    actions = [a for a, _ in events]
    for expected in (
        "TASKS_CREATED",
        "ANNOTATION_CREATED",
        "ANNOTATION_UPDATED",
        "ANNOTATIONS_DELETED",
        "TASKS_DELETED",
    ):
        assert expected in actions
    assert all(outcome != "unmatched" for _, outcome in events), events

    (gold,) = [c for c in repo.latest_human_versions(db) if c.is_gold]
    assert gold.record_key == "para=1"
    assert [(s["label"], s["text"]) for s in gold.spans] == [
        ("PERSON", "Alice Smith"),
        ("ORG", "Acme Corp"),
        ("DATE", "March 1, 2024"),
    ]
    lineage = repo.record_version_lineage(db, gold.record_version_id)
    assert lineage.model_version == "ner-test-1"
    assert (lineage.ls_project_id, lineage.ls_task_id, lineage.ls_annotation_id) == (
        project_id,
        task_ids[0],
        accepted.id,
    )
    assert lineage.document_sha256 == sha and lineage.completed_by is not None
    assert repo.record_for_ls_task(db, ls_project_id=project_id, ls_task_id=task_ids[1]) is None

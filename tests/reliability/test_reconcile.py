"""Reconciliation against a real Label Studio: what no webhook delivered is appended, once, with lineage."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import timedelta

import pytest

from include.adapters.db import repository as repo
from include.adapters.db.connection import transaction
from include.adapters.label_studio import client as ls_client
from include.workflows.reconcile import ReconcileConfig, reconcile_project
from tests.helpers.versions import versions_of
from tests.integration.ls_payloads import label_span

pytestmark = pytest.mark.e2e

TEXTS = [
    "Alice Smith joined Acme Corp in Paris.",
    "Bob Jones paid $1,200 to Globex Ltd.",
    "Carol White moved to Berlin.",
    "Dan Brown called Initech.",
]


def test_reconcile_appends_tombstones_links_once(label_studio, db, caplog) -> None:
    data = uuid.uuid4().bytes
    sha = hashlib.sha256(data).hexdigest()
    with transaction(db):
        doc = repo.add_document(db, sha256=sha, uri="file:///inbox/r.txt", doc_type="text", size_bytes=16)
        records = repo.add_records(
            db, doc.id, [repo.NewRecord(record_key=f"para={i}", text=t) for i, t in enumerate(TEXTS)]
        )
    ls = ls_client.connect(label_studio.url, label_studio.token)
    project_id = ls_client.ensure_project(ls, f"reconcile-{uuid.uuid4().hex[:6]}")
    tasks = [
        {
            "data": {"text": t, "document_sha256": sha, "record_key": f"para={i}"},
            "predictions": [{"model_version": "ner-test-1", "result": []}],
        }
        for i, t in enumerate(TEXTS)
    ] + [{"data": {"text": "A task no record stands behind."}}]
    task_ids = ls_client.import_tasks(ls, project_id, tasks)
    kept = ls.annotations.create(id=task_ids[0], result=[label_span(TEXTS[0], "Alice Smith", "PERSON")])
    doomed = ls.annotations.create(id=task_ids[1], result=[label_span(TEXTS[1], "Bob Jones", "PERSON")])
    on_deleted_task = ls.annotations.create(
        id=task_ids[2], result=[label_span(TEXTS[2], "Berlin", "LOCATION")]
    )
    skipped = ls.annotations.create(id=task_ids[3], result=[], was_cancelled=True)
    cfg = ReconcileConfig.from_settings(overlap=timedelta(0))

    with caplog.at_level(logging.WARNING, logger="include.workflows.reconcile"):
        first = reconcile_project(db, ls, project_id, cfg)
    assert first.full and not first.webhook.ok
    assert "no active webhook" in caplog.text
    assert (first.tasks_seen, first.seen, first.appended, first.linked) == (5, 4, 4, 4)
    for record, task_id in zip(records, task_ids, strict=False):
        assert repo.record_for_ls_task(db, ls_project_id=project_id, ls_task_id=task_id).id == record.id
    assert versions_of(db, kept.id) == [("annotation", "reconcile")]
    (gold,) = [c for c in repo.latest_human_versions(db) if c.is_gold and c.record_id == records[0].id]
    lineage = repo.record_version_lineage(db, gold.record_version_id)
    assert (lineage.ls_project_id, lineage.ls_task_id, lineage.ls_annotation_id) == (
        project_id,
        task_ids[0],
        kept.id,
    )
    assert lineage.model_version == "ner-test-1" and lineage.document_sha256 == sha
    db.commit()

    second = reconcile_project(db, ls, project_id, cfg)
    assert second.nothing_to_do and not second.full and second.already_present == 4
    assert second.tasks_fetched == 1, "only the task no record stands behind is fetched again"

    ls.annotations.update(id=kept.id, result=[label_span(TEXTS[0], "Acme Corp", "ORG")])
    ls.annotations.delete(id=doomed.id)
    ls.tasks.delete(str(task_ids[2]))
    ls_client.ensure_webhook(ls, project_id, "http://127.0.0.1:9/webhooks/label-studio", {})
    third = reconcile_project(db, ls, project_id, cfg)
    assert (third.appended, third.tombstoned, third.unlinked, third.linked) == (1, 1, 1, 0)
    assert third.webhook.ok
    assert versions_of(db, kept.id) == [("annotation", "reconcile")] * 2
    assert versions_of(db, doomed.id) == [("annotation", "reconcile"), ("tombstone", "reconcile")]
    # A deleted task loses its link, as with the shim's TASKS_DELETED; its annotation is not tombstoned.
    assert versions_of(db, on_deleted_task.id) == [("annotation", "reconcile")]
    assert repo.record_for_ls_task(db, ls_project_id=project_id, ls_task_id=task_ids[2]) is None
    assert versions_of(db, skipped.id) == [("annotation", "reconcile")]
    db.commit()

    fourth = reconcile_project(db, ls, project_id, ReconcileConfig.from_settings(full=True))
    assert fourth.full and fourth.nothing_to_do and fourth.already_present == 2


def test_task_imported_by_hand_in_label_studio_becomes_a_record_version(label_studio, db) -> None:
    ls = ls_client.connect(label_studio.url, label_studio.token)
    project_id = ls_client.ensure_project(ls, f"born-{uuid.uuid4().hex[:6]}")
    text = "Erin Gray visited Initech in Oslo."
    (task_id,) = ls_client.import_tasks(ls, project_id, [{"data": {"text": text}}])
    done = ls.annotations.create(id=task_id, result=[label_span(text, "Erin Gray", "PERSON")])

    report = reconcile_project(db, ls, project_id, ReconcileConfig.from_settings(full=True))
    assert report.appended == 1 and report.unmatched == 0
    record = repo.record_for_ls_task(db, ls_project_id=project_id, ls_task_id=task_id)
    assert record is not None and record.text == text
    (gold,) = [c for c in repo.latest_human_versions(db) if c.record_id == record.id]
    assert gold.is_gold and [s["text"] for s in gold.spans] == ["Erin Gray"]
    lineage = repo.record_version_lineage(db, gold.record_version_id)
    assert lineage.document_uri == f"ls://{project_id}/{task_id}"
    assert (lineage.ls_task_id, lineage.ls_annotation_id) == (task_id, done.id)
    db.commit()
    again = reconcile_project(db, ls, project_id, ReconcileConfig.from_settings(full=True))
    assert again.nothing_to_do and again.already_present == 1

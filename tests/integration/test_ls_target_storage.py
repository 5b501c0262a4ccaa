"""Label Studio target storage with the real LS (and a moto S3 server): LS writes each submitted task to the
copy, and reconcile reads that copy when the LS API is unreachable, says so, and stores each missed
annotation once."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import boto3
import pytest

from include.adapters.db import repository as repo
from include.adapters.db.connection import transaction
from include.adapters.label_studio import client as ls_client
from include.adapters.label_studio.storage import S3Access
from include.adapters.label_studio.target_storage import ensure_target_storage, read_target_tasks
from include.adapters.objectstore import ObjectStore
from include.workflows.reconcile import (
    LabelStudioUnreachable,
    ReconcileConfig,
    reconcile_project,
    resolve_project,
)
from tests.conftest import free_port
from tests.helpers.versions import versions_of
from tests.integration.ls_payloads import label_span

pytestmark = pytest.mark.e2e

TEXTS = [
    "Alice Smith joined Acme Corp in Paris.",
    "Bob Jones paid Globex Ltd.",
    "Carol White moved to Berlin.",
]


def seed(db, ls, title: str) -> tuple[int, list[int], str]:
    """A document with one record per text, and an LS project with one task per record."""
    sha = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    with transaction(db):
        doc = repo.add_document(db, sha256=sha, uri="file:///inbox/t.txt", doc_type="text", size_bytes=64)
        repo.add_records(
            db, doc.id, [repo.NewRecord(record_key=f"para={i}", text=t) for i, t in enumerate(TEXTS)]
        )
    project_id = ls_client.ensure_project(ls, title)
    tasks = [
        {
            "data": {"text": t, "document_sha256": sha, "record_key": f"para={i}"},
            "predictions": [{"model_version": "ner-test-1", "result": []}],
        }
        for i, t in enumerate(TEXTS)
    ]
    return project_id, ls_client.import_tasks(ls, project_id, tasks), sha


def unreachable_ls(token: str):
    """A client for a port nothing listens on: every call is refused."""
    return ls_client.connect(f"http://127.0.0.1:{free_port()}", token, timeout_s=5)


def test_local_copy_is_written_by_ls_and_read_when_the_api_is_down(label_studio, db) -> None:
    ls = ls_client.connect(label_studio.url, label_studio.token)
    title = f"target-{uuid.uuid4().hex[:6]}"
    project_id, task_ids, _ = seed(db, ls, title)
    folder = Path(label_studio.document_root) / f"target-{uuid.uuid4().hex[:6]}"
    storage_id = ensure_target_storage(ls, project_id, folder.as_uri())
    assert ensure_target_storage(ls, project_id, str(folder)) == storage_id, "idempotent"

    kept = ls.annotations.create(id=task_ids[0], result=[label_span(TEXTS[0], "Alice Smith", "PERSON")])
    survivor = ls.annotations.create(id=task_ids[1], result=[label_span(TEXTS[1], "Bob Jones", "PERSON")])
    doomed = ls.annotations.create(id=task_ids[1], result=[label_span(TEXTS[1], "Globex Ltd", "ORG")])
    # One object per annotated task, the whole task with its annotations.
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{t}.json" for t in task_ids[:2])
    stored = json.loads((folder / f"{task_ids[1]}.json").read_text())
    assert [a["id"] for a in stored["annotations"]] == [survivor.id, doomed.id]
    copy = {t["id"]: t for t in read_target_tasks(folder.as_uri(), ObjectStore())}
    assert (
        copy[task_ids[1]]["annotations"][0]["completed_by"] == stored["annotations"][0]["completed_by"]["id"]
    )
    assert copy[task_ids[0]]["predictions"][0]["model_version"] == "ner-test-1"

    cfg = ReconcileConfig.from_settings(overlap=timedelta(0), target_storage_uri=folder.as_uri())
    first = reconcile_project(db, ls, project_id, cfg)
    assert first.source == "label_studio_api" and (first.appended, first.linked) == (3, 3)

    # While the webhooks are lost: a new annotation, an update, two deletions.
    missed = ls.annotations.create(id=task_ids[2], result=[label_span(TEXTS[2], "Carol White", "PERSON")])
    ls.annotations.delete(id=doomed.id)  # LS deletes task 1's object ...
    assert not (folder / f"{task_ids[1]}.json").exists()
    ls.annotations.update(id=survivor.id, result=[label_span(TEXTS[1], "Bob", "PERSON")])
    assert (folder / f"{task_ids[1]}.json").exists(), "... and writes it again at the task's next save"
    ls.annotations.delete(id=kept.id)  # task 0 has no object left: the copy cannot tell why
    assert not (folder / f"{task_ids[0]}.json").exists()

    dead = unreachable_ls(label_studio.token)
    assert resolve_project(dead, title, cfg) == project_id
    with pytest.raises(LabelStudioUnreachable, match="no target storage configured"):
        reconcile_project(db, dead, project_id, replace(cfg, target_storage_uri=None))

    second = reconcile_project(db, dead, project_id, cfg)
    assert second.source == "target_storage" and "unreachable" in (second.source_detail or "")
    assert (second.appended, second.tombstoned, second.unlinked) == (2, 1, 0)
    assert (second.not_checked_annotations, second.not_checked_links) == (1, 1)
    assert second.as_json()["source"] == "target_storage"
    assert versions_of(db, missed.id) == [("annotation", "reconcile")]
    assert versions_of(db, survivor.id) == [("annotation", "reconcile")] * 2
    assert versions_of(db, doomed.id) == [("annotation", "reconcile"), ("tombstone", "reconcile")]
    assert versions_of(db, kept.id) == [("annotation", "reconcile")], "not tombstoned from the copy"

    third = reconcile_project(db, dead, project_id, cfg)
    assert third.source == "target_storage" and third.nothing_to_do and third.already_present == 2

    # Back on the API, reconcile sees what the copy could not: the deleted annotation of task 0.
    back = reconcile_project(db, ls, project_id, replace(cfg, full=True))
    assert back.source == "label_studio_api" and (back.appended, back.tombstoned) == (0, 1)
    assert versions_of(db, kept.id) == [("annotation", "reconcile"), ("tombstone", "reconcile")]


def test_s3_copy_is_written_by_ls_and_read_when_the_api_is_down(label_studio, moto_endpoint, db) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    bucket = f"target-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    uri = f"s3://{bucket}/ls/annotations"
    ls = ls_client.connect(label_studio.url, label_studio.token)
    project_id, task_ids, _ = seed(db, ls, f"target-s3-{uuid.uuid4().hex[:6]}")
    before = ls.annotations.create(id=task_ids[0], result=[label_span(TEXTS[0], "Alice Smith", "PERSON")])
    access = S3Access(
        endpoint_url=moto_endpoint, region="us-east-1", access_key_id="testing", secret_access_key="testing"
    )
    storage_id = ensure_target_storage(ls, project_id, uri, s3=access)
    assert ensure_target_storage(ls, project_id, uri + "/", s3=access) == storage_id, "idempotent"

    def keys() -> list[str]:
        return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))

    assert keys() == [f"ls/annotations/{task_ids[0]}.json"], "the first sync writes earlier annotations"
    after = ls.annotations.create(id=task_ids[1], result=[label_span(TEXTS[1], "Bob Jones", "PERSON")])
    assert keys() == sorted(f"ls/annotations/{t}.json" for t in task_ids[:2])

    cfg = ReconcileConfig.from_settings(target_storage_uri=uri)
    dead = unreachable_ls(label_studio.token)
    first = reconcile_project(db, dead, project_id, cfg, ObjectStore(client=s3))
    assert first.source == "target_storage" and (first.appended, first.linked) == (2, 2)
    assert versions_of(db, before.id) == versions_of(db, after.id) == [("annotation", "reconcile")]
    again = reconcile_project(db, dead, project_id, cfg, ObjectStore(client=s3))
    assert again.nothing_to_do and again.already_present == 2

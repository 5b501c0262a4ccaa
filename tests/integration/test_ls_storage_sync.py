"""Label Studio with S3 storage (the seed's flow): a storage sync makes one task per file, the pipeline
takes them in and prelabels them, an SME's submit becomes a record version whose lineage names the S3 key
and sha256 — with the real LS, the real shim, Postgres and a local S3 server (moto on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
import requests

from devstack.samples import sample_documents
from include.adapters.db.connection import transaction
from include.adapters.db.lineage import record_version_lineage
from include.adapters.label_studio import client as ls_client
from include.adapters.label_studio.storage import S3Access, ensure_source_storage, sync_source_storage
from include.adapters.ner.backends import OnnxRuntimeBackend
from include.adapters.ner.client import NerClient
from include.adapters.objectstore import ObjectStore
from include.core.bundle.read import read_bundle
from include.workflows import prelabel
from include.workflows.ingest import ingest_source
from include.workflows.intake.register import take_in
from include.workflows.intake.scan import scan_source_tasks
from include.workflows.reconcile import ReconcileConfig, reconcile_project
from tests.helpers.bundle import tiny_bundle
from tests.integration.ls_payloads import label_span

NOTE = "Jane Smith of Acme Corp signed the Berlin lease on 4 March 2024."


@pytest.fixture(scope="module")
def ner() -> NerClient:
    bundle = tiny_bundle()
    return NerClient(
        bundle, OnnxRuntimeBackend(read_bundle(bundle).model_path, 1), batch_size=16, max_length=128
    )


@pytest.fixture
def s3(moto_s3):
    moto_s3.create_bucket(Bucket="seed-inbox")
    return moto_s3


def _tasks(ls, project_id: int) -> dict[int, dict]:
    return {
        int(t.id): dict(t.data or {})
        for t in ls.tasks.list(project=project_id, fields="task_only", resolve_uri=False)
    }


def _wait_noted(db, project_id: int, n: int) -> list[tuple[int, str]]:
    deadline = time.monotonic() + 30
    while True:
        with db.cursor() as cur:
            cur.execute(
                "SELECT ls_task_id, source_link FROM ls_source_tasks WHERE ls_project_id = %s ORDER BY 1",
                (project_id,),
            )
            rows = cur.fetchall()
        db.commit()
        if len(rows) >= n or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def _prelabel(db, ner, ls, project_id: int, document_ids: list[int], s3) -> prelabel.ImportSummary:
    for document_id in document_ids:
        assert prelabel.extract_records(db, document_id, ObjectStore(client=s3)).status in (
            "extracted",
            "prelabeled",
        )
    prelabel.predict_pending(db, ner, document_ids)
    return prelabel.import_pending(db, ls, project_id, document_ids=document_ids)


def test_storage_sync_tasks_are_prelabeled_once_with_pages_and_lineage(
    label_studio, shim_server, db, ner, s3
) -> None:
    samples = {d.name: d.data for d in sample_documents()}
    s3.put_object(Bucket="seed-inbox", Key="incoming/note.txt", Body=NOTE.encode())
    s3.put_object(Bucket="seed-inbox", Key="incoming/report.pdf", Body=samples["report.pdf"])
    s3.put_object(Bucket="seed-inbox", Key="incoming/invoices.csv", Body=samples["invoices.csv"])
    ls = ls_client.connect(label_studio.url, label_studio.token)
    project_id = ls_client.ensure_project(ls, "storage-sync-test")
    ls_client.ensure_webhook(
        ls, project_id, shim_server.webhook_url, {"X-Webhook-Secret": shim_server.secret}
    )

    # The CSV arrives through the inbox first: ingested and prelabeled by the pipeline as usual.
    inbox_docs = list(ingest_source(db, "s3://seed-inbox/incoming/", ObjectStore(client=s3)))
    csv_doc = next(d for d in inbox_docs if d.uri.endswith("invoices.csv"))
    _prelabel(db, ner, ls, project_id, [csv_doc.document_id], s3)
    csv_tasks = len(_tasks(ls, project_id))
    assert csv_tasks >= 5

    # LS's own storage sync: one task per file, announced to the shim by TASKS_CREATED.
    storage = ensure_source_storage(
        ls, project_id, "s3://seed-inbox/incoming/", files_root=None, s3=S3Access.from_env()
    )
    assert (
        ensure_source_storage(ls, project_id, "s3://seed-inbox/incoming/", files_root=None).id == storage.id
    )
    sync_source_storage(ls, storage)
    noted = _wait_noted(db, project_id, 3)
    links = sorted(link for _, link in noted)
    assert links == [f"s3://seed-inbox/incoming/{n}" for n in ("invoices.csv", "note.txt", "report.pdf")]
    assert scan_source_tasks(db, ls, project_id) == 0  # the webhook already noted every one
    # A TASKS_CREATED the shim never got (LS does not retry): the reconcile run notes the task again.
    with db.cursor() as cur:
        cur.execute("DELETE FROM ls_source_tasks WHERE source_link LIKE %s", ("%note.txt",))
    db.commit()
    missed = reconcile_project(db, ls, project_id, ReconcileConfig.from_settings(full=True))
    assert missed.storage_tasks_noted == 1
    assert len(_wait_noted(db, project_id, 3)) == 3

    intake = take_in(
        db,
        ls,
        project_id,
        inbox_uri="s3://seed-inbox/incoming/",
        files_root=None,
        store=ObjectStore(client=s3),
    )
    assert intake.registered == 3 and intake.new_documents == 0 and not intake.failed  # all three ingested
    summary = _prelabel(db, ner, ls, project_id, intake.document_ids, s3)
    assert summary.in_place == 1
    assert summary.source_tasks == {"split": 1, "duplicate": 1}

    tasks = _tasks(ls, project_id)
    by_link = {link: task_id for task_id, link in noted}
    note_task = tasks[by_link["s3://seed-inbox/incoming/note.txt"]]
    assert note_task["text"] == NOTE and note_task["nerloop_state"] == "in_place"
    note_sha = hashlib.sha256(NOTE.encode()).hexdigest()
    assert note_task["document_sha256"] == note_sha and note_task["page_images"] == []
    predictions = ls.tasks.get(str(by_link["s3://seed-inbox/incoming/note.txt"])).predictions
    assert len(predictions) == 1 and predictions[0].model_version == ner.model_version

    pdf_task = tasks[by_link["s3://seed-inbox/incoming/report.pdf"]]
    assert pdf_task["nerloop_state"] == "split" and pdf_task["split_into"]
    assert pdf_task["text"] == "s3://seed-inbox/incoming/report.pdf", "the file's link stays as LS made it"
    csv_task = tasks[by_link["s3://seed-inbox/incoming/invoices.csv"]]
    assert csv_task["nerloop_state"] == "duplicate" and len(csv_task["split_into"]) == csv_tasks
    pdf_rows = [tasks[t] for t in pdf_task["split_into"]]
    assert all(d["source"] == "s3://seed-inbox/incoming/report.pdf" for d in pdf_rows)
    pdf_sha = pdf_rows[0]["document_sha256"]
    page = f"s3://seed-inbox/incoming/.nerloop/pages/{pdf_sha}/page-1.png"
    assert any(d["page_images"] == [page] for d in pdf_rows)

    # LS serves the page through its storage (a presigned URL to the bucket): real PNG bytes.
    shown = ls.tasks.get(str(pdf_task["split_into"][0]))
    resolved = (shown.data or {})["page_images"][0]
    assert resolved.startswith(("/tasks/", "http")) and "fileuri=" in resolved
    png = requests.get(
        resolved if resolved.startswith("http") else label_studio.url + resolved,
        headers={"Authorization": f"Token {label_studio.token}"},
        timeout=30,
    )
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"

    # The same file again in the inbox (another key), then another sync and intake: nothing new.
    s3.put_object(Bucket="seed-inbox", Key="incoming/report-copy.pdf", Body=samples["report.pdf"])
    before = _tasks(ls, project_id)
    docs = list(ingest_source(db, "s3://seed-inbox/incoming/", ObjectStore(client=s3)))
    assert not any(d.created for d in docs)
    sync_source_storage(ls, storage)
    _wait_noted(db, project_id, 4)
    again = take_in(
        db,
        ls,
        project_id,
        inbox_uri="s3://seed-inbox/incoming/",
        files_root=None,
        store=ObjectStore(client=s3),
    )
    assert again.registered == 1 and again.new_documents == 0
    settled = _prelabel(db, ner, ls, project_id, again.document_ids, s3)
    assert settled.imported == 0 and settled.source_tasks == {"duplicate": 1}
    after = _tasks(ls, project_id)
    assert len(after) == len(before) + 1  # only LS's own task for the copy, marked a duplicate
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM documents WHERE sha256 = %s", (pdf_sha,))
        assert cur.fetchone()[0] == 1
    db.commit()

    # An SME corrects the note in LS and submits: a record version whose lineage names the S3 key.
    ls.annotations.create(
        id=by_link["s3://seed-inbox/incoming/note.txt"],
        result=[label_span(NOTE, "Jane Smith", "PERSON"), label_span(NOTE, "Acme Corp", "ORG")],
    )
    with db.cursor() as cur:
        cur.execute(
            """SELECT v.id FROM record_versions v JOIN records r ON r.id = v.record_id
               JOIN documents d ON d.id = r.document_id
               WHERE d.sha256 = %s AND v.source = 'annotation'""",
            (note_sha,),
        )
        (version_id,) = cur.fetchone()
    db.commit()
    with transaction(db):
        lineage = record_version_lineage(db, version_id)
    assert lineage.document_s3_key == "incoming/note.txt" and lineage.document_sha256 == note_sha
    assert lineage.ls_task_id == by_link["s3://seed-inbox/incoming/note.txt"]
    assert lineage.model_version == ner.model_version


def test_a_link_the_pipeline_cannot_read_fails_the_task_with_its_reason(
    db, label_studio, tmp_path: Path
) -> None:
    from include.adapters.db import source_tasks

    with transaction(db):
        source_tasks.note_source_tasks(db, 424242, [(1, "/data/local-files/?d=inbox/a.txt")])
    ls = ls_client.connect(label_studio.url, label_studio.token)
    inbox = (tmp_path / "inbox").as_uri()
    summary = take_in(db, ls, 424242, inbox_uri=inbox, files_root=None)
    assert summary.registered == 0 and len(summary.failed) == 1
    assert "LABEL_STUDIO_FILES_ROOT" in summary.failed[0]["error"]
    missing = take_in(db, ls, 424242, inbox_uri=inbox, files_root=tmp_path)
    assert missing.registered == 0  # already settled as failed: not retried


def test_a_worker_dying_mid_in_place_prelabel_leaves_one_task_no_duplicate_prediction(
    label_studio, db, ner, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = label_studio.document_root / "crash-inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / "note.txt").write_text(NOTE)
    ls = ls_client.connect(label_studio.url, label_studio.token)
    project_id = ls_client.ensure_project(ls, "storage-crash-test")
    storage = ensure_source_storage(ls, project_id, inbox.as_uri(), files_root=label_studio.document_root)
    sync_source_storage(ls, storage)
    intake = take_in(
        db, ls, project_id, inbox_uri=inbox.as_uri(), files_root=label_studio.document_root, scan=True
    )
    assert intake.noted == 1  # no webhook here: the scan finds the task
    (task_id,) = _tasks(ls, project_id)
    assert prelabel.extract_records(db, intake.document_ids[0]).status == "extracted"
    prelabel.predict_pending(db, ner, intake.document_ids)

    def dies(*args, **kwargs):
        raise ConnectionError("worker lost")  # after the task's data was written, before its prediction

    monkeypatch.setattr(ls_client, "import_predictions", dies)
    with pytest.raises(ConnectionError):
        prelabel.import_pending(db, ls, project_id, document_ids=intake.document_ids)
    monkeypatch.undo()
    rerun = prelabel.import_pending(db, ls, project_id, document_ids=intake.document_ids)
    assert rerun.relinked == 1 and rerun.imported == 0 and rerun.source_tasks == {"in_place": 1}
    assert list(_tasks(ls, project_id)) == [task_id]
    data = _tasks(ls, project_id)[task_id]
    assert data["text"] == NOTE and data["nerloop_state"] == "in_place"
    assert len(ls.tasks.get(str(task_id)).predictions or []) == 0  # text without prediction, never two

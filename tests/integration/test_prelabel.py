"""Prelabel against real parts: samples → documents → records → ONNX Runtime NER → real Label Studio,
through the steps the prelabel DAG's operators call (extract_records, predict_pending, import_pending).

The model is a tiny bundle with an UNTRAINED head (tests/helpers/bundle.py): spans are meaningless but
real, which is what the mechanics (offsets, model_version, idempotent import) need.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.samples import write_samples
from include.adapters.db.connection import transaction
from include.adapters.label_studio import client as ls_client
from include.adapters.ner.backends import OnnxRuntimeBackend
from include.adapters.ner.client import NerClient
from include.core.bundle.read import read_bundle
from include.workflows import prelabel
from include.workflows.ingest import ingest_source
from tests.helpers.bundle import tiny_bundle

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ner() -> NerClient:
    bundle = tiny_bundle()
    return NerClient(
        bundle, OnnxRuntimeBackend(read_bundle(bundle).model_path, 1), batch_size=16, max_length=128
    )


def _metric(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def _ls_tasks(ls, project_id: int) -> list:
    return list(ls.tasks.list(project=project_id, fields="all"))


def test_samples_are_prelabeled_once_with_exact_offsets_and_bad_files_fail_alone(
    db, label_studio, ner, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    write_samples(inbox)
    (inbox / "empty.csv").write_bytes(b"")
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<>> endobj\n% truncated")
    (inbox / "fake.xlsx").write_bytes(b"this is not a workbook")
    docs = list(ingest_source(db, inbox.as_uri()))
    again = list(ingest_source(db, inbox.as_uri()))
    assert len(docs) == len(again) and not any(d.created for d in again)

    outcomes = [prelabel.extract_records(db, d.document_id) for d in docs]
    failed = {o.uri.rsplit("/", 1)[-1]: o.error for o in outcomes if o.status == "failed"}
    assert set(failed) == {"empty.csv", "broken.pdf", "fake.xlsx"}
    assert all(name in (error or "") for name, error in failed.items())
    extracted = [o for o in outcomes if o.status == "extracted"]
    assert len(extracted) >= 6 and all(o.records > 0 for o in extracted)

    ls = ls_client.connect(label_studio.url, label_studio.token)
    project_id = ls_client.ensure_project(ls, "prelabel-test")
    imported_before = _metric("prelabel_records_total", stage="imported")
    _, spans = prelabel.predict_pending(db, ner)
    summary = prelabel.import_pending(db, ls, project_id, chunk_size=10)
    assert summary.imported == summary.records > 0
    assert _metric("prelabel_records_total", stage="imported") - imported_before == summary.imported
    tasks = _ls_tasks(ls, project_id)
    assert len(tasks) == summary.imported
    spans_seen = 0
    for task in tasks:
        (pred,) = task.predictions
        assert pred.model_version == "tiny-0"
        text = task.data["text"]
        for item in pred.result:
            v = item["value"]
            assert text[v["start"] : v["end"]] == v["text"]
            spans_seen += 1
    assert spans_seen == spans > 0

    # A rerun imports nothing new.
    prelabel.predict_pending(db, ner)
    rerun = prelabel.import_pending(db, ls, project_id, chunk_size=10)
    assert rerun.records == 0 and len(_ls_tasks(ls, project_id)) == len(tasks)


def test_crash_after_import_before_link_leaves_no_duplicates_on_rerun(
    db, label_studio, ner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "memo.txt").write_text("Alice Smith met Bob in Paris.\n\nAcme Corp paid $5 on May 2, 2025.\n")
    (doc,) = ingest_source(db, inbox.as_uri())
    prelabel.extract_records(db, doc.document_id)
    ls = ls_client.connect(label_studio.url, label_studio.token)
    project_id = ls_client.ensure_project(ls, "crash-test")
    prelabel.predict_pending(db, ner)

    # The first chunk reaches LS, then the worker dies before linking it (a fault no real part makes
    # on demand, hence the patch).
    def worker_dies(*args: object, **kwargs: object) -> int:
        raise SystemExit("worker killed")

    monkeypatch.setattr(prelabel.documents, "link_ls_tasks", worker_dies)
    with pytest.raises(SystemExit):
        prelabel.import_pending(db, ls, project_id, chunk_size=1)
    monkeypatch.undo()
    assert len(_ls_tasks(ls, project_id)) == 1

    prelabel.predict_pending(db, ner)
    summary = prelabel.import_pending(db, ls, project_id)
    assert summary.relinked == 1 and summary.imported == 1
    keys = sorted(t.data["record_key"] for t in _ls_tasks(ls, project_id))
    assert keys == ["para=1", "para=2"]
    with transaction(db) as cur:
        cur.execute("SELECT count(*) FROM records WHERE ls_task_id IS NOT NULL")
        assert cur.fetchone()[0] == 2

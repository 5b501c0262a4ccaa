"""The intake package without servers: which tasks are storage tasks (note), and how prelabel's import
step hands its records to `around_import` (settle)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from include.adapters.db.documents import PendingRecord
from include.adapters.db.labelling import Prediction
from include.workflows.intake import settle
from include.workflows.intake.note import storage_link, storage_tasks

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_storage_tasks_are_told_from_the_pipelines_own_tasks() -> None:
    assert storage_link({"text": "/data/local-files/?d=inbox/a.txt"}) == "/data/local-files/?d=inbox/a.txt"
    assert storage_link({"$undefined$": "s3://b/k.pdf"}) == "s3://b/k.pdf"
    assert storage_link({"text": "s3://b/k.pdf", "document_sha256": "0" * 64}) is None
    assert storage_link({"text": "s3://b/k.pdf", "nerloop_state": "split"}) is None
    assert storage_link({"text": "Acme hired Jane."}) is None
    assert storage_link({"text": "s3://b/\x00.pdf"}) is None  # Postgres text holds no NUL
    assert storage_link({"text": "s3://b/\ud800.pdf"}) is None  # nor a lone surrogate


def test_storage_tasks_keep_the_task_ids_and_links_of_storage_tasks_only() -> None:
    tasks = [
        (1, {"text": "s3://b/k.pdf\n"}),
        (2, {"text": "Acme hired Jane."}),
        (3, {"$undefined$": "s3://b/x"}),
    ]
    assert storage_tasks(tasks) == [(1, "s3://b/k.pdf"), (3, "s3://b/x")]


def test_the_note_step_loads_no_label_studio_sdk() -> None:
    """The webhook shim notes storage tasks through `include.workflows.intake.note`: importing it stays
    light."""
    code = (
        "import sys, include.workflows.intake.note, webhook_shim.app; "
        "heavy = {'label_studio_sdk', 'include.workflows.ingest'} & set(sys.modules); assert not heavy, heavy"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


def _record(record_id: int, document_id: int) -> tuple[PendingRecord, Prediction]:
    record = PendingRecord(
        record_id=record_id,
        record_key=f"row={record_id}",
        text="Jane Smith joined Acme.",
        meta={},
        document_id=document_id,
        document_sha256="0" * 64,
        document_uri=f"file:///inbox/{document_id}.txt",
        s3_key=None,
        doc_type="text",
    )
    return record, Prediction(spans=[], model_version="m1")


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The steps around the import, recorded instead of run (document 10 has a storage task: task 7)."""
    calls: list[Any] = []
    monkeypatch.setattr(settle, "in_place_documents", lambda conn, project: {10: 7})

    def in_place(conn: Any, ls: Any, project: int, own: Any, task_of: Any, build: Any) -> int:
        calls.append(("in_place", [p.record_id for p, _ in own], task_of))
        return len(own)

    def settle_all(conn: Any, ls: Any, project: int) -> settle.SettleSummary:
        calls.append(("settle", project))
        return settle.SettleSummary(split=2, waiting=1)

    monkeypatch.setattr(settle, "prelabel_in_place", in_place)
    monkeypatch.setattr(settle, "settle_source_tasks", settle_all)
    return calls


def test_around_import_keeps_in_place_records_out_of_the_import_then_settles(steps: list[Any]) -> None:
    work = [_record(1, 10), _record(2, 11), _record(3, 11)]
    with settle.around_import(None, None, 5, work, lambda p, pred: {}) as storage:
        assert [p.record_id for p, _ in storage.records] == [2, 3]
        assert steps == []  # nothing goes in place before the import is done
    assert steps == [("in_place", [1], {10: 7}), ("settle", 5)]
    assert storage.in_place == 1 and storage.settled == {"split": 2, "waiting": 1}


def test_an_import_that_raises_leaves_the_storage_tasks_as_they_were(steps: list[Any]) -> None:
    with (
        pytest.raises(ConnectionError),
        settle.around_import(None, None, 5, [_record(1, 10)], lambda p, pred: {}),
    ):
        raise ConnectionError("LS went away")
    assert steps == []

"""The extraction sandbox (#23): time and memory limits on a real child process, a killed child as a
per-document failure, one worker reused across documents, a failed document never read again."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from include.adapters.extract.sandbox import Sandbox, SandboxError, close_all
from include.core.settings import get_settings
from include.workflows.ingest import ingest_source
from include.workflows.prelabel import extract_records
from tests.security import hostile_files as hostile

GIB = 2**30


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(memory_bytes=2 * GIB)
    yield box
    box.close()


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set EXTRACT_* variables through the returned monkeypatch; fresh workers and settings around."""
    close_all()
    get_settings.cache_clear()
    yield monkeypatch
    close_all()
    monkeypatch.undo()
    get_settings.cache_clear()


def test_one_worker_serves_many_calls(sandbox: Sandbox) -> None:
    first = sandbox.call(hostile.worker_pid, timeout_s=30)
    started = time.perf_counter()
    calls = [sandbox.call(hostile.worker_pid, timeout_s=30) for _ in range(20)]
    per_call = (time.perf_counter() - started) / 20
    assert {c.value for c in calls} == {first.value} != os.getpid()
    assert per_call < 0.02, per_call
    assert all(c.peak_rss_bytes and 5 * 2**20 < c.peak_rss_bytes < 500 * 2**20 for c in calls)


def test_a_call_over_time_is_killed_and_the_next_gets_a_fresh_worker(sandbox: Sandbox) -> None:
    pid = sandbox.call(hostile.worker_pid, timeout_s=30).value
    started = time.perf_counter()
    with pytest.raises(
        SandboxError, match=r"^took longer than 0.5 s \(EXTRACT_TIMEOUT_S\); its process was killed$"
    ):
        sandbox.call(hostile.sleep_then, 30, 1, timeout_s=0.5)
    assert time.perf_counter() - started < 5
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert sandbox.call(hostile.sleep_then, 0, 7, timeout_s=30).value == 7


def test_memory_over_the_limit_is_a_memory_error_and_retires_the_worker(sandbox: Sandbox) -> None:
    pid = sandbox.call(hostile.worker_pid, timeout_s=30).value
    with pytest.raises(MemoryError):
        sandbox.call(hostile.allocate, 3 * GIB, timeout_s=30)
    assert sandbox.call(hostile.worker_pid, timeout_s=30).value != pid
    assert sandbox.call(hostile.allocate, 100 * 2**20, timeout_s=30).value == 100 * 2**20


def test_a_child_that_dies_is_reported_with_its_signal(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError, match=r"^process died \(killed by SIGKILL\)"):
        sandbox.call(hostile.kill_self, timeout_s=30)
    assert sandbox.call(hostile.sleep_then, 0, 3, timeout_s=30).value == 3


def _batch(inbox: Path) -> None:
    inbox.mkdir()
    (inbox / "memo.txt").write_text("Alice Smith met Bob Jones in Paris on 3 March 2024.\n")
    (inbox / "rows.csv").write_text("name,city\nAlice Smith,Paris\nBob Jones,Berlin\n")
    (inbox / "bomb.xlsx").write_bytes(hostile.merged_bomb_xlsx())
    (inbox / "report.pdf").write_bytes(hostile.pdf_pages([(612, 792)]))


def test_a_slow_document_times_out_alone_and_is_not_read_again(db, tmp_path: Path, settings_env) -> None:
    """EXTRACT_TIMEOUT_S=2: the PDF's first extraction in a fresh worker imports Docling (seconds)."""
    settings_env.setenv("EXTRACT_TIMEOUT_S", "2")
    _batch(tmp_path / "inbox")
    docs = {Path(d.uri).name: d for d in ingest_source(db, (tmp_path / "inbox").as_uri())}
    outcomes = {name: extract_records(db, d.document_id) for name, d in docs.items()}
    assert {n: o.status for n, o in outcomes.items()} == {
        "memo.txt": "extracted",
        "rows.csv": "extracted",
        "bomb.xlsx": "failed",
        "report.pdf": "failed",
    }
    assert outcomes["report.pdf"].error == (
        "report.pdf: extraction took longer than 2 s (EXTRACT_TIMEOUT_S); its process was killed"
    )
    assert "EXTRACT_MAX_SHEET_CELLS" in (outcomes["bomb.xlsx"].error or "")
    with db.cursor() as cur:
        cur.execute("SELECT uri, updated_at FROM documents WHERE status = 'failed'")
        failed_at = dict(cur.fetchall())
    db.commit()
    started = time.perf_counter()
    again = {name: extract_records(db, d.document_id) for name, d in docs.items()}
    assert time.perf_counter() - started < 1
    assert {n: (o.status, o.error) for n, o in again.items()} == {
        n: (o.status, o.error) for n, o in outcomes.items()
    }
    with db.cursor() as cur:
        cur.execute("SELECT uri, updated_at FROM documents WHERE status = 'failed'")
        assert dict(cur.fetchall()) == failed_at
    db.commit()


def test_a_worker_out_of_address_space_fails_that_document(db, tmp_path: Path, settings_env) -> None:
    """EXTRACT_MAX_MEMORY_BYTES=1 GiB: torch (Docling imports it) cannot even be mapped; the CSV after
    it gets a fresh worker and reads."""
    settings_env.setenv("EXTRACT_MAX_MEMORY_BYTES", str(GIB))
    _batch(tmp_path / "inbox")
    docs = {Path(d.uri).name: d for d in ingest_source(db, (tmp_path / "inbox").as_uri())}
    pdf = extract_records(db, docs["report.pdf"].document_id)
    assert pdf.status == "failed"
    assert "report.pdf: pdf extraction ran out of memory (EXTRACT_MAX_MEMORY_BYTES is 1.0 GiB" in (
        pdf.error or ""
    )
    assert extract_records(db, docs["rows.csv"].document_id).status == "extracted"


def test_a_worker_killed_mid_document_fails_that_document_only(db, tmp_path: Path, settings_env) -> None:
    """Fault: SIGKILL to the worker while it reads the PDF (the OOM killer's way)."""
    _batch(tmp_path / "inbox")
    docs = {Path(d.uri).name: d for d in ingest_source(db, (tmp_path / "inbox").as_uri())}
    assert extract_records(db, docs["memo.txt"].document_id).status == "extracted"  # the worker is up
    from include.adapters.extract import sandbox as sandbox_module

    (box,) = sandbox_module._SANDBOXES.values()
    assert box._worker is not None
    pid = box._worker.process.pid
    killer = threading.Timer(1.0, os.kill, (pid, signal.SIGKILL))
    killer.start()
    try:
        pdf = extract_records(db, docs["report.pdf"].document_id)
    finally:
        killer.cancel()
    assert pdf.status == "failed"
    assert pdf.error is not None and pdf.error.startswith(
        "report.pdf: extraction process died (killed by SIGKILL) under the memory limit of 6.0 GiB"
    )
    assert extract_records(db, docs["rows.csv"].document_id).status == "extracted"

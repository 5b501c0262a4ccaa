"""tritonserver is SIGKILLed mid-prelabel: the step fails fast naming Triton; a rerun finishes, no duplicates.

Real parts: tritonserver (nvidia-pytriton wheel) serving the tiny bundle through its python backend, Label
Studio, Postgres. The NER client is built from settings with small retries, as a DAG task would build it.
A first batch of documents is prelabeled normally; during the next batch the server (and its python
backend stubs) is killed, while a model call is in flight or between two calls. Then Triton is restarted
and the same prelabel steps (the DAG's predict, then import) are run again.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from devstack.services.triton import TritonServer
from include.adapters.label_studio import client as ls_client
from include.adapters.ner.backends import InferenceBackend
from include.adapters.ner.client import NerClient
from include.adapters.serving.repository import publish_bundle
from include.core.settings import NerSettings
from include.workflows import prelabel
from include.workflows.ingest import ingest_source
from tests.helpers.bundle import tiny_bundle
from tests.helpers.triton import free_port
from tests.reliability.conftest import NAMES, print_figures

pytestmark = pytest.mark.e2e

DOCUMENTS, PARAGRAPHS = 8, 60  # 480 records; the first 2 documents are prelabeled before the fault
FIRST_BATCH = 2
KILL_AT_CALL = 19  # of the second batch: past its first 256-record chunk (16 calls of 16 records)


class KillingBackend:
    """Passes model calls through; on call `kill_at` SIGKILLs the server, `delay_s` into the request (or
    before it is sent when None)."""

    def __init__(
        self, backend: InferenceBackend, server: TritonServer, kill_at: int, delay_s: float | None
    ) -> None:
        self.backend = backend
        self.name = backend.name
        self.url, self.scheme = backend.url, backend.scheme  # type: ignore[attr-defined]
        self.model_name = backend.model_name  # type: ignore[attr-defined]
        self.server = server
        self.kill_at = kill_at
        self.delay_s = delay_s
        self.calls = 0
        self.killed_at: float | None = None

    def _kill(self) -> None:
        pid = self.server.pid()
        assert pid is not None, "tritonserver is not running"
        os.killpg(pid, signal.SIGKILL)  # the server and its python backend stubs
        self.killed_at = time.perf_counter()

    def infer(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.calls == self.kill_at and self.delay_s is None:
            self._kill()
        elif self.calls == self.kill_at:
            threading.Timer(self.delay_s, self._kill).start()
        return self.backend.infer(input_ids, attention_mask)

    def close(self) -> None:
        self.backend.close()


def write_inbox(inbox: Path) -> None:
    inbox.mkdir()
    for d in range(DOCUMENTS):
        paragraphs = [
            f"{NAMES[(d + p) % len(NAMES)]} paid ${100 + p}.50 to Acme Corp in Paris on "
            f"May {p % 28 + 1}, 2024 (document {d}, paragraph {p})."
            for p in range(PARAGRAPHS)
        ]
        (inbox / f"batch-{d}.txt").write_text("\n\n".join(paragraphs) + "\n")


def ner_settings(bundle: Path, server: TritonServer) -> NerSettings:
    return NerSettings(
        ner_backend="triton",
        ner_bundle_dir=bundle,
        ner_batch_size=16,
        ner_max_length=128,
        triton_url=server.url,
        triton_retries=2,
        triton_backoff_s=0.1,
        triton_timeout_s=10,
    )


def ls_tasks(ls, project_id: int) -> list:
    return list(ls.tasks.list(project=project_id, fields="all"))


def db_figures(conn) -> dict[str, int]:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT (SELECT count(*) FROM records),
                      (SELECT count(*) FROM record_versions WHERE source = 'prediction'),
                      (SELECT count(DISTINCT record_id) FROM record_versions WHERE source = 'prediction'),
                      (SELECT count(*) FROM records WHERE ls_task_id IS NOT NULL),
                      (SELECT count(DISTINCT ls_task_id) FROM records WHERE ls_task_id IS NOT NULL),
                      (SELECT count(*) FROM documents WHERE status = 'prelabeled')"""
        )
        row = cur.fetchone()
    conn.commit()
    keys = ["records", "prediction_versions", "records_predicted", "records_linked", "tasks_linked"]
    return {**dict(zip(keys, row[:5], strict=True)), "documents_prelabeled": row[5]}


@pytest.mark.parametrize("kill_delay_s", [0.02, None], ids=["mid_request", "between_requests"])
def test_a_killed_triton_fails_the_prelabel_clearly_and_a_rerun_finishes_once(
    db, label_studio, tmp_path: Path, kill_delay_s: float | None
) -> None:
    bundle = tiny_bundle()
    repository = tmp_path / "repo"
    publish_bundle(bundle, repository, "ner", "python", intra_op_threads=1)
    server = TritonServer(
        root=tmp_path / "triton",
        model_repository=repository,
        http_port=free_port(),
        grpc_port=free_port(),
        metrics_port=free_port(),
        load_models=("ner",),
    )
    ls = ls_client.connect(label_studio.url, label_studio.token)
    project_id = ls_client.ensure_project(ls, f"triton-dies-{uuid.uuid4().hex[:6]}")
    write_inbox(tmp_path / "inbox")
    documents = sorted(ingest_source(db, (tmp_path / "inbox").as_uri()), key=lambda d: d.document_id)
    for doc in documents:
        assert prelabel.extract_records(db, doc.document_id).status == "extracted"
    first = [d.document_id for d in documents[:FIRST_BATCH]]
    try:
        server.start(timeout_s=120)
        settings = ner_settings(bundle, server)

        # A first batch goes through normally.
        ner = NerClient.from_settings(settings)
        prelabel.predict_pending(db, ner, first)
        done = prelabel.import_pending(db, ls, project_id, document_ids=first)
        ner.close()
        assert done.imported == FIRST_BATCH * PARAGRAPHS

        # The next batch: tritonserver dies during a model call.
        ner = NerClient.from_settings(settings)
        killer = KillingBackend(ner.backend, server, KILL_AT_CALL, kill_delay_s)
        ner.backend = killer
        with pytest.raises(prelabel.PredictionError) as failure:
            prelabel.predict_pending(db, ner)
        failed_at = time.perf_counter()
        assert killer.killed_at is not None
        time_to_fail = failed_at - killer.killed_at
        message = str(failure.value)
        cause = type(failure.value.__cause__).__name__
        assert f"prediction failed on triton at http://{server.url} (model 'ner') after 256/" in message
        # The closed connection is retried (reconnect, backoff); Triton still gone, the retries run out.
        assert cause == "BackendUnavailableError" and "after 3 attempts" in message, message
        assert time_to_fail < 10, "the failure is fast (small retries), not a hang"
        after_fault = db_figures(db)
        tasks_after_fault = ls_tasks(ls, project_id)
        ner.close()

        # What the fault left: whole 256-record chunks of predictions, nothing new in Label Studio.
        predicted_in_fault = after_fault["records_predicted"] - FIRST_BATCH * PARAGRAPHS
        assert predicted_in_fault == 256
        assert after_fault["prediction_versions"] == after_fault["records_predicted"]
        assert len(tasks_after_fault) == after_fault["records_linked"] == FIRST_BATCH * PARAGRAPHS
        assert after_fault["documents_prelabeled"] == FIRST_BATCH

        # Triton comes back; the same call is run again.
        server.stop()
        restarted = time.perf_counter()
        server.start(timeout_s=120)
        restart_s = time.perf_counter() - restarted
        rerun_started = time.perf_counter()
        ner = NerClient.from_settings(settings)
        prelabel.predict_pending(db, ner)
        rerun = prelabel.import_pending(db, ls, project_id)
        ner.close()
        rerun_s = time.perf_counter() - rerun_started
    finally:
        server.stop()

    total = DOCUMENTS * PARAGRAPHS
    tasks = ls_tasks(ls, project_id)
    keys = Counter((t.data["document_sha256"], t.data["record_key"]) for t in tasks)
    predictions = Counter(len(t.predictions) for t in tasks)
    after = db_figures(db)
    figures = {
        "documents": DOCUMENTS,
        "records": total,
        "prelabeled_before_fault": FIRST_BATCH * PARAGRAPHS,
        "model_calls_before_kill": killer.calls - 1,
        "predicted_before_kill": predicted_in_fault,
        "error": message[:400],
        "cause": cause,
        "time_to_fail_s": round(time_to_fail, 2),
        "ls_tasks_after_fault": len(tasks_after_fault),
        "triton_restart_s": round(restart_s, 1),
        "rerun_predicted": total - FIRST_BATCH * PARAGRAPHS - predicted_in_fault,
        "rerun_imported": rerun.imported,
        "rerun_s": round(rerun_s, 1),
        "ls_tasks_after_rerun": len(tasks),
        "duplicate_tasks": sum(n - 1 for n in keys.values()),
        "tasks_without_exactly_one_prediction": sum(n for k, n in predictions.items() if k != 1),
        **{f"db_{k}": v for k, v in after.items()},
    }
    print_figures(f"triton_dies[{'mid_request' if kill_delay_s else 'between_requests'}]", figures)
    assert rerun.imported == rerun.records == total - FIRST_BATCH * PARAGRAPHS
    assert len(tasks) == len(keys) == total and figures["duplicate_tasks"] == 0
    assert predictions == {1: total}
    assert all(t.predictions[0].model_version == "tiny-0" for t in tasks)
    assert after == {
        "records": total,
        "prediction_versions": total,
        "records_predicted": total,
        "records_linked": total,
        "tasks_linked": total,
        "documents_prelabeled": DOCUMENTS,
    }

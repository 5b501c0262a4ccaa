"""The shim is SIGKILLed while SMEs annotate: after a restart, one reconcile run restores what it missed."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import pytest

from include.adapters.db.connection import connect
from include.adapters.label_studio import client as ls_client
from include.workflows.reconcile import ReconcileConfig, reconcile_project
from tests.reliability.conftest import RELIABILITY_N, annotate, delivery_figures, print_figures, seed_project

pytestmark = pytest.mark.e2e


def test_annotations_made_around_a_killed_shim_are_all_recovered(label_studio, fault_stack) -> None:
    n = RELIABILITY_N
    shim = fault_stack.shim
    ls = ls_client.connect(label_studio.url, label_studio.token)
    conn = connect(fault_stack.database_url)
    project = seed_project(conn, ls, fault_stack, n, f"shim-killed-{uuid.uuid4().hex[:6]}")
    halfway = threading.Event()
    killed_at: list[float] = []

    def kill_when_halfway() -> None:
        halfway.wait(timeout=600)
        pid = shim.process.pid()
        assert pid is not None
        os.killpg(pid, signal.SIGKILL)  # gunicorn master and workers, mid-request or not
        killed_at.append(time.perf_counter())

    killer = threading.Thread(target=kill_when_halfway)
    killer.start()
    for i in range(n):
        if i == n // 2:
            halfway.set()
        annotate(ls, project, i)
    killer.join()
    assert shim.process.pid() is None

    restart = time.perf_counter()
    shim.start()
    report = reconcile_project(conn, ls, project.project_id, ReconcileConfig.from_settings())
    recovered_s = time.perf_counter() - restart
    figures = delivery_figures(conn, ls, project.project_id)
    again = reconcile_project(conn, ls, project.project_id, ReconcileConfig.from_settings())
    conn.close()

    print_figures(
        "shim_killed",
        {
            "sent": n,
            "killed_after": n // 2,
            "recovered": report.appended,
            "time_to_recover_s": round(recovered_s, 2),
            "reconcile_s": report.duration_s,
            "second_run_nothing_to_do": again.nothing_to_do,
            **figures,
        },
    )
    assert figures["in_label_studio"] == n
    assert figures["lost"] == 0 and figures["duplicated"] == 0
    assert figures["by_webhook"] + figures["by_reconcile"] == n
    assert n // 2 - 5 <= figures["by_webhook"] <= n // 2 + 5
    assert report.appended == figures["by_reconcile"] and report.webhook.ok
    assert again.nothing_to_do

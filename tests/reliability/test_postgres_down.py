"""Postgres stops while SMEs keep annotating: the shim answers 503 fast, one reconcile run restores all."""

from __future__ import annotations

import statistics
import time
import uuid

import pytest

from include.adapters.db.connection import connect
from include.adapters.label_studio import client as ls_client
from include.workflows.reconcile import ReconcileConfig, reconcile_project
from tests.reliability.conftest import (
    RELIABILITY_N,
    annotate,
    delivery_figures,
    print_figures,
    seed_project,
    shim_requests,
)

pytestmark = pytest.mark.e2e
WARM_UP = 5


def test_annotations_made_while_postgres_is_down_are_all_recovered(label_studio, fault_stack) -> None:
    n = RELIABILITY_N
    ls = ls_client.connect(label_studio.url, label_studio.token)
    conn = connect(fault_stack.database_url)
    project = seed_project(conn, ls, fault_stack, n + WARM_UP, f"pg-down-{uuid.uuid4().hex[:6]}")
    conn.close()
    for i in range(WARM_UP):
        annotate(ls, project, i)
    before = shim_requests(fault_stack.shim)

    assert fault_stack.pg.stop()
    ls_call_s = []
    for i in range(WARM_UP, WARM_UP + n):
        started = time.perf_counter()
        annotate(ls, project, i)
        ls_call_s.append(time.perf_counter() - started)
    during = shim_requests(fault_stack.shim)
    refused = during.get("503", 0) - before.get("503", 0)
    shim_latency_s = (during["sum"] - before["sum"]) / max(during["count"] - before["count"], 1)

    fault_stack.pg.start()
    back = time.perf_counter()
    conn = connect(fault_stack.database_url)
    report = reconcile_project(conn, ls, project.project_id, ReconcileConfig.from_settings())
    recovered_s = time.perf_counter() - back
    figures = delivery_figures(conn, ls, project.project_id)
    again = reconcile_project(conn, ls, project.project_id, ReconcileConfig.from_settings())
    conn.close()

    print_figures(
        "postgres_down",
        {
            "sent": n,
            "answered_503": int(refused),
            "shim_503_mean_ms": round(shim_latency_s * 1000, 1),
            "ls_annotate_median_ms": round(statistics.median(ls_call_s) * 1000, 1),
            "recovered": report.appended,
            "time_to_recover_s": round(recovered_s, 2),
            "second_run_nothing_to_do": again.nothing_to_do,
            **figures,
        },
    )
    assert refused == n
    assert shim_latency_s < 0.5
    assert figures["in_label_studio"] == n + WARM_UP
    assert figures["lost"] == 0 and figures["duplicated"] == 0
    assert figures["by_webhook"] == WARM_UP and figures["by_reconcile"] == n
    assert report.appended == n and report.already_present == WARM_UP and report.webhook.ok
    assert again.nothing_to_do and again.already_present == n + WARM_UP

"""Fault-test fixtures: a dedicated Postgres and shim a test may stop or kill, seeded LS projects, figures."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from devstack.services.embedded_postgres import EmbeddedPostgres
from devstack.services.shim import ShimServer
from include.adapters.db import repository as repo
from include.adapters.db.connection import connect, transaction
from include.adapters.db.migrate import apply_migrations
from include.adapters.label_studio import client as ls_client
from include.workflows.reconcile_plan import DELIVERED_BY
from tests.conftest import PROJECT_ROOT, free_port
from tests.integration.ls_payloads import label_span

RELIABILITY_N = int(os.environ.get("RELIABILITY_N", "100"))
NAMES = ["Alice Smith", "Bob Jones", "Carol White", "Dan Brown", "Eve Black"]


@dataclass(frozen=True)
class FaultStack:
    """A Postgres and a shim of the test's own, so stopping them hurts no other test."""

    pg: EmbeddedPostgres
    database_url: str
    shim: ShimServer


@dataclass(frozen=True)
class SeededProject:
    project_id: int
    task_ids: list[int]
    texts: list[str]


@pytest.fixture(scope="session")
def fault_stack() -> Iterator[FaultStack]:
    root = PROJECT_ROOT / ".state" / f"reliability-{uuid.uuid4().hex[:8]}"
    pg = EmbeddedPostgres(root=root / "postgres", port=free_port())
    url = pg.start("reliability")
    conn = connect(url, statement_timeout_ms=0)
    apply_migrations(conn)
    conn.close()
    shim = ShimServer(
        run_dir=root / "shim", port=free_port(), database_url=url, secret="fault-" + uuid.uuid4().hex
    )
    try:
        shim.start()
        yield FaultStack(pg, url, shim)
    finally:
        shim.stop()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def seed_project(conn: repo.Connection, ls: Any, stack: FaultStack, n: int, title: str) -> SeededProject:
    """n records of a fresh document, an LS project whose webhook goes to the stack's shim, one task each."""
    data = f"{title}-{uuid.uuid4()}".encode()
    sha = hashlib.sha256(data).hexdigest()
    texts = [f"{NAMES[i % len(NAMES)]} signed contract {i} in Paris." for i in range(n)]
    with transaction(conn):
        doc = repo.add_document(
            conn, sha256=sha, uri=f"file:///inbox/{title}.txt", doc_type="text", size_bytes=len(data)
        )
        repo.add_records(
            conn, doc.id, [repo.NewRecord(record_key=f"para={i}", text=t) for i, t in enumerate(texts)]
        )
    project_id = ls_client.ensure_project(ls, title)
    ls_client.ensure_webhook(ls, project_id, stack.shim.webhook_url, {"X-Webhook-Secret": stack.shim.secret})
    tasks = [
        {"data": {"text": t, "document_sha256": sha, "record_key": f"para={i}"}} for i, t in enumerate(texts)
    ]
    return SeededProject(project_id, ls_client.import_tasks(ls, project_id, tasks), texts)


def annotate(ls: Any, project: SeededProject, i: int) -> int:
    """An SME submits task i with its name labelled; returns the annotation id."""
    text = project.texts[i]
    result = [label_span(text, NAMES[i % len(NAMES)], "PERSON")]
    return int(ls.annotations.create(id=project.task_ids[i], result=result, lead_time=3.0).id)


def delivery_figures(conn: repo.Connection, ls: Any, project_id: int) -> dict[str, int]:
    """Every annotation LS has, against the annotation versions stored for it and who delivered them."""
    in_ls = {
        int(a["id"]): a["updated_at"]
        for t in ls.tasks.list(project=project_id, fields="all")
        for a in t.model_dump(mode="json")["annotations"]
    }
    with conn.cursor() as cur:
        cur.execute(
            """SELECT v.ls_annotation_id, count(*),
                      count(*) FILTER (WHERE e.payload ->> 'delivered_by' = %s)
               FROM record_versions v LEFT JOIN webhook_events e ON e.id = v.webhook_event_id
               WHERE v.source = 'annotation' AND v.ls_project_id = %s GROUP BY 1""",
            (DELIVERED_BY, project_id),
        )
        stored = {row[0]: (row[1], row[2]) for row in cur.fetchall()}
    conn.commit()
    return {
        "in_label_studio": len(in_ls),
        "stored": sum(1 for i in in_ls if i in stored),
        "lost": sum(1 for i in in_ls if i not in stored),
        "duplicated": sum(count - 1 for count, _ in stored.values() if count > 1),
        "by_webhook": sum(1 for count, by_reconcile in stored.values() if count > by_reconcile),
        "by_reconcile": sum(by_reconcile for _, by_reconcile in stored.values()),
    }


def shim_requests(shim: ShimServer, action: str = "ANNOTATION_CREATED") -> dict[str, float]:
    """The shim's request counts by status, and its latency sum/count, for one action (from /metrics)."""
    out: dict[str, float] = {}
    text = requests.get(f"{shim.url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("action") != action:
                continue
            if sample.name == "shim_webhook_requests_total":
                out[sample.labels["status"]] = out.get(sample.labels["status"], 0) + sample.value
            elif sample.name in ("shim_webhook_latency_seconds_sum", "shim_webhook_latency_seconds_count"):
                out[sample.name.rsplit("_", 1)[1]] = sample.value
    return out


def print_figures(name: str, figures: dict[str, Any]) -> None:
    print(f"\nRELIABILITY {name}: {json.dumps(figures, sort_keys=True)}")

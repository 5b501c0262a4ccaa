"""Redelivery: one webhook 1,000 times at once, updates out of order: one version each, LS's latest wins."""

from __future__ import annotations

import hashlib
import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from flask import Flask

from include.adapters.db import repository as repo
from tests.integration.ls_payloads import TEXT, annotation, annotation_event, make_record, span, task_of
from tests.reliability.conftest import print_figures
from webhook_shim.app import create_app

SECRET = "redelivery-secret"
SHA = hashlib.sha256(b"doc").hexdigest()
NEEDLES = [("Alice Smith", "PERSON"), ("Acme Corp", "ORG"), ("March 1, 2024", "DATE"), ("$120.50", "MONEY")]


@pytest.fixture
def app(db, database_url: str) -> Flask:
    return create_app({"DATABASE_URL": database_url, "WEBHOOK_SECRET": SECRET, "DB_TIMEOUT_MS": 5000})


def deliver(app: Flask, payloads: list[dict], threads: int = 8) -> list[int]:
    """POST every payload to the shim from `threads` threads; returns the status codes."""

    def post(payload: dict) -> int:
        with app.test_client() as client:
            return client.post(
                "/webhooks/label-studio",
                data=json.dumps(payload),
                headers={"X-Webhook-Secret": SECRET},
                content_type="application/json",
            ).status_code

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(post, payloads))


def annotation_versions(db, ls_annotation_id: int) -> list[tuple]:
    with db.cursor() as cur:
        cur.execute(
            """SELECT version, ls_updated_at, result_sha256, spans FROM record_versions
               WHERE ls_annotation_id = %s AND source = 'annotation' ORDER BY version""",
            (ls_annotation_id,),
        )
        rows = cur.fetchall()
    db.commit()
    return rows


def test_the_same_webhook_delivered_1000_times_is_one_version(app: Flask, db) -> None:
    record = make_record(db)
    task = task_of(record, SHA)
    event = annotation_event(
        "ANNOTATION_CREATED", annotation(501, task, [span(TEXT, "Alice Smith", "PERSON")]), task
    )
    started = time.perf_counter()
    statuses = deliver(app, [event] * 1000)
    elapsed = time.perf_counter() - started
    versions = annotation_versions(db, 501)
    with db.cursor() as cur:
        cur.execute("SELECT outcome, count(*) FROM webhook_events GROUP BY 1")
        outcomes = dict(cur.fetchall())
    db.commit()
    print_figures(
        "same_webhook_1000x",
        {
            "sent": len(statuses),
            "answered_200": statuses.count(200),
            "stored": len(versions),
            "duplicated": len(versions) - 1,
            "lost": 1 - len(versions),
            "deliveries_per_s": round(len(statuses) / elapsed),
            "outcomes": outcomes,
        },
    )
    assert statuses.count(200) == 1000
    assert len(versions) == 1
    assert outcomes == {"applied": 1, "duplicate": 999}


def test_updates_out_of_order_keep_label_studios_latest(app: Flask, db) -> None:
    record = make_record(db)
    task = task_of(record, SHA)
    updates = [
        annotation(502, task, [span(TEXT, *NEEDLES[i % len(NEEDLES)], rid=f"r{i}")], minutes=i)
        for i in range(1, 21)
    ]
    created = annotation(502, task, [span(TEXT, "Alice Smith", "PERSON")])
    events = [annotation_event("ANNOTATION_CREATED", created, task)] + [
        annotation_event("ANNOTATION_UPDATED", u, task) for u in updates
    ]
    shuffled = events * 3
    random.Random(11).shuffle(shuffled)
    statuses = deliver(app, shuffled, threads=4)
    versions = annotation_versions(db, 502)
    deliveries = [(v[1], v[2]) for v in versions]
    latest = repo.latest_annotation_version(db, 502)
    db.commit()
    print_figures(
        "updates_out_of_order",
        {
            "distinct_updates": len(events),
            "sent": len(shuffled),
            "stored_versions": len(versions),
            "duplicated": len(deliveries) - len(set(deliveries)),
            "latest_is_ls_latest": latest is not None and latest.ls_updated_at == _when(updates[-1]),
        },
    )
    assert statuses.count(200) == len(shuffled)
    assert len(deliveries) == len(set(deliveries))
    assert latest is not None and latest.ls_updated_at == _when(updates[-1])
    label, text = NEEDLES[20 % len(NEEDLES)][1], NEEDLES[20 % len(NEEDLES)][0]
    assert [(s["label"], s["text"]) for s in latest.spans] == [(label, text)]
    times = [v[1] for v in versions]
    assert times == sorted(times), "a version older than the one before it became latest"


def _when(ann: dict) -> datetime:
    return datetime.fromisoformat(ann["updated_at"])

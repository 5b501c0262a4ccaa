"""The per-label quality gauges on the shim's /metrics read on their own connection and statement timeout:
a read slower than the webhooks' 200 ms budget (the `quality_drift` view takes ~1 s at 20k records) still
shows its gauges, while webhooks sent during that read keep their own budget; a failed read keeps the last
figures and says so. Against the real test Postgres."""

from __future__ import annotations

import hashlib
import threading
import time

import psycopg2
import pytest

from include.adapters.db import quality
from tests.helpers.quality_seed import seed_quality
from tests.integration.ls_payloads import TEXT, annotation, annotation_event, make_record, span, task_of
from webhook_shim.app import create_app
from webhook_shim.quality_metrics import APPLICATION_NAME, QualityCollector

SECRET = "quality-gauges-secret"
HEADERS = {"X-Webhook-Secret": SECRET}
SLOW_S = 0.8  # four times the webhooks' statement budget
F1_ORG = 'nerloop_label_f1{label="ORG",model_version="bootstrap-0"} 0.666'


def _show(conn, setting: str) -> str:
    with conn.cursor() as cur:
        cur.execute(f"SHOW {setting}")
        return str(cur.fetchone()[0])


class SlowDrift:
    """`quality.drift` behind a sleep in the same session, as the view is at scale; notes its session."""

    def __init__(self) -> None:
        self.calls = 0
        self.settings: list[tuple[str, str]] = []
        self.reading = threading.Event()

    def __call__(self, conn) -> list[quality.DriftRow]:
        self.calls += 1
        self.settings.append((_show(conn, "statement_timeout"), _show(conn, "application_name")))
        self.reading.set()
        with conn.cursor() as cur:
            cur.execute("SELECT pg_sleep(%s)", (SLOW_S,))
        return quality.drift(conn)


@pytest.fixture
def app(db, database_url: str):
    app = create_app({"DATABASE_URL": database_url, "WEBHOOK_SECRET": SECRET, "DB_TIMEOUT_MS": 200})
    yield app
    for collector in app.extensions["scraped"]:
        if isinstance(collector, QualityCollector):
            collector.close()
    app.extensions["db_pool"].close()


def _use(app, collector: QualityCollector) -> QualityCollector:
    scraped = app.extensions["scraped"]
    scraped[:] = [c for c in scraped if not isinstance(c, QualityCollector)] + [collector]
    return collector


def test_a_read_slower_than_the_webhook_budget_shows_its_gauges_while_webhooks_keep_theirs(
    app, db, database_url: str
) -> None:
    seed_quality(db, "gauges")
    slow = SlowDrift()
    _use(app, QualityCollector(database_url, read=slow))
    client = app.test_client()
    pages: list[str] = []
    scrape = threading.Thread(target=lambda: pages.append(client.get("/metrics").get_data(as_text=True)))
    scrape.start()
    assert slow.reading.wait(10)
    # Webhooks while the gauges' read runs: each on the pool, within its 200 ms statement budget.
    record = make_record(db)
    sha = hashlib.sha256(b"doc").hexdigest()
    task = task_of(record, sha, task_id=900)
    latencies = []
    for i in range(5):
        event = annotation_event(
            "ANNOTATION_CREATED", annotation(100 + i, task, [span(TEXT, "Alice", "PERSON")]), task
        )
        began = time.perf_counter()
        resp = client.post("/webhooks/label-studio", json=event, headers=HEADERS)
        latencies.append(time.perf_counter() - began)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        assert resp.json["outcome"] in ("applied", "duplicate")
    scrape.join(30)
    assert not scrape.is_alive()
    assert max(latencies) < SLOW_S, latencies  # none waited for the gauges' read
    # The gauges appear, read on their own session: a 5 s statement timeout, not the pool's 200 ms.
    page = pages[0]
    assert F1_ORG in page
    assert "nerloop_quality_read_ok 1.0" in page
    read_s = float(
        next(line for line in page.splitlines() if line.startswith("nerloop_quality_read_seconds ")).split()[
            1
        ]
    )
    assert read_s >= SLOW_S
    assert slow.settings == [("5s", APPLICATION_NAME)]
    with app.extensions["db_pool"].connection() as conn:
        assert _show(conn, "statement_timeout") == "200ms"
        # The same read on the webhook pool is what used to make the gauges vanish: cancelled at 200 ms.
        with pytest.raises(psycopg2.errors.QueryCanceled):
            SlowDrift()(conn)


def test_the_figures_are_cached_and_one_read_runs_at_a_time(app, db, database_url: str) -> None:
    seed_quality(db, "cached")
    slow = SlowDrift()
    _use(app, QualityCollector(database_url, read=slow, ttl_s=60))
    client = app.test_client()
    pages: list[str] = []
    first = threading.Thread(target=lambda: pages.append(client.get("/metrics").get_data(as_text=True)))
    first.start()
    assert slow.reading.wait(10)
    # A scrape during the read does not wait for it (nor start another): it answers with what it has.
    began = time.perf_counter()
    during = client.get("/metrics").get_data(as_text=True)
    assert time.perf_counter() - began < SLOW_S and F1_ORG not in during
    first.join(30)
    assert F1_ORG in pages[0]
    assert F1_ORG in client.get("/metrics").get_data(as_text=True)
    assert slow.calls == 1


def test_a_read_over_its_own_timeout_keeps_the_last_figures_and_says_so(app, db, database_url: str) -> None:
    seed_quality(db, "timeout")
    slow = SlowDrift()
    collector = _use(app, QualityCollector(database_url, read=quality.drift, ttl_s=0))
    client = app.test_client()
    assert F1_ORG in client.get("/metrics").get_data(as_text=True)
    collector._read = slow  # now slower than a 100 ms statement timeout
    collector._statement_timeout_ms = 100
    collector.close()
    page = client.get("/metrics").get_data(as_text=True)
    assert F1_ORG in page and "nerloop_quality_read_ok 0.0" in page
    # The next read, given its time again, recovers on a new connection.
    collector._read, collector._statement_timeout_ms = quality.drift, 5_000
    assert "nerloop_quality_read_ok 1.0" in client.get("/metrics").get_data(as_text=True)


def test_gauges_need_no_database_to_build_the_app_and_survive_one_that_is_down() -> None:
    app = create_app({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "WEBHOOK_SECRET": SECRET})
    page = app.test_client().get("/metrics").get_data(as_text=True)
    assert "nerloop_quality_read_ok 0.0" in page and "# TYPE nerloop_label_f1 gauge" in page

"""Per-label agreement of the model with the experts, as Prometheus gauges on the shim's /metrics.

Read from the `quality_drift` view at scrape time, labelled by model_version, so a Grafana user sees the
numbers of the quality pages. The view aggregates every annotated task (~1 s at 20k records), so the
collector reads on its own connection with its own statement_timeout (5 s by default), never on the
webhook pool, whose 200 ms budget a webhook keeps; the figures are cached for `ttl_s`, one read at a time
per process (a scrape that finds a read under way answers with the cached figures instead of waiting).
`nerloop_quality_read_ok` and `nerloop_quality_read_seconds` say whether, and how fast, the last read went:
a read that fails keeps the previous figures and says so, it does not make the gauges vanish.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import psycopg2
import psycopg2.extensions
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from include.adapters.db import quality
from include.adapters.db.connection import connect

log = logging.getLogger(__name__)

GAUGES = {
    "f1": "F1 of the model's spans against the SMEs' latest annotations (exact span match)",
    "precision": "Share of the model's spans the SMEs kept exactly",
    "recall": "Share of the SMEs' spans the model proposed exactly",
    "overlap_f1": "F1 counting a span that overlaps one of the same label as a match",
    "edits_per_task": "Spans added, removed, relabelled or re-bounded per annotated task",
    "tasks": "Annotated tasks behind the figures",
}
STATEMENT_TIMEOUT_MS = 5_000
TTL_S = 60.0
APPLICATION_NAME = "nerloop_quality_gauges"

Reader = Callable[[psycopg2.extensions.connection], list[quality.DriftRow]]


class QualityCollector(Collector):
    def __init__(
        self,
        dsn: str,
        *,
        ttl_s: float = TTL_S,
        statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
        connect_timeout_s: int = 2,
        read: Reader = quality.drift,
    ) -> None:
        self._dsn, self._ttl_s, self._read = dsn, ttl_s, read
        self._statement_timeout_ms, self._connect_timeout_s = statement_timeout_ms, connect_timeout_s
        self._lock = threading.Lock()  # held by the one read under way; guards the connection
        self._conn: psycopg2.extensions.connection | None = None
        self._rows: list[quality.DriftRow] = []
        self._read_at = float("-inf")
        self._ok: bool | None = None
        self._seconds: float | None = None

    def _connection(self) -> psycopg2.extensions.connection:
        if self._conn is None or self._conn.closed:
            self._conn = connect(
                self._dsn,
                connect_timeout_s=self._connect_timeout_s,
                statement_timeout_ms=self._statement_timeout_ms,
                application_name=APPLICATION_NAME,
            )
            self._conn.set_session(readonly=True, autocommit=True)
        return self._conn

    def _drift(self) -> list[quality.DriftRow]:
        if time.monotonic() - self._read_at < self._ttl_s or not self._lock.acquire(blocking=False):
            return self._rows
        try:
            if time.monotonic() - self._read_at >= self._ttl_s:
                started = time.perf_counter()
                try:
                    self._rows, self._ok = self._read(self._connection()), True
                except psycopg2.Error as exc:
                    self._ok = False
                    log.warning("quality gauges: read failed, keeping the last figures: %s", _first_line(exc))
                    self.close()
                self._seconds = time.perf_counter() - started
                self._read_at = time.monotonic()
            return self._rows
        finally:
            self._lock.release()

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None

    def collect(self) -> Iterator[Metric]:
        rows = self._drift()
        for name, doc in GAUGES.items():
            gauge = GaugeMetricFamily(f"nerloop_label_{name}", doc, labels=["label", "model_version"])
            for row in rows:
                value = getattr(row, name)
                if value is not None:
                    gauge.add_metric([row.label, row.model_version or "unknown"], float(value))
            yield gauge
        if self._ok is not None:
            yield GaugeMetricFamily(
                "nerloop_quality_read_ok",
                "1 if the last read of the quality gauges succeeded (0: they show the read before it)",
                value=float(self._ok),
            )
        if self._seconds is not None:
            yield GaugeMetricFamily(
                "nerloop_quality_read_seconds",
                "How long the last read of the quality gauges took, on their own connection",
                value=self._seconds,
            )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]

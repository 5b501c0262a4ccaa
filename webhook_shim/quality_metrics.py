"""Per-label agreement of the model with the experts, as Prometheus gauges on the shim's /metrics.

Read from the `quality_drift` view at scrape time (cached for `ttl_s`), labelled by model_version, so a
Grafana user sees the numbers of the quality pages.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from include.db import quality
from webhook_shim.pool import ConnectionPool, DatabaseUnavailable

log = logging.getLogger(__name__)

GAUGES = {
    "f1": "F1 of the model's spans against the SMEs' latest annotations (exact span match)",
    "precision": "Share of the model's spans the SMEs kept exactly",
    "recall": "Share of the SMEs' spans the model proposed exactly",
    "overlap_f1": "F1 counting a span that overlaps one of the same label as a match",
    "edits_per_task": "Spans added, removed, relabelled or re-bounded per annotated task",
    "tasks": "Annotated tasks behind the figures",
}


class QualityCollector(Collector):
    def __init__(self, pool: ConnectionPool, ttl_s: float = 60.0) -> None:
        self._pool, self._ttl_s = pool, ttl_s
        self._lock = threading.Lock()
        self._rows: list[quality.DriftRow] = []
        self._read_at = float("-inf")

    def _drift(self) -> list[quality.DriftRow]:
        with self._lock:
            if time.monotonic() - self._read_at >= self._ttl_s:
                try:
                    with self._pool.connection() as conn:
                        self._rows = quality.drift(conn)
                except DatabaseUnavailable as exc:
                    log.warning("quality gauges: database unavailable: %s", exc)
                self._read_at = time.monotonic()
            return self._rows

    def collect(self) -> Iterator[Metric]:
        rows = self._drift()
        for name, doc in GAUGES.items():
            gauge = GaugeMetricFamily(f"nerloop_label_{name}", doc, labels=["label", "model_version"])
            for row in rows:
                value = getattr(row, name)
                if value is not None:
                    gauge.add_metric([row.label, row.model_version or "unknown"], float(value))
            yield gauge

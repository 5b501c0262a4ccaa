"""The batches Triton's dynamic batcher formed, on the shim's /metrics (read from Triton at scrape time).

Per model: rows inferred, model executions, and their ratio, the mean batch size Triton actually ran.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import requests
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from include.adapters.serving.triton_metrics import BatchStats, batch_stats

log = logging.getLogger(__name__)


class TritonBatchCollector(Collector):
    def __init__(self, metrics_url: str, ttl_s: float = 15.0, timeout_s: float = 1.0) -> None:
        self._url, self._ttl_s, self._timeout_s = metrics_url, ttl_s, timeout_s
        self._lock = threading.Lock()
        self._stats: dict[str, BatchStats] = {}
        self._read_at = float("-inf")

    def _read(self) -> dict[str, BatchStats]:
        with self._lock:
            if time.monotonic() - self._read_at >= self._ttl_s:
                try:
                    self._stats = batch_stats(self._url, timeout_s=self._timeout_s)
                except requests.RequestException as exc:
                    log.warning("triton batch metrics: %s unreachable: %s", self._url, exc)
                    self._stats = {}
                self._read_at = time.monotonic()
            return self._stats

    def collect(self) -> Iterator[Metric]:
        stats = self._read()
        rows = CounterMetricFamily("nerloop_triton_inferences", "Rows Triton inferred", labels=["model"])
        runs = CounterMetricFamily(
            "nerloop_triton_executions", "Model executions Triton ran", labels=["model"]
        )
        mean = GaugeMetricFamily(
            "nerloop_triton_mean_batch_rows",
            "Rows per model execution: the batch size Triton's dynamic batcher formed, on average",
            labels=["model"],
        )
        for model, s in sorted(stats.items()):
            rows.add_metric([model], s.inferences)
            runs.add_metric([model], s.executions)
            mean.add_metric([model], s.mean_batch)
        yield from (rows, runs, mean)

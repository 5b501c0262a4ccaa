"""Prometheus metrics of the shim; multiprocess-safe under gunicorn when PROMETHEUS_MULTIPROC_DIR is set."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector

REQUESTS = Counter("shim_webhook_requests_total", "Webhook requests", ["action", "status"])
ERRORS = Counter("shim_webhook_errors_total", "Webhook requests that failed", ["reason"])
LATENCY = Histogram(
    "shim_webhook_latency_seconds",
    "Webhook handling time",
    ["action"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
VERSIONS_WRITTEN = Counter("shim_record_versions_written_total", "Record versions appended", ["source"])
ITEMS = Counter("shim_webhook_items_total", "Items in webhook events by outcome", ["action", "outcome"])


def render(extra: Sequence[Collector] = (), *, multiprocess_dir: Path | None = None) -> tuple[bytes, str]:
    """The metrics page: all gunicorn workers' values in multiprocess mode (`multiprocess_dir`, the
    settings' PROMETHEUS_MULTIPROC_DIR, which prometheus-client's values read too), else this process's;
    then the `extra` collectors' (read at scrape time, the same in every worker)."""
    if multiprocess_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    if extra:
        own = CollectorRegistry(auto_describe=False)
        for collector in extra:
            own.register(collector)
        body += generate_latest(own)
    return body, CONTENT_TYPE_LATEST

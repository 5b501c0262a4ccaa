"""The batches Triton's dynamic batcher actually formed, read from its Prometheus metrics endpoint.

Triton counts, per model and version, `nv_inference_count` (inferences: rows, a batch-16 request counts
16) and `nv_inference_exec_count` (model executions: one per batch it ran). Their ratio is the mean batch
size the model saw; the difference between two readings measures one stretch of work.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

COUNTERS = {
    "nv_inference_request_success": "requests",
    "nv_inference_count": "inferences",
    "nv_inference_exec_count": "executions",
}


@dataclass(frozen=True)
class BatchStats:
    """Requests that succeeded, rows inferred and model executions, for one model (all its versions)."""

    requests: float = 0.0
    inferences: float = 0.0
    executions: float = 0.0

    @property
    def mean_batch(self) -> float:
        """Rows per model execution: the batch size the dynamic batcher formed, on average."""
        return self.inferences / self.executions if self.executions else 0.0

    @property
    def rows_per_request(self) -> float:
        return self.inferences / self.requests if self.requests else 0.0

    def __add__(self, other: BatchStats) -> BatchStats:
        return BatchStats(
            self.requests + other.requests,
            self.inferences + other.inferences,
            self.executions + other.executions,
        )

    def __sub__(self, before: BatchStats) -> BatchStats:
        return BatchStats(
            self.requests - before.requests,
            self.inferences - before.inferences,
            self.executions - before.executions,
        )


def parse_batch_stats(text: str) -> dict[str, BatchStats]:
    """Per model, the three counters summed over versions, from Prometheus text exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    totals: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            field = COUNTERS.get(sample.name.removesuffix("_total"))
            model = sample.labels.get("model")
            if field and model:
                counts = totals.setdefault(model, {})
                counts[field] = counts.get(field, 0.0) + sample.value
    return {model: BatchStats(**counts) for model, counts in totals.items()}


def batch_stats(metrics_url: str, timeout_s: float = 10.0) -> dict[str, BatchStats]:
    """Read Triton's /metrics (host:port of its metrics endpoint, or a full URL) and parse the counters."""
    url = metrics_url if metrics_url.startswith("http") else f"http://{metrics_url}"
    url = url if url.rstrip("/").endswith("/metrics") else f"{url.rstrip('/')}/metrics"
    response = requests.get(url, timeout=timeout_s, headers={"Connection": "close"})
    response.raise_for_status()
    return parse_batch_stats(response.text)

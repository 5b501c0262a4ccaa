"""Prometheus metrics of the NER client, registered once per process in the default registry."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

BATCHES = Counter("ner_batches_total", "Model calls made by the NER client", ["backend"])
BATCH_SIZE = Histogram(
    "ner_batch_size", "Sequences per model call", ["backend"], buckets=(1, 2, 4, 8, 12, 16, 32, 64)
)
TOKENS = Counter("ner_tokens_total", "Non-padding tokens sent to the model", ["backend"])
LATENCY = Histogram(
    "ner_infer_latency_seconds",
    "Latency of one model call",
    ["backend"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ERRORS = Counter("ner_errors_total", "Model calls that failed after retries", ["backend"])

"""The sample Grafana dashboard queries only metrics the shim exports."""

from __future__ import annotations

import json
import re

from include.core.settings import PROJECT_ROOT
from webhook_shim import metrics
from webhook_shim.quality_metrics import GAUGES


def test_dashboard_queries_exported_metrics() -> None:
    dashboard = json.loads((PROJECT_ROOT / "docs" / "grafana" / "nerloop-quality.json").read_text())
    exported = {f"nerloop_label_{name}" for name in GAUGES} | {
        m._name for m in (metrics.REQUESTS, metrics.LATENCY, metrics.ERRORS, metrics.ITEMS)
    }
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(nerloop_label_\w+|shim_\w+?)(?:_total|_bucket)?\b[{\[]", target["expr"])
    }
    assert used and used <= exported, used - exported
    assert {p["id"] for p in dashboard["panels"]} == set(range(1, len(dashboard["panels"]) + 1))

"""The demo's SME flow, end to end on a running `make demo`: annotate tasks in Label Studio as an SME
would, trigger the nightly run, and say whether the new model was promoted and serves.

    PYTHONPATH=. python bench/demo_sme_flow.py [--tasks 48] [--edits 10]

Through Label Studio's API (the SDK): `--tasks` tasks with predictions are annotated, each keeping the
model's prediction (parent_prediction set), except `--edits` of them where the SME removes one span or
gives it another label. Every annotation fires its webhook to the shim. Then `nightly_train_publish` is
triggered in the demo's Airflow (its scheduler runs it, default params) and awaited, and the script prints one
JSON object: the run's gold counts, the candidate's and the in-service model's F1 on the SME held-out
gold, the gate's reason, whether it was promoted, the largest per-label drop on the bootstrap's held-out
set, and what Triton serves afterwards.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devstack.stack import Stack
from include.adapters.db.connection import connect
from include.adapters.label_studio import client as ls_client
from include.core.labels import DEFAULT_LABELS


def edited(result: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """One deliberate correction: drop a span (even n) or relabel it (odd n)."""
    items = [dict(item, value=dict(item["value"])) for item in result]
    if not items:
        return items
    if n % 2 == 0:
        return items[1:]
    label = items[0]["value"]["labels"][0]
    items[0]["value"]["labels"] = [next(x for x in DEFAULT_LABELS if x != label)]
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=48)
    parser.add_argument("--edits", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the nightly run")
    parser.add_argument(
        "--no-trigger", action="store_true", help="await the newest run instead of starting one"
    )
    args = parser.parse_args(argv)
    stack = Stack.from_env()
    s = stack.settings
    ls = ls_client.connect(s.label_studio.label_studio_url, stack.label_studio.token)
    project_id = ls_client.ensure_project(ls, s.label_studio.label_studio_project)
    tasks = [
        t for t in ls.tasks.list(project=project_id, fields="all") if t.predictions and not t.annotations
    ]
    chosen = sorted(tasks, key=lambda t: t.id)[: args.tasks]
    for n, task in enumerate(chosen):
        prediction = task.predictions[0]
        result = list(prediction.result or [])
        if n < args.edits:
            result = edited(result, n)
        ls.annotations.create(id=task.id, result=result, parent_prediction=prediction.id)
    print(f"annotated {len(chosen)} tasks ({min(args.edits, len(chosen))} edited)", file=sys.stderr)
    began = time.monotonic()
    # The demo's scheduler runs the DAG (a `dags test` beside a live scheduler races it for the same tasks).
    res = stack.airflow.cli("dags", "trigger", "nightly_train_publish") if not args.no_trigger else None
    state = "queued"
    while state not in ("success", "failed") and time.monotonic() - began < args.timeout:
        time.sleep(10)
        runs = stack.airflow.cli("dags", "list-runs", "nightly_train_publish", "-o", "json")
        start = runs.stdout.find("\n[")  # after the CLI's warnings
        listed = json.loads(runs.stdout[start:]) if start >= 0 else []
        state = (
            max(listed, key=lambda r: str(r.get("run_after") or r.get("logical_date") or ""))["state"]
            if listed
            else state
        )
    seconds = time.monotonic() - began
    if res is not None:
        (stack.run_dir / "demo-sme-nightly.log").write_text(res.stdout + res.stderr)
    conn = connect(stack.database_url())
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, status, counts, detail, model_version FROM training_runs ORDER BY id DESC LIMIT 1"
        )
        run_id, status, counts, detail, model_version = cur.fetchone()
        cur.execute("SELECT metrics FROM model_versions WHERE version = %s", (model_version,))
        row = cur.fetchone()
        cur.execute("SELECT version, triton_version FROM model_versions WHERE status = 'serving'")
        serving = cur.fetchall()
    conn.close()
    metrics = row[0] if row else {}
    drops = {
        label: round((cell["in_service"] or 0) - (cell["candidate"] or 0), 4)
        for label, cell in (detail.get("scores", {}).get("bootstrap_heldout") or {}).items()
        if cell.get("in_service") is not None
    }
    triton = None
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{s.serving.triton_http_port}/v2/models/ner", timeout=5
        ) as r:
            triton = json.loads(r.read())
    except OSError as error:
        triton = {"error": str(error)}
    print(
        json.dumps(
            {
                "dag_run_state": state,
                "run_id": run_id,
                "status": status,
                "gold": counts,
                "candidate_f1": (metrics.get("new") or {}).get("f1"),
                "in_service_f1": (metrics.get("current") or {}).get("f1"),
                "promoted": detail.get("promoted"),
                "gate": detail.get("gate"),
                "bootstrap_heldout_drop_per_label": drops,
                "largest_drop": max(drops.values(), default=None),
                "serving": serving,
                "triton": triton,
                "nightly_seconds": round(seconds, 1),
            },
            indent=2,
        )
    )
    return 0 if state == "success" else 1


if __name__ == "__main__":
    sys.exit(main())

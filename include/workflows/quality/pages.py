"""HTML of the quality pages, rendered on the server from the quality views' rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

from include.adapters.db.lineage import Lineage
from include.adapters.db.quality import DriftRow, LabelPoint, RunPoint, TimelineRow, UncertainRow
from include.workflows.quality import charts

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: right; }
th { background: #f4f4f4; } td.text, th.text { text-align: left; }
nav a { margin-right: 1rem; } .muted { color: #777; }
"""


def _num(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, cls: str, text_cols: int = 1) -> str:
    head = "".join(
        f'<th class="{"text" if i < text_cols else ""}">{escape(h)}</th>' for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"text" if i < text_cols else ""}">{c}</td>' for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        f"<title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>"
        '<nav><a href="./">Quality</a><a href="lineage">Lineage</a><a href="/">Airflow</a></nav>'
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )


def overview(
    timeline: Sequence[TimelineRow],
    drift: Sequence[DriftRow],
    curve: Sequence[RunPoint],
    label_curve: Sequence[LabelPoint],
    queue: Sequence[UncertainRow],
    ls_url: str,
) -> str:
    parts = [
        _timeline(timeline),
        _drift(drift),
        _curve(curve, label_curve),
        _queue(queue, ls_url),
        _lookup_form(),
    ]
    return page("NER loop: quality", "".join(parts))


def _timeline(rows: Sequence[TimelineRow]) -> str:
    table = _table(
        ["model version", "status", "held-out F1", "exporter", "Triton version", "training run", "created"],
        [
            [
                escape(r.model_version),
                escape(r.status),
                _num(r.f1),
                escape(r.exporter_mode or "–"),
                _num(r.triton_version),
                _num(r.training_run_id),
                escape(r.created_at.strftime("%Y-%m-%d %H:%M")),
            ]
            for r in rows
        ],
        cls="timeline",
        text_cols=2,
    )
    return f'<h2 id="timeline">Model timeline</h2>{table if rows else "<p class=muted>No model yet.</p>"}'


def _drift(rows: Sequence[DriftRow]) -> str:
    if not rows:
        return '<h2 id="drift">Drift per label</h2><p class="muted">No annotated prediction yet.</p>'
    labels = sorted({r.label for r in rows})
    versions = sorted({r.model_version or "(unknown)" for r in rows})
    by_key = {(r.model_version or "(unknown)", r.label): r for r in rows}
    chart = charts.grouped_bars(
        "F1 of the model against the experts, per label (exact span match)",
        labels,
        {v: [by_key[(v, label)].f1 if (v, label) in by_key else None for label in labels] for v in versions},
    )
    table = _table(
        [
            "model version",
            "label",
            "tasks",
            "predicted",
            "kept by SMEs",
            "precision",
            "recall",
            "F1",
            "overlap F1",
            "added",
            "removed",
            "relabelled",
            "re-bounded",
            "edits per task",
        ],
        [
            [
                escape(r.model_version or "(unknown)"),
                escape(r.label),
                _num(r.tasks),
                _num(r.predicted),
                _num(r.exact),
                _num(r.precision),
                _num(r.recall),
                _num(r.f1),
                _num(r.overlap_f1),
                _num(r.added),
                _num(r.removed),
                _num(r.relabelled),
                _num(r.rebounded),
                _num(r.edits_per_task, 2),
            ]
            for r in rows
        ],
        cls="drift",
        text_cols=2,
    )
    return f'<h2 id="drift">Drift per label</h2>{chart}{table}'


def _curve(points: Sequence[RunPoint], per_label: Sequence[LabelPoint]) -> str:
    if not points:
        return '<h2 id="curve">Learning curve</h2><p class="muted">No nightly run has trained yet.</p>'
    xs = [float(p.gold or 0) for p in points]
    chart = charts.lines(
        "Held-out F1 by gold records",
        xs,
        {"candidate": [p.candidate_f1 for p in points], "in service": [p.in_service_f1 for p in points]},
        x_label="gold records",
    )
    table = _table(
        [
            "run",
            "model version",
            "gold",
            "train/dev/test",
            "candidate F1",
            "in service F1",
            "F1 per 100 gold",
            "gate",
        ],
        [
            [
                _num(p.training_run_id),
                escape(p.model_version or "–"),
                _num(p.gold),
                f"{_num(p.train)}/{_num(p.dev)}/{_num(p.test)}",
                _num(p.candidate_f1),
                _num(p.in_service_f1),
                _num(p.f1_per_100_gold, 4),
                escape(("promoted: " if p.promoted else "kept out: ") + (p.gate or "")),
            ]
            for p in points
        ],
        cls="curve",
        text_cols=2,
    )
    latest: dict[str, LabelPoint] = {}
    for point in per_label:
        latest[point.label] = point
    worth = _table(
        ["label", "F1 (latest run)", "support", "F1 per 100 more gold"],
        [
            [escape(p.label), _num(p.f1), _num(p.support), _num(p.f1_per_100_gold, 4)]
            for p in sorted(latest.values(), key=lambda p: -(p.f1_per_100_gold or 0.0))
        ],
        cls="label-curve",
    )
    return (
        f'<h2 id="curve">Learning curve</h2>{chart}{table}{_gate_scores(points[-1])}'
        f"<h3>What the next corrections are worth</h3>{worth}"
    )


def _gate_scores(point: RunPoint) -> str:
    """The latest run's per-label F1, candidate vs in service, on both held-out sets the gate compared."""
    scores = point.scores or {}
    sme, kept = scores.get("sme_heldout", {}), scores.get("bootstrap_heldout", {})
    labels = sorted({*sme, *kept})
    if not labels:
        return ""

    def pair(block: dict[str, dict[str, float | None]], label: str) -> list[str]:
        cell = block.get(label, {})
        return [_num(cell.get("candidate")), _num(cell.get("in_service"))]

    table = _table(
        [
            "label",
            "SME held-out: candidate",
            "SME held-out: in service",
            "bootstrap held-out: candidate",
            "bootstrap held-out: in service",
        ],
        [[escape(label), *pair(sme, label), *pair(kept, label)] for label in labels],
        cls="gate-scores",
    )
    return f"<h3>Run {_num(point.training_run_id)}: per label, as the gate compared them</h3>{table}"


def _queue(rows: Sequence[UncertainRow], ls_url: str) -> str:
    def task_link(r: UncertainRow) -> str:
        if r.ls_task_id is None or r.ls_project_id is None:
            return "–"
        href = f"{ls_url.rstrip('/')}/projects/{r.ls_project_id}/data?task={r.ls_task_id}"
        return f'<a href="{escape(href)}">task {r.ls_task_id}</a>'

    table = _table(
        ["record", "text", "score", "model version", "Label Studio"],
        [
            [
                escape(r.record_key),
                escape(r.text),
                _num(r.score),
                escape(r.model_version or "–"),
                task_link(r),
            ]
            for r in rows
        ],
        cls="queue",
        text_cols=2,
    )
    empty = "<p class=muted>Every task has been annotated.</p>"
    return f'<h2 id="queue">Least sure first: tasks waiting for an SME</h2>{table if rows else empty}'


def _lookup_form() -> str:
    return (
        '<h2 id="lookup">Lineage</h2><form action="lineage" method="get">'
        '<label>record version id <input name="record_version_id" size="8"></label> or '
        '<label>LS task id <input name="ls_task_id" size="8"></label> '
        '<button type="submit">Look up</button></form>'
    )


def lineage(
    found: Lineage | None, record: dict[str, Any] | None, history: Sequence[dict[str, Any]], asked: str
) -> str:
    if found is None:
        body = _lookup_form() + (f'<p class="muted">Nothing found for {escape(asked)}.</p>' if asked else "")
        return page("NER loop: lineage", body)
    where = json.dumps((record or {}).get("meta", {}), sort_keys=True)
    facts = _table(
        ["", ""],
        [
            ["record version", f"{found.record_version_id} (v{found.version}, {escape(found.source)})"],
            ["document", escape(found.document_uri)],
            ["document sha256", f"<code>{escape(found.document_sha256)}</code>"],
            ["s3 key", escape(found.document_s3_key or "–")],
            ["record key", escape(found.record_key)],
            ["where in the document", f"<code>{escape(where)}</code>"],
            [
                "LS project / task / annotation",
                f"{_num(found.ls_project_id)} / {_num(found.ls_task_id)} / {_num(found.ls_annotation_id)}",
            ],
            ["model version", escape(found.model_version or "–")],
            ["text", escape((record or {}).get("text", ""))],
        ],
        cls="lineage",
        text_cols=2,
    )
    versions = _table(
        ["version", "source", "spans", "model version", "LS annotation", "created"],
        [
            [
                _num(v["version"]),
                escape(v["source"]),
                escape(", ".join(f"{s.get('label')} {s.get('text')!r}" for s in v["spans"])),
                escape(v["model_version"] or "–"),
                _num(v["ls_annotation_id"]),
                escape(v["created_at"].strftime("%Y-%m-%d %H:%M")),
            ]
            for v in history
        ],
        cls="versions",
        text_cols=3,
    )
    runs = _table(
        ["training run", "model version", "status", "split"],
        [
            [
                _num(r["training_run_id"]),
                escape(r["model_version"] or "–"),
                escape(r["status"]),
                escape(r["split"]),
            ]
            for r in found.training_runs
        ],
        cls="runs",
    )
    no_runs = "<p class=muted>No training run used it yet.</p>"
    body = (
        f"{facts}<h2>Versions of the record</h2>{versions}"
        f"<h2>Training runs that used it</h2>{runs if found.training_runs else no_runs}{_lookup_form()}"
    )
    return page(f"NER loop: lineage of record version {found.record_version_id}", body)

"""Quality of the loop: reads of the quality views (sql/functions/5*_quality_*.sql).

`quality_drift` / `quality_drift_weekly`: the model's predictions against the SMEs' latest annotations, per
label and model version (exact and overlap F1, spans added / removed / relabelled / re-bounded, edits per
task); `quality_learning_curve` / `quality_label_curve`: held-out F1 across nightly runs and what 100 more
gold records bought; `quality_model_timeline`; `quality_uncertain_queue`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from include.adapters.db.common import Connection, dict_cursor


class DriftRow(BaseModel):
    model_version: str | None
    label: str
    week: datetime | None = None
    tasks: int
    predicted: int
    annotated: int
    exact: int
    added: int
    removed: int
    relabelled: int
    rebounded: int
    precision: float | None
    recall: float | None
    f1: float | None
    overlap_f1: float | None
    edits_per_task: float


class RunPoint(BaseModel):
    training_run_id: int
    started_at: datetime
    finished_at: datetime | None
    model_version: str | None
    gold: int | None
    train: int | None
    dev: int | None
    test: int | None
    candidate_f1: float | None
    in_service_f1: float | None
    promoted: bool | None
    gate: str | None
    f1_per_100_gold: float | None
    scores: dict[str, dict[str, dict[str, float | None]]] | None = None
    """Per held-out set (sme_heldout, bootstrap_heldout) and label: candidate and in-service F1."""


class LabelPoint(BaseModel):
    training_run_id: int
    gold: int | None
    label: str
    f1: float | None
    support: int | None
    f1_per_100_gold: float | None


class TimelineRow(BaseModel):
    model_version: str
    status: str
    f1: float | None
    exporter_mode: str | None
    triton_version: int | None
    bundle_uri: str | None
    created_at: datetime
    updated_at: datetime
    training_run_id: int | None


class UncertainRow(BaseModel):
    record_id: int
    record_key: str
    ls_project_id: int | None
    ls_task_id: int | None
    document_uri: str
    model_version: str | None
    score: float
    text: str


def _rows(conn: Connection, sql: str, params: Any = None) -> list[dict[str, Any]]:
    with dict_cursor(conn) as cur:
        cur.execute(sql, params)
        return [dict(row) for row in cur.fetchall()]


def drift(conn: Connection) -> list[DriftRow]:
    """Per model version and label, over all weeks."""
    rows = _rows(conn, "SELECT * FROM quality_drift ORDER BY model_version NULLS LAST, label")
    return [DriftRow(**row) for row in rows]


def drift_weekly(conn: Connection) -> list[DriftRow]:
    rows = _rows(conn, "SELECT * FROM quality_drift_weekly ORDER BY week, model_version NULLS LAST, label")
    return [DriftRow(**row) for row in rows]


def learning_curve(conn: Connection) -> list[RunPoint]:
    rows = _rows(conn, "SELECT * FROM quality_learning_curve ORDER BY training_run_id")
    return [RunPoint(**row) for row in rows]


def label_curve(conn: Connection) -> list[LabelPoint]:
    rows = _rows(conn, "SELECT * FROM quality_label_curve ORDER BY label, training_run_id")
    return [LabelPoint(**row) for row in rows]


def model_timeline(conn: Connection) -> list[TimelineRow]:
    rows = _rows(conn, "SELECT * FROM quality_model_timeline ORDER BY created_at DESC, model_version")
    return [TimelineRow(**row) for row in rows]


def uncertain_queue(conn: Connection, limit: int = 50) -> list[UncertainRow]:
    rows = _rows(conn, "SELECT * FROM quality_uncertain_queue ORDER BY score, record_id LIMIT %s", (limit,))
    return [UncertainRow(**row) for row in rows]


def versions_of_task(conn: Connection, ls_project_id: int | None, ls_task_id: int) -> list[int]:
    """The record version ids of the record an LS task stands (or stood) for, newest first."""
    rows = _rows(
        conn,
        """SELECT v.id FROM record_versions v
           WHERE v.record_id IN (
               SELECT record_id FROM ls_task_links
               WHERE ls_task_id = %(t)s AND (%(p)s::bigint IS NULL OR ls_project_id = %(p)s))
           ORDER BY v.id DESC""",
        {"t": ls_task_id, "p": ls_project_id},
    )
    return [row["id"] for row in rows]


def record_history(conn: Connection, record_id: int) -> list[dict[str, Any]]:
    """Every version of a record: source, spans, LS ids, model version, when."""
    return _rows(
        conn,
        """SELECT id, version, source, spans, ls_task_id, ls_annotation_id, model_version, completed_by,
                  was_cancelled, spans_valid, created_at
           FROM record_versions WHERE record_id = %s ORDER BY version""",
        (record_id,),
    )


def record_meta(conn: Connection, record_id: int) -> dict[str, Any] | None:
    rows = _rows(conn, "SELECT id, record_key, text, meta FROM records WHERE id = %s", (record_id,))
    return rows[0] if rows else None

"""What the database knows of one Label Studio project: stored annotations, linked tasks, the watermark."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from include.db.common import Connection


@dataclass(frozen=True)
class StoredDelivery:
    """The newest state of an LS annotation here: its annotations row and its latest version's hash."""

    ls_annotation_id: int
    ls_task_id: int
    state: str
    ls_updated_at: datetime | None
    result_sha256: str | None


@dataclass(frozen=True)
class Watermark:
    ls_project_id: int
    ls_updated_at: datetime | None
    last_full_at: datetime | None


def stored_annotations(conn: Connection, ls_project_id: int) -> dict[int, StoredDelivery]:
    """Every annotation of the project stored here, by LS annotation id."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT a.ls_annotation_id, a.ls_task_id, a.state, a.ls_updated_at, v.result_sha256
               FROM annotations a
               LEFT JOIN LATERAL (
                   SELECT result_sha256 FROM record_versions
                   WHERE ls_annotation_id = a.ls_annotation_id AND source = 'annotation'
                   ORDER BY version DESC LIMIT 1) v ON true
               WHERE a.ls_project_id = %s""",
            (ls_project_id,),
        )
        return {row[0]: StoredDelivery(*row) for row in cur.fetchall()}


def linked_tasks(conn: Connection, ls_project_id: int) -> set[int]:
    """The LS task ids of the project that a record is live-linked to."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT ls_task_id FROM records WHERE ls_project_id = %s AND ls_task_id IS NOT NULL",
            (ls_project_id,),
        )
        return {row[0] for row in cur.fetchall()}


def get_watermark(conn: Connection, ls_project_id: int) -> Watermark | None:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT ls_project_id, ls_updated_at, last_full_at FROM reconcile_watermarks
               WHERE ls_project_id = %s""",
            (ls_project_id,),
        )
        row = cur.fetchone()
    return Watermark(*row) if row else None


def save_watermark(
    conn: Connection,
    ls_project_id: int,
    *,
    ls_updated_at: datetime | None,
    full_at: datetime | None,
    report: dict[str, Any],
) -> None:
    """Record a finished run; the watermark only moves forward, and a full pass time only when given."""
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO reconcile_watermarks (ls_project_id, ls_updated_at, last_full_at, last_report)
               VALUES (%s, %s, %s, %s)
               ON CONFLICT (ls_project_id) DO UPDATE SET
                   ls_updated_at = GREATEST(reconcile_watermarks.ls_updated_at, EXCLUDED.ls_updated_at),
                   last_full_at = COALESCE(EXCLUDED.last_full_at, reconcile_watermarks.last_full_at),
                   last_run_at = now(),
                   last_report = EXCLUDED.last_report""",
            (ls_project_id, ls_updated_at, full_at, json.dumps(report)),
        )

"""What the database knows of one Label Studio project: stored annotations, linked tasks, the watermark."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from include.adapters.db.common import Connection


@dataclass(frozen=True)
class StoredDelivery:
    """The newest state of an LS annotation here: its annotations row and its latest version's hash."""

    ls_annotation_id: int
    ls_task_id: int
    state: str
    ls_updated_at: datetime | None
    result_sha256: str | None


class RecordRef(NamedTuple):
    """A record as an LS task's data names it."""

    document_sha256: str
    record_key: str


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


def linked_tasks(conn: Connection, ls_project_id: int) -> dict[int, RecordRef]:
    """The LS task ids of the project that a record is live-linked to, with that record."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT r.ls_task_id, d.sha256, r.record_key
               FROM records r JOIN documents d ON d.id = r.document_id
               WHERE r.ls_project_id = %s AND r.ls_task_id IS NOT NULL""",
            (ls_project_id,),
        )
        return {row[0]: RecordRef(row[1], row[2]) for row in cur.fetchall()}


def existing_records(conn: Connection, refs: Iterable[RecordRef]) -> set[RecordRef]:
    """Of the records named, those that exist here, in one query."""
    wanted = list(set(refs))
    if not wanted:
        return set()
    with conn.cursor() as cur:
        cur.execute(
            """SELECT d.sha256, r.record_key
               FROM unnest(%s::text[], %s::text[]) AS w(sha256, record_key)
               JOIN documents d ON d.sha256 = w.sha256
               JOIN records r ON r.document_id = d.id AND r.record_key = w.record_key""",
            ([r.document_sha256 for r in wanted], [r.record_key for r in wanted]),
        )
        return {RecordRef(row[0], row[1]) for row in cur.fetchall()}


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

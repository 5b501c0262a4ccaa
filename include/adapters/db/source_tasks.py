"""Tasks Label Studio created from a storage sync: noted, tied to their document, settled once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from include.adapters.db.common import Connection, dict_cursor

SettledState = Literal["in_place", "split", "duplicate", "failed"]


class SourceTask(BaseModel):
    ls_task_id: int
    source_link: str


class OpenSourceTask(BaseModel):
    """A source task whose file is a document here, with what its settling needs to know."""

    ls_task_id: int
    source_link: str
    document_id: int
    document_had_tasks: bool
    document_status: str
    document_error: str | None
    record_ids: list[int]
    linked_task_ids: list[int]  # live LS tasks of the document's records in this project


def note_source_tasks(conn: Connection, ls_project_id: int, items: Sequence[tuple[int, str]]) -> int:
    """Note (task id, link) pairs in one statement; a task id LS reused for another file starts over, an id
    given twice keeps its last link. How many are new or changed (`nerloop_note_source_tasks`)."""
    if not items:
        return 0
    with conn.cursor() as cur:
        cur.execute(
            "SELECT nerloop_note_source_tasks(%s, %s::jsonb)",
            (ls_project_id, json.dumps(source_task_items(items), separators=(",", ":"))),
        )
        n: int = cur.fetchone()[0]
    return n


def source_task_items(items: Sequence[tuple[int, str]]) -> list[dict[str, object]]:
    """(task id, link) pairs as the items `nerloop_note_source_tasks` (and an event's plan) take."""
    return [{"task_id": task_id, "link": link} for task_id, link in items]


def pending_source_tasks(conn: Connection, ls_project_id: int) -> list[SourceTask]:
    with dict_cursor(conn) as cur:
        cur.execute(
            """SELECT ls_task_id, source_link FROM ls_source_tasks
               WHERE ls_project_id = %s AND state = 'pending' ORDER BY ls_task_id""",
            (ls_project_id,),
        )
        return [SourceTask(**row) for row in cur.fetchall()]


def register_source_task(conn: Connection, ls_project_id: int, ls_task_id: int, document_id: int) -> bool:
    """Tie the task to its document; True when the document's records already have tasks here."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE ls_source_tasks SET state = 'registered', document_id = %(doc)s,
                      document_had_tasks = EXISTS (
                          SELECT 1 FROM records r WHERE r.document_id = %(doc)s
                            AND r.ls_project_id = %(project)s AND r.ls_task_id IS NOT NULL)
               WHERE ls_project_id = %(project)s AND ls_task_id = %(task)s
               RETURNING document_had_tasks""",
            {"doc": document_id, "project": ls_project_id, "task": ls_task_id},
        )
        had: bool = cur.fetchone()[0]
    return had


def settle_source_task(
    conn: Connection, ls_project_id: int, ls_task_id: int, state: SettledState, detail: str
) -> None:
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE ls_source_tasks SET state = %s, detail = %s, settled_at = now()
               WHERE ls_project_id = %s AND ls_task_id = %s""",
            (state, detail, ls_project_id, ls_task_id),
        )


def open_source_tasks(conn: Connection, ls_project_id: int) -> list[OpenSourceTask]:
    """Registered source tasks of the project with their document's status, records and live tasks."""
    with dict_cursor(conn) as cur:
        cur.execute(
            """SELECT s.ls_task_id, s.source_link, s.document_id, s.document_had_tasks,
                      d.status AS document_status, d.error AS document_error,
                      COALESCE(array_agg(r.id ORDER BY r.id) FILTER (WHERE r.id IS NOT NULL), '{}')
                          AS record_ids,
                      COALESCE(array_agg(r.ls_task_id ORDER BY r.ls_task_id)
                               FILTER (WHERE r.ls_task_id IS NOT NULL AND r.ls_project_id = s.ls_project_id),
                               '{}') AS linked_task_ids
               FROM ls_source_tasks s
               JOIN documents d ON d.id = s.document_id
               LEFT JOIN records r ON r.document_id = d.id
               WHERE s.ls_project_id = %s AND s.state = 'registered'
               GROUP BY s.ls_task_id, s.source_link, s.document_id, s.document_had_tasks, d.status, d.error
               ORDER BY s.ls_task_id""",
            (ls_project_id,),
        )
        return [OpenSourceTask(**row) for row in cur.fetchall()]

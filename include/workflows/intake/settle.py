"""Settle: mark each storage task once — `failed`, `in_place`, `split` or `duplicate` — with its reason,
in the task's data in Label Studio (for people) and in `ls_source_tasks` (state, detail).

Prelabel's import step calls `around_import` once, around its import of record tasks: the records that
are the whole of a file LS made a task for are kept out of that import and prelabeled in that task
(`include.workflows.intake.in_place`) once it is done; then a document of many records is marked split into
its record tasks (or a duplicate of the tasks its records already had), a failed document failed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from include.adapters.db import documents
from include.adapters.db import source_tasks as stored
from include.adapters.db.common import Connection
from include.adapters.db.connection import transaction
from include.adapters.db.documents import PendingRecord
from include.adapters.db.labelling import Prediction
from include.adapters.label_studio.payloads import TASK_TEXT
from include.workflows.intake.in_place import TaskBuilder, in_place_documents, prelabel_in_place

log = logging.getLogger(__name__)


def settle_failed(
    conn: Connection, ls: Any, ls_project_id: int, task: stored.SourceTask, reason: str
) -> None:
    """Settle the task `failed` with its reason, here and (when `ls` is given) in the task's data in LS."""
    log.warning("storage task not taken in: %s", reason)
    if ls is not None:
        try:
            ls.tasks.update(
                str(task.ls_task_id),
                data={TASK_TEXT: task.source_link, "nerloop_state": "failed", "nerloop_detail": reason},
            )
        except Exception as error:  # the mark is for people; the settled row keeps the reason regardless
            log.warning("task %d: could not mark it failed in LS: %s", task.ls_task_id, error)
    with transaction(conn):
        stored.settle_source_task(conn, ls_project_id, task.ls_task_id, "failed", reason)


@dataclass
class SettleSummary:
    in_place: int = 0  # settled here only when a rerun relinked a task an earlier run prelabeled in place
    split: int = 0
    duplicate: int = 0
    failed: int = 0
    waiting: int = 0


def settle_source_tasks(conn: Connection, ls: Any, ls_project_id: int) -> SettleSummary:
    """Mark each storage task whose document is settled: split into (or a duplicate of) record tasks,
    or failed with the document's reason. Tasks prelabeled in place were settled by the import."""
    summary = SettleSummary()
    with transaction(conn):
        open_tasks = stored.open_source_tasks(conn, ls_project_id)
    for o in open_tasks:
        if o.linked_task_ids == [o.ls_task_id]:
            # Prelabeled in place by a run that died before settling it; the next run relinked it.
            with transaction(conn):
                stored.settle_source_task(conn, ls_project_id, o.ls_task_id, "in_place", "relinked")
            summary.in_place += 1
            continue
        if o.document_status == "failed":
            state, detail = "failed", o.document_error or "extraction failed"
            data: dict[str, object] = {"nerloop_state": "failed", "nerloop_detail": detail}
        elif o.record_ids and len(o.linked_task_ids) == len(o.record_ids):
            state = "duplicate" if o.document_had_tasks else "split"
            detail = f"{len(o.linked_task_ids)} record tasks: {o.linked_task_ids[:20]}"
            data = {"nerloop_state": state, "split_into": o.linked_task_ids}
        else:
            summary.waiting += 1
            continue
        # The task's data as the sync made it (LS's GET would hand back the link resolved), plus the mark.
        ls.tasks.update(str(o.ls_task_id), data={TASK_TEXT: o.source_link, **data})
        with transaction(conn):
            stored.settle_source_task(conn, ls_project_id, o.ls_task_id, state, detail)  # type: ignore[arg-type]
            if state != "failed":
                documents.set_documents_status(conn, [o.document_id], "prelabeled")
        setattr(summary, state, getattr(summary, state) + 1)
    if open_tasks:
        log.info("LS project %d storage tasks: %s", ls_project_id, summary)
    return summary


@dataclass
class ImportAround:
    """What `around_import` leaves to the import (`records`: to import as new tasks) and what it did once
    the import was done (`in_place`: records prelabeled in their file's task; `settled`: state → tasks)."""

    records: list[tuple[PendingRecord, Prediction]]
    in_place: int = 0
    settled: dict[str, int] = field(default_factory=dict)


@contextmanager
def around_import(
    conn: Connection,
    ls: Any,
    ls_project_id: int,
    work: Sequence[tuple[PendingRecord, Prediction]],
    build_task: TaskBuilder,
) -> Iterator[ImportAround]:
    """The storage tasks' part of prelabel's import step, around its import of `records` as new tasks.

    Before: the records that are the whole of a file LS made a task for are taken out of `work`. After the
    import (not when it raised): those records are prelabeled in their file's task, then every storage task
    whose document is settled is marked (`settle_source_tasks`).
    """
    task_of_document = in_place_documents(conn, ls_project_id)
    own = [(p, pred) for p, pred in work if p.document_id in task_of_document]
    around = ImportAround([(p, pred) for p, pred in work if p.document_id not in task_of_document])
    yield around
    around.in_place = prelabel_in_place(conn, ls, ls_project_id, own, task_of_document, build_task)
    settled = settle_source_tasks(conn, ls, ls_project_id)
    around.settled = {k: v for k, v in asdict(settled).items() if v}

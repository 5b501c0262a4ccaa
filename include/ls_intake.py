"""Intake of the tasks Label Studio creates from a storage sync (one task per file, its text a link).

The shim notes them from TASKS_CREATED; `scan_source_tasks` finds any it missed. `register_source_tasks`
first asks LS whether its storage sync made the task from the project's own storage of the inbox and
whether the file lies inside the inbox (anyone who may import tasks can type a link: such a task is
settled `failed` with the reason and nothing is read), then hashes each file and registers it as a
document — the same bytes dropped in the inbox are the same document, never a second one — so the
prelabel steps (extract, infer) treat it like any other; the import step then settles the task
(`settle_source_tasks`): a single-record document is prelabeled in place (its text and lineage written
into that task, its prediction added in bulk), a document of many records goes out as record tasks and
the file's task is marked split, pointing at them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from label_studio_sdk.core.api_error import ApiError

from include.db import documents
from include.db import source_tasks as stored
from include.db.common import Connection
from include.db.connection import transaction
from include.ingest import SourceObject, register
from include.label_studio.payloads import TASK_TEXT
from include.label_studio.storage import NotOurFile, inbox_file, own_storages, storage_link
from include.objectstore import Location, ObjectStore

log = logging.getLogger(__name__)


def note_from_tasks(conn: Connection, ls_project_id: int, tasks: list[tuple[int, dict[str, Any]]]) -> int:
    """Note the storage-created tasks among (task id, data) pairs; how many are new."""
    items = [(task_id, link) for task_id, data in tasks if (link := storage_link(data))]
    with transaction(conn):
        return stored.note_source_tasks(conn, ls_project_id, items)


def scan_source_tasks(conn: Connection, ls: Any, ls_project_id: int) -> int:
    """List the project's tasks and note storage-created ones the webhook missed (LS never retries)."""
    tasks = [
        (int(t.id), dict(t.data or {}))
        for t in ls.tasks.list(project=ls_project_id, fields="task_only", resolve_uri=False)
    ]
    noted = note_from_tasks(conn, ls_project_id, tasks)
    log.info(
        "LS project %d: %d tasks scanned, %d storage tasks newly noted", ls_project_id, len(tasks), noted
    )
    return noted


@dataclass
class IntakeSummary:
    registered: int = 0
    new_documents: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    deferred: list[dict[str, Any]] = field(default_factory=list)  # LS could not be asked: left pending
    document_ids: list[int] = field(default_factory=list)


def register_source_tasks(
    conn: Connection,
    ls_project_id: int,
    *,
    ls: Any,
    inbox_uri: str,
    files_root: Path | None,
    store: ObjectStore | None = None,
) -> IntakeSummary:
    """Register the file behind every noted task as a document (sha256: one document per content).

    Only what is the project's is read: LS must have made the task from the project's own source storage
    of `inbox_uri` (asked of LS, task by task), and its file must lie inside the inbox folder or under the
    inbox bucket and prefix (`include.label_studio.storage.inbox_file`). Any other task is settled
    `failed` with the reason — in Postgres and, for a task of this project, in the task itself
    (`nerloop_state: failed`, `nerloop_detail`) — and nothing is read for it. A task LS could not be asked
    about (LS unreachable, 5xx) stays pending for the next run; one bad task never stops the others.
    """
    summary = IntakeSummary()
    with transaction(conn):
        pending = stored.pending_source_tasks(conn, ls_project_id)
    if not pending:
        return summary
    storages = own_storages(ls, ls_project_id, inbox_uri, files_root)
    started = time.perf_counter()
    for n, task in enumerate(pending, start=1):
        try:
            shown = _ls_task(ls, task.ls_task_id)
        except Exception as error:  # LS unreachable or failing: ask again next run, read nothing now
            log.warning("storage task %d: LS could not be asked about it: %s", task.ls_task_id, error)
            summary.deferred.append({"task": task.ls_task_id, "error": str(error)})
            continue
        ours = shown is not None and shown[0] == ls_project_id
        try:
            if not ours:
                _check_link_only(task.source_link, inbox_uri, files_root)
                raise NotOurFile(f"LS has no task {task.ls_task_id} in project {ls_project_id}")
            assert shown is not None
            file = inbox_file(
                task.source_link,
                shown[1],
                inbox_uri=inbox_uri,
                files_root=files_root,
                storages=storages,
            )
        except NotOurFile as refused:
            reason = f"task {task.ls_task_id}: {task.source_link!r} not taken in: {refused}"
            _refuse(conn, ls if ours else None, ls_project_id, task, reason, summary)
            continue
        try:
            doc = register(
                conn, SourceObject(uri=file.uri, name=file.name, size=0, s3_key=file.s3_key), store
            )
        except (
            Exception
        ) as error:  # OSError for a local file (ELOOP: swapped for a symlink), ClientError for S3
            reason = f"task {task.ls_task_id}: cannot read {file.uri}: {error}"
            _refuse(conn, ls, ls_project_id, task, reason, summary)
            continue
        with transaction(conn):
            stored.register_source_task(conn, ls_project_id, task.ls_task_id, doc.document_id)
        summary.registered += 1
        summary.new_documents += int(doc.created)
        summary.document_ids.append(doc.document_id)
        if n % 50 == 0 or n == len(pending):
            log.info(
                "registered %d/%d storage tasks' files (%.1f files/s)",
                n,
                len(pending),
                n / max(time.perf_counter() - started, 1e-9),
            )
    summary.document_ids = sorted(set(summary.document_ids))
    return summary


def _ls_task(ls: Any, ls_task_id: int) -> tuple[int, str | None] | None:
    """The task's project and storage key (LS's `storage_filename`: set only by a storage sync), or None
    when LS has no such task. Other API errors are raised."""
    try:
        task = ls.tasks.get(str(ls_task_id))
    except ApiError as error:
        if error.status_code == 404:
            return None
        raise
    project = getattr(task, "project", None)
    key = getattr(task, "storage_filename", None)
    return (int(project) if project is not None else -1), (key if isinstance(key, str) else None)


def _check_link_only(link: str, inbox_uri: str, files_root: Path | None) -> None:
    """Say first what the link alone already rules out (no storage needed to tell)."""
    if not Location.parse(inbox_uri).is_s3 and files_root is None and not link.startswith("s3://"):
        raise NotOurFile(
            f"{link!r}: local files need LABEL_STUDIO_FILES_ROOT = LS's LOCAL_FILES_DOCUMENT_ROOT (unset)"
        )


def _refuse(
    conn: Connection,
    ls: Any,
    ls_project_id: int,
    task: stored.SourceTask,
    reason: str,
    summary: IntakeSummary,
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
    summary.failed.append({"task": task.ls_task_id, "error": reason})


@dataclass
class SettleSummary:
    in_place: int = 0  # settled here only when a rerun relinked a task an earlier run prelabeled in place
    split: int = 0
    duplicate: int = 0
    failed: int = 0
    waiting: int = 0


def in_place_documents(conn: Connection, ls_project_id: int) -> dict[int, int]:
    """Document id → its storage task, for documents of one record with no task yet: prelabeled in place."""
    with transaction(conn):
        open_tasks = stored.open_source_tasks(conn, ls_project_id)
    return {
        o.document_id: o.ls_task_id
        for o in open_tasks
        if len(o.record_ids) == 1
        and not o.linked_task_ids
        and o.document_status in ("extracted", "prelabeled")
    }


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

"""Intake of the tasks Label Studio creates from a storage sync (one task per file, its text a link).

The shim notes them from TASKS_CREATED; `scan_source_tasks` finds any it missed. `register_source_tasks`
hashes each file and registers it as a document — the same bytes dropped in the inbox are the same
document, never a second one — so the prelabel steps (extract, infer) treat it like any other; the
import step then settles the task (`settle_source_tasks`): a single-record document is prelabeled in
place (its text and lineage written into that task, its prediction added in bulk), a document of many
records goes out as record tasks and the file's task is marked split, pointing at them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from include.db import documents
from include.db import source_tasks as stored
from include.db.common import Connection
from include.db.connection import transaction
from include.ingest import SourceObject, register
from include.label_studio.payloads import TASK_TEXT
from include.label_studio.storage import source_uri, storage_link

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
    document_ids: list[int] = field(default_factory=list)


def register_source_tasks(
    conn: Connection, ls_project_id: int, *, files_root: Path | None, s3_client: Any = None
) -> IntakeSummary:
    """Register the file behind every noted task as a document (sha256: one document per content)."""
    summary = IntakeSummary()
    with transaction(conn):
        pending = stored.pending_source_tasks(conn, ls_project_id)
    started = time.perf_counter()
    for n, task in enumerate(pending, start=1):
        uri = source_uri(task.source_link, files_root)
        if uri is None:
            reason = (
                f"task {task.ls_task_id}: {task.source_link!r} is not a file this pipeline can read "
                "(local files need LABEL_STUDIO_FILES_ROOT = LS's LOCAL_FILES_DOCUMENT_ROOT, "
                f"now {files_root})"
            )
            _fail(conn, ls_project_id, task.ls_task_id, reason, summary)
            continue
        parsed = urlparse(uri)
        s3_key = parsed.path.lstrip("/") if uri.startswith("s3://") else None
        try:
            doc = register(
                conn, SourceObject(uri=uri, name=uri.rsplit("/", 1)[-1], size=0, s3_key=s3_key), s3_client
            )
        except Exception as error:  # OSError for a local file, botocore's ClientError for S3
            _fail(
                conn,
                ls_project_id,
                task.ls_task_id,
                f"task {task.ls_task_id}: cannot read {uri}: {error}",
                summary,
            )
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


def _fail(conn: Connection, ls_project_id: int, ls_task_id: int, reason: str, summary: IntakeSummary) -> None:
    log.warning("storage task not taken in: %s", reason)
    with transaction(conn):
        stored.settle_source_task(conn, ls_project_id, ls_task_id, "failed", reason)
    summary.failed.append({"task": ls_task_id, "error": reason})


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

"""Scan: list the project's tasks and note the storage tasks the webhook missed (LS never retries one)."""

from __future__ import annotations

import logging
from typing import Any

from include.adapters.db.common import Connection
from include.workflows.intake.note import note_from_tasks

log = logging.getLogger(__name__)


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

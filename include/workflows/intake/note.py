"""Note: which Label Studio tasks a storage sync made, recorded as pending for the intake.

A storage sync makes one task per file whose text is a link to it; LS reports them by TASKS_CREATED (the
shim puts `storage_tasks` of the event into its plan, applied by `nerloop_apply_event` in the event's own
statement), and the scan (`include.workflows.intake.scan`) and the reconcile run find any the webhook missed
(`note_from_tasks`). A noted task is a candidate only: `include.workflows.intake.register` decides what is
read.

Kept light (no Label Studio SDK): the webhook shim imports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from include.adapters.db import source_tasks as stored
from include.adapters.db.common import Connection
from include.adapters.db.connection import transaction
from include.adapters.label_studio.payloads import TASK_DOCUMENT_SHA256, TASK_TEXT

# A storage sync writes the link under LS's placeholder key when it cannot tell which field to use.
UNDEFINED_KEY = "$undefined$"


def storage_link(data: dict[str, Any]) -> str | None:
    """The file link of a task a storage sync created; None for the pipeline's own tasks and typed ones."""
    if TASK_DOCUMENT_SHA256 in data or data.get("nerloop_state"):
        return None
    for key in (TASK_TEXT, UNDEFINED_KEY):
        value = data.get(key)
        if isinstance(value, str) and (value.startswith("s3://") or "/data/local-files/?" in value):
            return value.strip() if _storable(value) else None
    return None


def _storable(value: str) -> bool:
    """Text Postgres can hold: no NUL, no lone surrogate (a webhook body may carry either)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value and len(value) <= 4096


def storage_tasks(tasks: Iterable[tuple[int, dict[str, Any]]]) -> list[tuple[int, str]]:
    """(task id, link) of the storage-created tasks among (task id, data) pairs."""
    return [(task_id, link) for task_id, data in tasks if (link := storage_link(data))]


def note_from_tasks(conn: Connection, ls_project_id: int, tasks: list[tuple[int, dict[str, Any]]]) -> int:
    """Note the storage-created tasks among (task id, data) pairs; how many are new."""
    items = storage_tasks(tasks)
    with transaction(conn):
        return stored.note_source_tasks(conn, ls_project_id, items)

"""In place: a document of one record is prelabeled in the task LS made for its file, not in a new task.

Its text and lineage keys are written into that task's data (`nerloop_state: in_place`) and its prediction
added through the bulk predictions API; the task is then settled `in_place`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from include.adapters.db import documents
from include.adapters.db import source_tasks as stored
from include.adapters.db.common import Connection
from include.adapters.db.connection import transaction
from include.adapters.db.documents import PendingRecord
from include.adapters.db.labelling import Prediction
from include.adapters.label_studio import client as ls_client

log = logging.getLogger(__name__)

# An LS task for a record with its prediction: {"data": …, "predictions": [one]} (prelabel's task builder).
TaskBuilder = Callable[[PendingRecord, Prediction], dict[str, Any]]


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


def prelabel_in_place(
    conn: Connection,
    ls: Any,
    project_id: int,
    work: Sequence[tuple[PendingRecord, Prediction]],
    task_of_document: dict[int, int],
    build_task: TaskBuilder,
) -> int:
    """Write each record's text and lineage into the task LS made for its file; predictions in bulk.

    Noted as an LS import first: a worker that dies after writing a task's data has that task relinked by
    the next run (its data names the record), which then neither writes it nor predicts it again.
    """
    if not work:
        return 0
    with transaction(conn):
        import_id = documents.begin_ls_import(conn, project_id, [p.record_id for p, _ in work])
    predictions = []
    links = []
    for p, pred in work:
        task_id = task_of_document[p.document_id]
        built = build_task(p, pred)
        ls.tasks.update(str(task_id), data={**built["data"], "nerloop_state": "in_place"})
        predictions.append({"task": task_id, **built["predictions"][0]})
        links.append((p.record_id, task_id, pred.model_version))
    ls_client.import_predictions(ls, project_id, predictions)
    with transaction(conn):
        documents.link_ls_tasks(conn, project_id, links)
        documents.set_documents_status(conn, sorted({p.document_id for p, _ in work}), "prelabeled")
        documents.finish_ls_imports(conn, [import_id])
        for p, _ in work:
            stored.settle_source_task(
                conn, project_id, task_of_document[p.document_id], "in_place", f"record {p.record_id}"
            )
    log.info("prelabeled %d Label Studio storage tasks in place (project %d)", len(work), project_id)
    return len(work)

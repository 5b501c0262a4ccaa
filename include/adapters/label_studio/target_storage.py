"""Label Studio target storage: the copy LS writes of every submitted task, and reading that copy back.

With FUTURE_SAVE_TASK_TO_STORAGE=true (set by `devstack.services.label_studio`), LS 1.23 writes one object
per task, `<task id>.json` in the storage's folder (S3: `<prefix>/<task id>.json`), holding the task as its
JSON export serializes it: id, data, project, created_at, updated_at, annotations in full (completed_by
expanded to a user object, the prediction each started from), predictions as ids. Measured with the real
LS 1.23.2 (tests/integration/test_ls_target_storage.py):

- every annotation create or update rewrites its task's object, inside the API request;
- with can_delete_objects, deleting an annotation deletes the whole task object, even when the task keeps
  other annotations (it comes back at the task's next annotation save), and deleting a task deletes it;
  without it, an object stays as last written, deleted annotations included.

So the copy is at most as new as LS, and a missing object says nothing (no annotation yet, a deleted task,
or a deleted annotation). `read_target_tasks` turns the objects into task dicts shaped like the LS API's
`tasks.list(fields="all")`, so the reconcile planner reads either the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from include.adapters.label_studio.storage import S3Access
from include.core.locations import Location, Store

log = logging.getLogger(__name__)

STORAGE_TITLE = "nerloop target"
_SUFFIX = ".json"


def ensure_target_storage(
    ls: Any,
    project_id: int,
    uri: str,
    *,
    s3: S3Access | None = None,
    title: str = STORAGE_TITLE,
) -> int:
    """The id of the project's export storage writing to `uri`, created (and synced once) if missing.

    Idempotent: a storage of the project for the same folder, or bucket and prefix, is reused. A new one
    deletes objects with their annotation (can_delete_objects), so the copy never keeps an annotation LS
    deleted; its first sync writes the tasks annotated before it existed. A local folder is created if
    missing and must lie under LS's LOCAL_FILES_DOCUMENT_ROOT (LS refuses it otherwise).
    """
    where = Location.parse(uri)
    if where.path is not None:
        folder = where.path.absolute()
        for storage in ls.export_storage.local.list(project=project_id):
            if storage.path and Path(storage.path).absolute() == folder:
                return int(storage.id)
        folder.mkdir(parents=True, exist_ok=True)
        created = ls.export_storage.local.create(
            project=project_id, path=str(folder), title=title, can_delete_objects=True
        )
        ls.export_storage.local.sync(id=created.id)
    else:
        for storage in ls.export_storage.s3.list(project=project_id):
            if storage.bucket == where.bucket and (storage.prefix or "").strip("/") == where.key:
                return int(storage.id)
        access = s3 or S3Access.from_env()
        created = ls.export_storage.s3.create(
            project=project_id,
            title=title,
            bucket=where.bucket,
            prefix=where.key or None,
            s3endpoint=access.endpoint_url,
            aws_access_key_id=access.access_key_id,
            aws_secret_access_key=access.secret_access_key,
            region_name=access.region,
            can_delete_objects=True,
        )
        ls.export_storage.s3.sync(id=created.id)
    log.info("LS project %d: target storage %s writes submitted tasks to %s", project_id, created.id, uri)
    return int(created.id)


def read_target_tasks(uri: str, store: Store, limit: int | None = None) -> list[dict[str, Any]]:
    """Every task object of the copy (the first `limit` found, if given), by task id, shaped like the LS
    API's full tasks, read through `store` (the caller's object store).

    Objects that are not a task with its annotations (another format, a stray file, unreadable JSON) are
    skipped with a warning. Raises FileNotFoundError for a local folder that does not exist (a copy that
    is configured but missing is not an empty copy).
    """
    tasks: dict[int, dict[str, Any]] = {}
    for name, body in _objects(uri, store):
        try:
            raw = json.loads(body)
        except ValueError as exc:
            log.warning("target storage %s: %s is not JSON (%s); skipped", uri, name, exc)
            continue
        task = normalize_task(raw)
        if task is None:
            log.warning("target storage %s: %s is not a task with its annotations; skipped", uri, name)
            continue
        tasks[int(task["id"])] = task
        if limit is not None and len(tasks) >= limit:
            break
    return [tasks[i] for i in sorted(tasks)]


def normalize_task(raw: Any) -> dict[str, Any] | None:
    """A stored task object as the LS API lists it, or None when it is not one.

    completed_by becomes the user id (the copy expands it to the user's email and names, which the API and
    the webhooks do not carry), and predictions listed as bare ids get the model version of the
    prediction an annotation started from, when one did.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), dict) or "annotations" not in raw:
        return None
    try:
        task_id = int(raw["id"])
    except (KeyError, TypeError, ValueError):
        return None
    annotations = []
    started_from: dict[int, dict[str, Any]] = {}
    for item in raw.get("annotations") or []:
        if not isinstance(item, dict):
            continue
        annotation = dict(item)
        user = annotation.get("completed_by")
        if isinstance(user, dict):
            annotation["completed_by"] = user.get("id")
        prediction = annotation.get("prediction")
        if isinstance(prediction, dict) and isinstance(prediction.get("id"), int):
            started_from[prediction["id"]] = {
                "id": prediction["id"],
                "model_version": prediction.get("model_version"),
            }
        annotation.setdefault("task", task_id)
        annotations.append(annotation)
    predictions = [
        p if isinstance(p, dict) else started_from.get(p, {"id": p, "model_version": None})
        for p in raw.get("predictions") or []
    ]
    return {**raw, "id": task_id, "annotations": annotations, "predictions": predictions}


def _objects(uri: str, store: Store) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each `<task id>.json` object right in the folder or prefix, read lazily (LS writes
    `<prefix>/<task id>.json`: deeper keys belong to another storage or tool)."""
    for obj in store.list(uri, recursive=False):
        if obj.name.endswith(_SUFFIX):
            yield (obj.s3_key or obj.name), store.read(obj.uri)

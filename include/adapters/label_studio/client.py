"""Label Studio through label-studio-sdk: the NER project, its webhook to the shim, chunked task import."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any, cast

from label_studio_sdk import LabelStudio

from include.core.labels import DEFAULT_LABELS, labeling_config_xml, labels_from_config

log = logging.getLogger(__name__)


def connect(url: str, token: str, timeout_s: float = 60.0) -> LabelStudio:
    return LabelStudio(base_url=url, api_key=token, timeout=timeout_s)


def ensure_project(
    ls: LabelStudio, title: str, labels: Sequence[str] = DEFAULT_LABELS, description: str = ""
) -> int:
    """The id of the project with this title, created with the NER labeling config if missing."""
    config = labeling_config_xml(list(labels))
    project: Any  # the SDK's pager type leaves its items untyped (SyncPagerExt[Never])
    for project in ls.projects.list():
        if project.title == title:
            if "$page_images" not in (project.label_config or "") and _same_labels(
                project.label_config, labels
            ):
                # A project from before the page view: same labels, so only the view changes.
                ls.projects.update(id=project.id, label_config=config)
                log.info("Label Studio project %s: labeling config now shows the source page", project.id)
            return int(project.id)
    created = ls.projects.create(title=title, label_config=config, description=description)
    log.info("created Label Studio project %s (%s)", created.id, title)
    assert created.id is not None
    return int(created.id)


def _same_labels(config: str | None, labels: Sequence[str]) -> bool:
    try:
        return config is not None and labels_from_config(config) == list(labels)
    except Exception:  # an unparsable or label-less config: leave it as its owner made it
        return False


def ensure_webhook(ls: LabelStudio, project_id: int, url: str, headers: dict[str, str]) -> int:
    """The project's webhook to `url`, created (all actions, with payload) or re-enabled as needed."""
    for hook in ls.webhooks.list(project=project_id):
        if hook.url == url:
            if not hook.is_active or (hook.headers or {}) != headers:
                ls.webhooks.update(id=hook.id, url=url, headers=headers, is_active=True)
            return int(hook.id)
    hook = ls.webhooks.create(
        url=url,
        project=project_id,
        send_payload=True,
        send_for_all_actions=True,
        headers=headers,
        is_active=True,
    )
    log.info("registered webhook %s → %s for project %s", hook.id, url, project_id)
    return int(hook.id)


def ensure_ml_backend(ls: LabelStudio, project_id: int, url: str, user: str, password: str) -> int:
    """The project's model: the ML backend at `url` (`http://<host>:<port>/ml`), attached with the Basic
    Auth pair it requires, interactive; created once, its credentials refreshed on later calls."""
    for backend in ls.ml.list(project=project_id):
        if backend.url == url:
            # LS 1.23 answers a PATCH without `url` and `project` with a 500 (its health check and setup call
            # need them).
            ls.ml.update(
                id=backend.id,
                url=url,
                project=project_id,
                auth_method="BASIC_AUTH",
                basic_auth_user=user,
                basic_auth_pass=password,
            )
            return int(backend.id)
    backend = ls.ml.create(
        url=url,
        project=project_id,
        title="nerloop",
        is_interactive=True,
        auth_method="BASIC_AUTH",
        basic_auth_user=user,
        basic_auth_pass=password,
    )
    log.info("attached ML backend %s → %s to project %s", backend.id, url, project_id)
    return int(backend.id)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def import_tasks(
    ls: LabelStudio, project_id: int, tasks: Sequence[dict[str, Any]], chunk_size: int = 100
) -> list[int]:
    """Import tasks (with inline predictions) in chunks; returns the new task ids in input order."""
    ids: list[int] = []
    started = time.perf_counter()
    for n, chunk in enumerate(chunks(tasks, chunk_size), start=1):
        response = ls.projects.import_tasks(project_id, request=list(chunk), return_task_ids=True)
        # `task_ids` is an extra field of the response (return_task_ids=True), not in the SDK's model.
        ids.extend(int(i) for i in cast(Any, response).task_ids or [])
        rate = len(ids) / max(time.perf_counter() - started, 1e-9)
        log.info("imported chunk %d: %d/%d tasks (%.0f tasks/s)", n, len(ids), len(tasks), rate)
    if len(ids) != len(tasks):
        raise RuntimeError(f"Label Studio returned {len(ids)} task ids for {len(tasks)} tasks")
    return ids


def import_predictions(ls: LabelStudio, project_id: int, predictions: Sequence[dict[str, Any]]) -> int:
    """Add predictions to existing tasks in bulk (`{"task": id, "result": [...], "model_version": ...}`)."""
    for chunk in chunks(predictions, 500):
        ls.projects.import_predictions(project_id, request=list(chunk))
    return len(predictions)

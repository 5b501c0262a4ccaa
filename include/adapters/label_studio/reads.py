"""What is read from Label Studio: the project, its webhooks, its task index and tasks, a task's origin."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from label_studio_sdk.core.api_error import ApiError
from pydantic import TypeAdapter

ANNOTATION_ACTIONS = frozenset({"ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED"})
_when = TypeAdapter(datetime | None).validate_python

# What a call to the LS API raises when LS cannot answer: catch these, then ask `is_unreachable`.
API_ERRORS: tuple[type[Exception], ...] = (httpx.TransportError, ApiError)


def is_unreachable(exc: BaseException) -> bool:
    """Whether an SDK call failed because LS did not answer (connection refused or dropped, a timeout, or a
    5xx from LS or its proxy), not because the request was wrong (4xx: a bad token, a missing project)."""
    if isinstance(exc, ApiError):
        return exc.status_code is not None and exc.status_code >= 500
    return isinstance(
        exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError | httpx.ProxyError
    )


@dataclass(frozen=True)
class WebhookCheck:
    ok: bool
    detail: str


@dataclass(frozen=True)
class IndexedTask:
    """One LS task as the cheap listing shows it: when it last changed and which annotations it has."""

    updated_at: datetime | None
    annotation_ids: frozenset[int]


def find_project(ls: Any, title: str) -> int | None:
    """The id of the LS project with this title, or None (reconciling never creates a project)."""
    return next((int(p.id) for p in ls.projects.list() if p.title == title), None)


def task_origin(ls: Any, task_id: int) -> tuple[int, str | None] | None:
    """The task's project and storage key (LS's `storage_filename`: set only by a storage sync), or None
    when LS has no such task. Other API errors are raised."""
    try:
        task = ls.tasks.get(str(task_id))
    except ApiError as error:
        if error.status_code == 404:
            return None
        raise
    project = getattr(task, "project", None)
    key = getattr(task, "storage_filename", None)
    return (int(project) if project is not None else -1), (key if isinstance(key, str) else None)


def check_webhook(ls: Any, project_id: int, url: str | None = None) -> WebhookCheck:
    """Whether the project has an active webhook that sends annotation events with their payload."""
    try:
        hooks = list(ls.webhooks.list(project=project_id))
    except Exception as exc:  # any SDK/HTTP error: the check reports it, the run goes on
        return WebhookCheck(False, f"cannot list webhooks: {exc}"[:300])
    for hook in hooks:
        covers = hook.send_for_all_actions or set(hook.actions or []) >= ANNOTATION_ACTIONS
        if (url is None or hook.url == url) and hook.is_active and hook.send_payload and covers:
            failures = getattr(hook, "consecutive_failures", None)  # tracked by LS Enterprise only
            note = f" ({failures} consecutive failures)" if failures else ""
            return WebhookCheck(True, f"webhook {hook.id} → {hook.url} active{note}")
    wanted = url or "any URL"
    found = ", ".join(f"{h.id} → {h.url} active={h.is_active}" for h in hooks) or "none"
    return WebhookCheck(False, f"no active webhook to {wanted} sending annotation events; found: {found}")


def list_task_index(ls: Any, project_id: int, page_size: int = 100) -> dict[int, IndexedTask]:
    """Every task id of the project with its updated_at and annotation ids (no results, no predictions)."""
    index: dict[int, IndexedTask] = {}
    for task in ls.tasks.list(
        project=project_id, fields="all", include="id,annotations_ids,updated_at", page_size=page_size
    ):
        raw = task.model_dump(mode="json")
        ids = frozenset(int(i) for i in str(raw.get("annotations_ids") or "").split(",") if i.strip())
        index[int(raw["id"])] = IndexedTask(_when(raw.get("updated_at")), ids)
    return index


def index_entry(task: dict[str, Any]) -> IndexedTask:
    """The index entry of a fully fetched task."""
    ids = frozenset(int(a["id"]) for a in task.get("annotations") or [])
    return IndexedTask(_when(task.get("updated_at")), ids)


def fetch_tasks(
    ls: Any, project_id: int, task_ids: Sequence[int], page_size: int = 100
) -> list[dict[str, Any]]:
    """Full tasks (annotations included) by id, as plain dicts; data as stored (storage links unresolved)."""
    query = json.dumps({"selectedItems": {"all": False, "included": list(task_ids)}})
    pager = ls.tasks.list(
        project=project_id, fields="all", query=query, page_size=page_size, resolve_uri=False
    )
    return [t.model_dump(mode="json") for t in pager]


def all_tasks(ls: Any, project_id: int, page_size: int = 100) -> Iterator[list[dict[str, Any]]]:
    """Every full task of the project, page by page, as plain dicts."""
    page: list[dict[str, Any]] = []
    for task in ls.tasks.list(project=project_id, fields="all", page_size=page_size, resolve_uri=False):
        page.append(task.model_dump(mode="json"))
        if len(page) == page_size:
            yield page
            page = []
    if page:
        yield page

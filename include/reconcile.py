"""Reconcile the database with Label Studio: replay, by the shim's code path, what webhooks never delivered.

Label Studio sends each webhook once, with a 1 s timeout, and never retries. A run reads the project's
tasks and annotations from the LS API, compares them with the database by annotation id and by delivery
(LS updated_at + result hash), and turns each difference into the event the shim would have received:
ANNOTATION_CREATED/UPDATED for missing deliveries, ANNOTATIONS_DELETED for annotations LS no longer has,
TASKS_CREATED for tasks not linked to their record, TASKS_DELETED for linked tasks LS no longer has. Each
event goes through `parse_event` + `apply_event`, so a delivery stored by the shim is never stored twice.

The watermark (newest task updated_at seen) only decides which tasks are fetched in full; every run still
lists all task ids with their annotation ids, because deletions leave nothing newer than the watermark.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
from pydantic import TypeAdapter, ValidationError

from include.db import ls_state
from include.db import repository as repo
from include.db.connection import transaction
from include.label_studio.client import chunks
from include.label_studio.events import ApplyConfig, EventOutcome, apply_event, parse_event
from include.label_studio.payloads import TASK_DOCUMENT_SHA256, TASK_RECORD_KEY, Annotation, AnnotationEvent

log = logging.getLogger(__name__)

DELIVERED_BY = "reconcile"
ANNOTATION_ACTIONS = frozenset({"ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED"})
_TASK_KEYS = ("id", "data", "project", "created_at", "updated_at")
_when = TypeAdapter(datetime | None).validate_python


@dataclass(frozen=True)
class ReconcileConfig:
    apply: ApplyConfig
    page_size: int = 100
    fetch_chunk: int = 100
    overlap: timedelta = timedelta(minutes=2)
    full_every: timedelta = timedelta(hours=24)
    full: bool = False
    webhook_url: str | None = None

    @classmethod
    def from_settings(cls, **overrides: Any) -> ReconcileConfig:
        from include.settings import get_settings

        s = get_settings()
        apply = ApplyConfig(field_map=dict(s.canonical_field_map), phone_region=s.default_phone_region)
        return replace(cls(apply=apply), **overrides)


@dataclass(frozen=True)
class WebhookCheck:
    ok: bool
    detail: str


@dataclass
class ReconcileReport:
    """What a run found and did. `seen` counts the annotations LS has; the rest count what changed here."""

    ls_project_id: int
    full: bool
    tasks_seen: int = 0
    tasks_fetched: int = 0
    seen: int = 0
    appended: int = 0
    tombstoned: int = 0
    linked: int = 0
    unlinked: int = 0
    already_present: int = 0
    unmatched: int = 0
    stale: int = 0
    invalid: int = 0
    duration_s: float = 0.0
    watermark: str | None = None
    webhook: WebhookCheck = field(default_factory=lambda: WebhookCheck(False, "not checked"))

    @property
    def nothing_to_do(self) -> bool:
        return not (self.appended or self.tombstoned or self.linked or self.unlinked)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "nothing_to_do": self.nothing_to_do}


@dataclass(frozen=True)
class IndexedTask:
    """One LS task as the cheap listing shows it: when it last changed and which annotations it has."""

    updated_at: datetime | None
    annotation_ids: frozenset[int]


def find_project(ls: Any, title: str) -> int | None:
    """The id of the LS project with this title, or None (reconciling never creates a project)."""
    return next((int(p.id) for p in ls.projects.list() if p.title == title), None)


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


def fetch_tasks(
    ls: Any, project_id: int, task_ids: Sequence[int], page_size: int = 100
) -> list[dict[str, Any]]:
    """Full tasks (annotations included) by id, as plain dicts."""
    query = json.dumps({"selectedItems": {"all": False, "included": list(task_ids)}})
    pager = ls.tasks.list(project=project_id, fields="all", query=query, page_size=page_size)
    return [t.model_dump(mode="json") for t in pager]


def reconcile_project(
    conn: repo.Connection, ls: Any, project_id: int, cfg: ReconcileConfig
) -> ReconcileReport:
    """Make the database hold every delivery LS has for the project, as if no webhook had been lost.

    Commits as it goes (one transaction per replayed event), so `conn` must not hold work of the caller's.
    """
    started = time.perf_counter()
    run_at = datetime.now(UTC)
    mark = ls_state.get_watermark(conn, project_id)
    full = cfg.full or _full_pass_due(mark, run_at, cfg.full_every)
    # The database is read before LS: an id it holds that LS lists no more was deleted, not created since.
    stored = ls_state.stored_annotations(conn, project_id)
    linked = ls_state.linked_tasks(conn, project_id)
    conn.commit()
    report = ReconcileReport(
        ls_project_id=project_id, full=full, webhook=check_webhook(ls, project_id, cfg.webhook_url)
    )
    if not report.webhook.ok:
        log.warning("project %d: %s", project_id, report.webhook.detail)
    run = _Run(conn, project_id, cfg, report, stored, linked)
    wanted: list[int] = []
    if not full:
        assert mark is not None and mark.ls_updated_at is not None
        since = mark.ls_updated_at - cfg.overlap
        index = list_task_index(ls, project_id, cfg.page_size)
        wanted = [task_id for task_id, task in index.items() if run.needs_fetch(task_id, task, since)]
        # Fetching most tasks by id costs more than one pass over all pages.
        full = report.full = 2 * len(wanted) > len(index)
    if full:
        index = run.full_pass(ls)
    else:
        skipped = index.keys() - set(wanted)
        report.already_present += sum(len(index[task_id].annotation_ids) for task_id in skipped)
        for n, chunk in enumerate(chunks(wanted, cfg.fetch_chunk), start=1):
            run.apply_tasks(fetch_tasks(ls, project_id, chunk, cfg.page_size))
            run.progress(n * cfg.fetch_chunk, len(wanted), started)
    run.tombstone_missing(index)
    run.unlink_missing(ls, index)
    report.tasks_seen = len(index)
    report.seen = sum(len(t.annotation_ids) for t in index.values())
    newest = max((t.updated_at for t in index.values() if t.updated_at), default=None)
    report.watermark = newest.isoformat() if newest else None
    report.duration_s = round(time.perf_counter() - started, 3)
    with transaction(conn):
        ls_state.save_watermark(
            conn, project_id, ls_updated_at=newest, full_at=run_at if full else None, report=report.as_json()
        )
    log.info(
        "reconciled project %d: %s", project_id, {k: v for k, v in report.as_json().items() if k != "webhook"}
    )
    return report


def _full_pass_due(mark: ls_state.Watermark | None, now: datetime, every: timedelta) -> bool:
    if mark is None or mark.ls_updated_at is None or mark.last_full_at is None:
        return True
    return now - mark.last_full_at >= every


class _Run:
    """One reconciliation: the snapshot of the database, and the events it replays."""

    def __init__(
        self,
        conn: repo.Connection,
        project_id: int,
        cfg: ReconcileConfig,
        report: ReconcileReport,
        stored: dict[int, ls_state.StoredDelivery],
        linked: set[int],
    ) -> None:
        self.conn, self.project_id, self.cfg, self.report = conn, project_id, cfg, report
        self.stored, self.linked = stored, linked
        self.fetched_ids: set[int] = set()

    def full_pass(self, ls: Any) -> dict[int, IndexedTask]:
        index: dict[int, IndexedTask] = {}
        started = time.perf_counter()
        pager = ls.tasks.list(project=self.project_id, fields="all", page_size=self.cfg.page_size)
        for page in _batched((t.model_dump(mode="json") for t in pager), self.cfg.page_size):
            for task in page:
                ids = frozenset(int(a["id"]) for a in task.get("annotations") or [])
                index[int(task["id"])] = IndexedTask(_when(task.get("updated_at")), ids)
            self.apply_tasks(page)
            self.progress(len(index), None, started)
        return index

    def needs_fetch(self, task_id: int, task: IndexedTask, since: datetime) -> bool:
        if task.updated_at is None or task.updated_at > since or task_id not in self.linked:
            return True
        for annotation_id in task.annotation_ids:
            stored = self.stored.get(annotation_id)
            if stored is None or stored.state in ("deleted", "unmatched"):
                return True
        return False

    def progress(self, done: int, total: int | None, started: float) -> None:
        rate = done / max(time.perf_counter() - started, 1e-9)
        log.info(
            "project %d: %d%s tasks fetched (%.0f tasks/s), %d versions appended, %d tasks linked",
            self.project_id,
            min(done, total) if total is not None else done,
            f"/{total}" if total is not None else "",
            rate,
            self.report.appended,
            self.report.linked,
        )

    def apply_tasks(self, tasks: list[dict[str, Any]]) -> None:
        self.report.tasks_fetched += len(tasks)
        self._link([t for t in tasks if int(t["id"]) not in self.linked])
        for task in tasks:
            for annotation in task.get("annotations") or []:
                self.fetched_ids.add(int(annotation["id"]))
                self._annotation(task, annotation)

    def _link(self, tasks: list[dict[str, Any]]) -> None:
        linkable = []
        with transaction(self.conn):
            for task in tasks:
                if self._record_of(task) is not None:
                    linkable.append(task)
                else:
                    log.debug("project %d: task %s matches no record", self.project_id, task["id"])
        if not linkable:
            return
        out = self._replay("TASKS_CREATED", {"tasks": [_task_payload(t, predictions=True) for t in linkable]})
        if out is not None:
            self.report.linked += out.counts["applied"]
            self.linked.update(int(t["id"]) for t in linkable)

    def _record_of(self, task: dict[str, Any]) -> repo.Record | None:
        data = task.get("data") or {}
        sha, key = data.get(TASK_DOCUMENT_SHA256), data.get(TASK_RECORD_KEY)
        if not (isinstance(sha, str) and isinstance(key, str)):
            return None
        try:
            return repo.find_record(self.conn, document_sha256=sha, record_key=key)
        except repo.RepositoryError:
            return None

    def _annotation(self, task: dict[str, Any], annotation: dict[str, Any]) -> None:
        stored = self.stored.get(int(annotation["id"]))
        action = "ANNOTATION_CREATED" if stored is None else "ANNOTATION_UPDATED"
        payload = self._payload(action, {"annotation": annotation, "task": _task_payload(task)})
        try:
            event = parse_event(payload)
        except ValidationError as exc:
            self.report.invalid += 1
            log.warning("annotation %s: not a valid delivery: %s", annotation.get("id"), str(exc)[:300])
            return
        assert isinstance(event, AnnotationEvent)
        if not self._needs_replay(stored, event.annotation, int(task["id"])):
            return
        out = self._apply(event, payload)
        if out is None:
            return
        self.report.appended += out.versions_written
        self.report.already_present += out.counts["duplicate"]
        self.report.stale += out.counts["stale"]
        self.report.unmatched += out.counts["unmatched"]

    def _needs_replay(
        self, stored: ls_state.StoredDelivery | None, annotation: Annotation, task_id: int
    ) -> bool:
        """False (and counted) when this delivery is stored, or still matches no record."""
        if stored is None or stored.state == "deleted":
            return True
        same_time = stored.ls_updated_at is not None and stored.ls_updated_at == annotation.updated_at
        if stored.state == "unmatched":
            if same_time and task_id not in self.linked:
                self.report.unmatched += 1
                return False
            return True
        if same_time and stored.result_sha256 == annotation.result_sha256():
            self.report.already_present += 1
            return False
        return True

    def tombstone_missing(self, index: dict[int, IndexedTask]) -> None:
        """Tombstone annotations LS no longer has in tasks it still has.

        Annotations of a deleted task stay as the shim leaves them on TASKS_DELETED: only the link goes.
        """
        present = self.fetched_ids.union(*(t.annotation_ids for t in index.values()))
        missing = sorted(
            annotation_id
            for annotation_id, stored in self.stored.items()
            if stored.state != "deleted" and annotation_id not in present and stored.ls_task_id in index
        )
        for chunk in chunks(missing, self.cfg.fetch_chunk):
            out = self._replay("ANNOTATIONS_DELETED", {"annotations": [{"id": i} for i in chunk]})
            if out is not None:
                self.report.tombstoned += out.versions_written

    def unlink_missing(self, ls: Any, index: dict[int, IndexedTask]) -> None:
        """Close the links of tasks LS no longer has, each confirmed by id.

        A page that shifted while it was listed (tasks deleted meanwhile) can skip a task that still exists.
        """
        for candidates in chunks(sorted(self.linked - index.keys()), self.cfg.fetch_chunk):
            still_there = {int(t["id"]) for t in fetch_tasks(ls, self.project_id, candidates)}
            chunk = [i for i in candidates if i not in still_there]
            if not chunk:
                continue
            out = self._replay("TASKS_DELETED", {"tasks": [{"id": i} for i in chunk]})
            if out is not None:
                self.report.unlinked += out.counts["applied"]

    def _payload(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"action": action, **body, "project": {"id": self.project_id}, "delivered_by": DELIVERED_BY}

    def _replay(self, action: str, body: dict[str, Any]) -> EventOutcome | None:
        payload = self._payload(action, body)
        return self._apply(parse_event(payload), payload)

    def _apply(self, event: Any, payload: dict[str, Any]) -> EventOutcome | None:
        try:
            with transaction(self.conn):
                return apply_event(self.conn, event, payload, self.cfg.apply)
        except psycopg2.DataError as exc:
            self.report.invalid += 1
            log.warning("%s: a value cannot be stored: %s", event.action, str(exc).strip()[:300])
            return None


def _task_payload(task: dict[str, Any], predictions: bool = False) -> dict[str, Any]:
    """The task as a webhook carries it: no annotation or prediction arrays, except model versions."""
    out = {k: task[k] for k in _TASK_KEYS if k in task}
    if predictions:
        out["predictions"] = [
            {"id": p.get("id"), "model_version": p.get("model_version")}
            for p in task.get("predictions") or []
            if isinstance(p, dict)
        ]
    return out


def _batched(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch

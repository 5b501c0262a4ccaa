"""Reconcile the database with Label Studio: replay, by the shim's code path, what webhooks never delivered.

Label Studio sends each webhook once, with a 1 s timeout, and never retries. A run reads what the database
holds of the project (the snapshot), then the project's tasks from the LS API
(`include.adapters.label_studio.reads`); the planner (`include.workflows.reconcile_plan`) turns each
difference into the event the shim would have received, and each event goes through `parse_event` +
`apply_event`, so a delivery stored by the shim is never stored twice.

The watermark (newest task updated_at seen) only decides which tasks are fetched in full; every run still
lists all task ids with their annotation ids, because deletions leave nothing newer than the watermark.

When the LS API does not answer (connection refused, a timeout, a 5xx) and a target storage is configured
(LS_TARGET_STORAGE_URI, `include.adapters.label_studio.target_storage`), the run reads LS's own copy of the
submitted tasks instead, and its report says so (`source: "target_storage"`). The copy holds only tasks
with annotations, and LS deletes a task's object when the task or any of its annotations is deleted, so a
missing object proves nothing: from the copy a run appends and links, tombstones an annotation only when a
newer write of its task no longer lists it, never revives an annotation tombstoned here, unlinks nothing,
and counts what it could not check. The watermark does not move.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
from pydantic import ValidationError

from include.adapters.db import ls_state
from include.adapters.db import repository as repo
from include.adapters.db.connection import transaction
from include.adapters.label_studio.client import chunks
from include.adapters.label_studio.reads import (
    API_ERRORS,
    IndexedTask,
    WebhookCheck,
    all_tasks,
    check_webhook,
    fetch_tasks,
    find_project,
    index_entry,
    is_unreachable,
    list_task_index,
)
from include.adapters.label_studio.target_storage import read_target_tasks
from include.adapters.objectstore import ObjectStore, default_store
from include.workflows.annotations import ApplyConfig, EventOutcome, apply_event, parse_event
from include.workflows.intake.note import note_from_tasks
from include.workflows.reconcile_plan import (
    Plan,
    Snapshot,
    plan_deletions,
    plan_tasks,
    plan_unlinks,
    record_ref,
    tasks_to_fetch,
    unlink_candidates,
)

log = logging.getLogger(__name__)

__all__ = [
    "LabelStudioUnreachable",
    "ReconcileConfig",
    "ReconcileReport",
    "find_project",
    "reconcile_project",
    "resolve_project",
]

SOURCE_API = "label_studio_api"
SOURCE_TARGET = "target_storage"


class LabelStudioUnreachable(RuntimeError):
    """The LS API did not answer and no target storage copy is configured to reconcile from."""


@dataclass(frozen=True)
class ReconcileConfig:
    apply: ApplyConfig
    page_size: int = 100
    fetch_chunk: int = 100
    overlap: timedelta = timedelta(minutes=2)
    full_every: timedelta = timedelta(hours=24)
    full: bool = False
    webhook_url: str | None = None
    target_storage_uri: str | None = None

    @classmethod
    def from_settings(cls, **overrides: Any) -> ReconcileConfig:
        from include.core.settings import get_settings

        s = get_settings()
        apply = ApplyConfig(
            field_map=dict(s.canonical.canonical_field_map), phone_region=s.canonical.default_phone_region
        )
        return replace(cls(apply=apply, target_storage_uri=s.label_studio.ls_target_storage_uri), **overrides)


@dataclass
class ReconcileReport:
    """What a run found and did. `seen` counts the annotations LS has; the rest count what changed here."""

    ls_project_id: int
    full: bool
    source: str = SOURCE_API
    source_detail: str | None = None
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
    # From the target storage copy: stored annotations and linked tasks it could neither confirm nor refute.
    not_checked_annotations: int = 0
    not_checked_links: int = 0
    # Tasks a storage sync made whose TASKS_CREATED never reached the shim: noted for label_studio_intake.
    storage_tasks_noted: int = 0
    duration_s: float = 0.0
    watermark: str | None = None
    webhook: WebhookCheck = field(default_factory=lambda: WebhookCheck(False, "not checked"))

    @property
    def nothing_to_do(self) -> bool:
        return not (self.appended or self.tombstoned or self.linked or self.unlinked)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "nothing_to_do": self.nothing_to_do}


def resolve_project(
    ls: Any, title: str, cfg: ReconcileConfig, store: ObjectStore | None = None
) -> int | None:
    """The id of the LS project titled `title` (None: no such project). When the LS API does not answer,
    the project of the target storage copy's first task (a copy serves the deployment's one project; a
    run from it skips tasks of any other); None when the copy is empty."""
    try:
        return find_project(ls, title)
    except API_ERRORS as exc:
        if not is_unreachable(exc):
            raise
        uri = _require_copy(cfg, exc)
        log.warning("Label Studio API unreachable (%s): taking the project id from %s", _brief(exc), uri)
        first = read_target_tasks(uri, store or default_store(), limit=1)
        return int(first[0]["project"]) if first and first[0].get("project") is not None else None


def reconcile_project(
    conn: repo.Connection, ls: Any, project_id: int, cfg: ReconcileConfig, store: ObjectStore | None = None
) -> ReconcileReport:
    """Make the database hold every delivery LS has for the project, as if no webhook had been lost.

    Reads the LS API; when it does not answer, the target storage copy (`cfg.target_storage_uri`, read
    through `store`, the object store built from settings unless given), or raises
    LabelStudioUnreachable when none is configured.
    Commits as it goes (one transaction per replayed event), so `conn` must not hold work of the caller's.
    """
    try:
        return _reconcile_from_api(conn, ls, project_id, cfg)
    except API_ERRORS as exc:
        if not is_unreachable(exc):
            raise
        uri = _require_copy(cfg, exc)
        detail = f"Label Studio API unreachable: {_brief(exc)}"
        log.warning("project %d: %s; reconciling from the target storage copy %s", project_id, detail, uri)
        return _reconcile_from_copy(conn, project_id, cfg, uri, store, detail)


def _require_copy(cfg: ReconcileConfig, exc: Exception) -> str:
    if cfg.target_storage_uri is None:
        raise LabelStudioUnreachable(
            f"Label Studio API unreachable ({_brief(exc)}) and no target storage configured "
            "(LS_TARGET_STORAGE_URI) to reconcile from; nothing was reconciled"
        ) from exc
    return cfg.target_storage_uri


def _brief(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    text = f"HTTP {status}" if status is not None else str(exc) or ""
    return f"{type(exc).__name__}: {text}"[:300]


def _read_snapshot(conn: repo.Connection, project_id: int) -> tuple[ls_state.Watermark | None, Snapshot]:
    with transaction(conn):
        mark = ls_state.get_watermark(conn, project_id)
        # The database is read before LS: an id it holds that LS lists no more was deleted, not created since.
        snapshot = Snapshot(
            project_id, ls_state.stored_annotations(conn, project_id), ls_state.linked_tasks(conn, project_id)
        )
    return mark, snapshot


def _reconcile_from_api(
    conn: repo.Connection, ls: Any, project_id: int, cfg: ReconcileConfig
) -> ReconcileReport:
    started = time.perf_counter()
    run_at = datetime.now(UTC)
    mark, snapshot = _read_snapshot(conn, project_id)
    full = cfg.full or _full_pass_due(mark, run_at, cfg.full_every)
    report = ReconcileReport(
        ls_project_id=project_id, full=full, webhook=check_webhook(ls, project_id, cfg.webhook_url)
    )
    if not report.webhook.ok:
        log.warning("project %d: %s", project_id, report.webhook.detail)
    run = _Run(conn, cfg, report, snapshot)
    wanted: list[int] = []
    if not full:
        assert mark is not None and mark.ls_updated_at is not None
        index = list_task_index(ls, project_id, cfg.page_size)
        wanted = tasks_to_fetch(snapshot, index, mark.ls_updated_at - cfg.overlap)
        # Fetching most tasks by id costs more than one pass over all pages.
        full = report.full = 2 * len(wanted) > len(index)
    if full:
        index = {}
        for page in all_tasks(ls, project_id, cfg.page_size):
            index.update((int(t["id"]), index_entry(t)) for t in page)
            run.apply_tasks(page)
            run.progress(len(index), None, started)
    else:
        skipped = index.keys() - set(wanted)
        report.already_present += sum(len(index[task_id].annotation_ids) for task_id in skipped)
        for n, chunk in enumerate(chunks(wanted, cfg.fetch_chunk), start=1):
            run.apply_tasks(fetch_tasks(ls, project_id, chunk, cfg.page_size))
            run.progress(n * cfg.fetch_chunk, len(wanted), started)
    run.replay(plan_deletions(run.snapshot, index, run.fetched_ids, cfg.fetch_chunk))
    for candidates in chunks(unlink_candidates(run.snapshot, index), cfg.fetch_chunk):
        still_there = {int(t["id"]) for t in fetch_tasks(ls, project_id, candidates)}
        run.replay(plan_unlinks(run.snapshot, [i for i in candidates if i not in still_there]))
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


def _reconcile_from_copy(
    conn: repo.Connection,
    project_id: int,
    cfg: ReconcileConfig,
    uri: str,
    store: ObjectStore | None,
    detail: str,
) -> ReconcileReport:
    """One run from the target storage copy: appends, links and the tombstones the copy proves."""
    started = time.perf_counter()
    # Read again: a run that lost LS half way may have replayed some events already.
    _, snapshot = _read_snapshot(conn, project_id)
    tasks = read_target_tasks(uri, store or default_store())
    mine = [t for t in tasks if t.get("project") is None or int(t["project"]) == project_id]
    if len(mine) < len(tasks):
        log.warning("target storage %s: %d tasks of other projects skipped", uri, len(tasks) - len(mine))
    report = ReconcileReport(
        ls_project_id=project_id,
        full=False,
        source=SOURCE_TARGET,
        source_detail=f"{detail}; read {uri}",
        webhook=WebhookCheck(False, "not checked: the Label Studio API is unreachable"),
    )
    tasks, revived = drop_tombstoned(snapshot, mine)
    if revived:
        log.warning(
            "project %d: the copy still lists %d annotations tombstoned here (%s); not revived",
            project_id,
            len(revived),
            ", ".join(map(str, revived[:20])),
        )
    run = _Run(conn, cfg, report, snapshot)
    for n, chunk in enumerate(chunks(tasks, cfg.fetch_chunk), start=1):
        run.apply_tasks(chunk)
        run.progress(n * cfg.fetch_chunk, len(tasks), started)
    scope, index, unchecked = copy_deletion_scope(run.snapshot, tasks)
    run.replay(plan_deletions(scope, index, run.fetched_ids, cfg.fetch_chunk))
    report.tasks_seen = len(tasks)
    report.seen = sum(len(t.annotation_ids) for t in index.values())
    report.not_checked_annotations = len(unchecked)
    report.not_checked_links = len(set(run.snapshot.linked) - index.keys())
    report.duration_s = round(time.perf_counter() - started, 3)
    with transaction(conn):
        # The copy lags LS: the watermark and the last full pass stay as the last API run left them.
        ls_state.save_watermark(conn, project_id, ls_updated_at=None, full_at=None, report=report.as_json())
    log.warning(
        "reconciled project %d from the target storage copy %s: %s; not checked (the copy cannot tell): "
        "%d annotations stored here (task without an object, or changed after its object was written), "
        "%d linked tasks without an object (deleted, or not annotated)",
        project_id,
        uri,
        {k: v for k, v in report.as_json().items() if k not in ("webhook", "source_detail")},
        report.not_checked_annotations,
        report.not_checked_links,
    )
    return report


def drop_tombstoned(
    snapshot: Snapshot, tasks: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[int]]:
    """The tasks without the annotations tombstoned here, and their ids. The copy can be older than the
    deletion (a storage without can_delete_objects keeps deleted annotations), so it never revives one."""
    dropped: list[int] = []
    out = []
    for task in tasks:
        kept = []
        for annotation in task.get("annotations") or []:
            stored = snapshot.stored.get(int(annotation["id"]))
            if stored is not None and stored.state == "deleted":
                dropped.append(int(annotation["id"]))
            else:
                kept.append(annotation)
        out.append({**task, "annotations": kept})
    return out, dropped


def copy_deletion_scope(
    snapshot: Snapshot, tasks: Sequence[dict[str, Any]]
) -> tuple[Snapshot, dict[int, IndexedTask], list[int]]:
    """What the copy can tell about deletions: the snapshot `plan_deletions` may tombstone from, the index
    of the copy's tasks, and the live annotations stored here it cannot check.

    An object is the whole task as of its last write, and a deletion removes it; so an annotation stored
    here that a task's object does not list was deleted, provided it last changed no later than the
    newest annotation the object lists. Newer ones (a write LS failed to make) and those of tasks with no
    object are left alone.
    """
    index = {int(t["id"]): index_entry(t) for t in tasks}
    written = {int(t["id"]): _newest_annotation(t) for t in tasks}
    stored, unchecked = {}, []
    for annotation_id, s in snapshot.stored.items():
        if s.state == "deleted":
            stored[annotation_id] = s
            continue
        task_written = written.get(s.ls_task_id)
        listed = s.ls_task_id in index and annotation_id in index[s.ls_task_id].annotation_ids
        changed = s.ls_updated_at
        provable = task_written is not None and changed is not None and changed <= task_written
        if listed or provable:
            stored[annotation_id] = s
        else:
            unchecked.append(annotation_id)
    return replace(snapshot, stored=stored), index, sorted(unchecked)


def _newest_annotation(task: dict[str, Any]) -> datetime | None:
    times = [a.get("updated_at") for a in task.get("annotations") or []]
    return max((datetime.fromisoformat(t) for t in times if isinstance(t, str)), default=None)


def _full_pass_due(mark: ls_state.Watermark | None, now: datetime, every: timedelta) -> bool:
    if mark is None or mark.ls_updated_at is None or mark.last_full_at is None:
        return True
    return now - mark.last_full_at >= every


class _Run:
    """One reconciliation: the snapshot (kept current as links are made) and the replay of each plan."""

    def __init__(
        self, conn: repo.Connection, cfg: ReconcileConfig, report: ReconcileReport, snapshot: Snapshot
    ) -> None:
        self.conn, self.cfg, self.report, self.snapshot = conn, cfg, report, snapshot
        self.fetched_ids: set[int] = set()

    def progress(self, done: int, total: int | None, started: float) -> None:
        rate = done / max(time.perf_counter() - started, 1e-9)
        log.info(
            "project %d: %d%s tasks fetched (%.0f tasks/s), %d versions appended, %d tasks linked",
            self.snapshot.project_id,
            min(done, total) if total is not None else done,
            f"/{total}" if total is not None else "",
            rate,
            self.report.appended,
            self.report.linked,
        )

    def apply_tasks(self, tasks: Sequence[dict[str, Any]]) -> None:
        self.report.tasks_fetched += len(tasks)
        files = [(int(t["id"]), t.get("data") or {}) for t in tasks if isinstance(t.get("data"), dict)]
        self.report.storage_tasks_noted += note_from_tasks(self.conn, self.report.ls_project_id, files)
        self.fetched_ids.update(int(a["id"]) for t in tasks for a in t.get("annotations") or [])
        refs = [ref for ref in map(record_ref, tasks) if ref is not None]
        with transaction(self.conn):
            known = ls_state.existing_records(self.conn, refs)
        self.replay(plan_tasks(self.snapshot, tasks, known))

    def replay(self, plan: Plan) -> None:
        report = self.report
        report.already_present += plan.already_present
        report.unmatched += plan.unmatched
        for problem in plan.invalid:
            report.invalid += 1
            log.warning("%s", problem)
        for payload in plan.payloads:
            out = self._apply(payload)
            if out is None:
                continue
            action = payload["action"]
            if action == "TASKS_CREATED":
                report.linked += out.counts["applied"]
                refs = {int(t["id"]): record_ref(t) for t in payload["tasks"]}
                self.snapshot = replace(
                    self.snapshot, linked={**self.snapshot.linked, **{k: v for k, v in refs.items() if v}}
                )
            elif action == "TASKS_DELETED":
                report.unlinked += out.counts["applied"]
            elif action == "ANNOTATIONS_DELETED":
                report.tombstoned += out.versions_written
            else:
                report.appended += out.versions_written
                report.already_present += out.counts["duplicate"]
                report.stale += out.counts["stale"]
                report.unmatched += out.counts["unmatched"]

    def _apply(self, payload: dict[str, Any]) -> EventOutcome | None:
        try:
            event = parse_event(payload)
            with transaction(self.conn):
                return apply_event(self.conn, event, payload, self.cfg.apply)
        except ValidationError as exc:
            self.report.invalid += 1
            log.warning("%s: not a valid delivery: %s", payload["action"], str(exc)[:300])
            return None
        except psycopg2.DataError as exc:
            self.report.invalid += 1
            log.warning("%s: a value cannot be stored: %s", payload["action"], str(exc).strip()[:300])
            return None

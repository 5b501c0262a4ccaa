"""Reconcile the database with Label Studio: replay, by the shim's code path, what webhooks never delivered.

Label Studio sends each webhook once, with a 1 s timeout, and never retries. A run reads what the database
holds of the project (the snapshot), then the project's tasks from the LS API (`include.label_studio.reads`);
the planner (`include.reconcile_plan`) turns each difference into the event the shim would have received,
and each event goes through `parse_event` + `apply_event`, so a delivery stored by the shim is never
stored twice.

The watermark (newest task updated_at seen) only decides which tasks are fetched in full; every run still
lists all task ids with their annotation ids, because deletions leave nothing newer than the watermark.
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

from include.db import ls_state
from include.db import repository as repo
from include.db.connection import transaction
from include.label_studio.client import chunks
from include.label_studio.events import ApplyConfig, EventOutcome, apply_event, parse_event
from include.label_studio.reads import (
    WebhookCheck,
    all_tasks,
    check_webhook,
    fetch_tasks,
    find_project,
    index_entry,
    list_task_index,
)
from include.reconcile_plan import (
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

__all__ = ["ReconcileConfig", "ReconcileReport", "find_project", "reconcile_project"]


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


def reconcile_project(
    conn: repo.Connection, ls: Any, project_id: int, cfg: ReconcileConfig
) -> ReconcileReport:
    """Make the database hold every delivery LS has for the project, as if no webhook had been lost.

    Commits as it goes (one transaction per replayed event), so `conn` must not hold work of the caller's.
    """
    started = time.perf_counter()
    run_at = datetime.now(UTC)
    with transaction(conn):
        mark = ls_state.get_watermark(conn, project_id)
        # The database is read before LS: an id it holds that LS lists no more was deleted, not created since.
        snapshot = Snapshot(
            project_id, ls_state.stored_annotations(conn, project_id), ls_state.linked_tasks(conn, project_id)
        )
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

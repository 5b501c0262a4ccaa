"""Reconcile task body: the Label Studio project by title → `include.workflows.reconcile` → counts in the task
log.

When the LS API is unreachable, `include.workflows.reconcile` reads the target storage copy
(LS_TARGET_STORAGE_URI) if one is configured, and fails the task with LabelStudioUnreachable if not."""

from __future__ import annotations

import logging
from typing import Any

from nerloop_airflow import hooks

log = logging.getLogger("airflow.task")


def reconcile_label_studio_project(project: str, full: bool = False) -> dict[str, Any]:
    """One reconciliation of an LS project with the Intelligence DB; skips when the project does not exist."""
    from airflow.exceptions import AirflowSkipException

    from include.workflows.reconcile import ReconcileConfig, reconcile_project, resolve_project

    ls = hooks.label_studio()
    cfg = ReconcileConfig.from_settings(full=full)
    store = hooks.object_store(cfg.target_storage_uri)
    project_id = resolve_project(ls, project, cfg, store)
    if project_id is None:
        raise AirflowSkipException(f"Label Studio has no project titled {project!r}: nothing to reconcile")
    with hooks.db() as conn:
        report = reconcile_project(conn, ls, project_id, cfg, store)
    if not report.webhook.ok:
        log.warning("webhook check failed for %r: %s", project, report.webhook.detail)
    log.info(
        "reconcile %r (%d) from %s: %d annotations seen, %d appended, %d tombstoned, %d linked, %d unlinked, "
        "%d already present, %d unmatched in %.1fs%s",
        project,
        project_id,
        report.source,
        report.seen,
        report.appended,
        report.tombstoned,
        report.linked,
        report.unlinked,
        report.already_present,
        report.unmatched,
        report.duration_s,
        " — nothing to do" if report.nothing_to_do else "",
    )
    return report.as_json()

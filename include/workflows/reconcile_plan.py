"""The reconcile planner: from what the database holds and what Label Studio lists, the events to replay.

Pure functions, no I/O: `include.workflows.reconcile` reads the snapshot and LS, asks the planner, and replays
each planned payload through the shim's applier (`parse_event` + `apply_event`). A payload is what the shim
would have received: ANNOTATION_CREATED/UPDATED for a delivery not stored here, ANNOTATIONS_DELETED for
annotations LS no longer has, TASKS_CREATED for a task not linked to its record (or whose id LS reused
for another record), TASKS_DELETED for a linked task LS no longer has.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from include.adapters.db.ls_state import RecordRef, StoredDelivery
from include.adapters.label_studio.payloads import TASK_DOCUMENT_SHA256, TASK_RECORD_KEY, Annotation
from include.adapters.label_studio.reads import IndexedTask

DELIVERED_BY = "reconcile"
_TASK_KEYS = ("id", "data", "project", "created_at", "updated_at")


@dataclass(frozen=True)
class Snapshot:
    """What the database holds of one LS project, read before LS is: an id held here that LS lists no
    more was deleted there, not created since."""

    project_id: int
    stored: Mapping[int, StoredDelivery]
    linked: Mapping[int, RecordRef]


@dataclass
class Plan:
    """Payloads to replay, in order, and what needs no replay (counted for the report)."""

    payloads: list[dict[str, Any]] = field(default_factory=list)
    already_present: int = 0
    unmatched: int = 0
    invalid: list[str] = field(default_factory=list)

    def __iadd__(self, other: Plan) -> Plan:
        self.payloads += other.payloads
        self.already_present += other.already_present
        self.unmatched += other.unmatched
        self.invalid += other.invalid
        return self

    @property
    def actions(self) -> list[str]:
        return [p["action"] for p in self.payloads]


def record_ref(task: Mapping[str, Any]) -> RecordRef | None:
    """The record a task's data names (document sha256 + record key), if it names one."""
    data = task.get("data") or {}
    sha, key = data.get(TASK_DOCUMENT_SHA256), data.get(TASK_RECORD_KEY)
    return RecordRef(sha, key) if isinstance(sha, str) and isinstance(key, str) else None


def tasks_to_fetch(snapshot: Snapshot, index: Mapping[int, IndexedTask], since: datetime) -> list[int]:
    """Tasks whose full form is needed: changed since the watermark, not linked, or with an annotation
    not stored here (or stored as deleted or unmatched)."""
    wanted = []
    for task_id, task in index.items():
        if task.updated_at is None or task.updated_at > since or task_id not in snapshot.linked:
            wanted.append(task_id)
            continue
        for annotation_id in task.annotation_ids:
            stored = snapshot.stored.get(annotation_id)
            if stored is None or stored.state in ("deleted", "unmatched"):
                wanted.append(task_id)
                break
    return wanted


def plan_tasks(snapshot: Snapshot, tasks: Sequence[Mapping[str, Any]], known: Set[RecordRef]) -> Plan:
    """Links and annotation deliveries for fully fetched tasks. `known`: the records (of those the tasks
    name) that exist here; a task naming none is not linked."""
    plan = Plan()
    to_link = []
    for task in tasks:
        ref = record_ref(task)
        task_id = int(task["id"])
        if ref is not None and ref in known and snapshot.linked.get(task_id) != ref:
            to_link.append(_task_payload(task, predictions=True))
    if to_link:
        plan.payloads.append(_payload(snapshot, "TASKS_CREATED", {"tasks": to_link}))
    linked_after = set(snapshot.linked) | {int(t["id"]) for t in to_link}
    for task in tasks:
        for raw in task.get("annotations") or []:
            plan += _plan_annotation(snapshot, task, raw, linked_after)
    return plan


def _plan_annotation(
    snapshot: Snapshot, task: Mapping[str, Any], raw: Mapping[str, Any], linked: Set[int]
) -> Plan:
    stored = snapshot.stored.get(int(raw["id"]))
    action = "ANNOTATION_CREATED" if stored is None else "ANNOTATION_UPDATED"
    payload = _payload(snapshot, action, {"annotation": dict(raw), "task": _task_payload(task)})
    try:
        annotation = Annotation.model_validate(raw)
    except ValidationError as exc:
        return Plan(invalid=[f"annotation {raw.get('id')}: not a valid delivery: {str(exc)[:300]}"])
    if stored is None or stored.state == "deleted":
        return Plan(payloads=[payload])
    same_time = stored.ls_updated_at is not None and stored.ls_updated_at == annotation.updated_at
    if stored.state == "unmatched":
        if same_time and int(task["id"]) not in linked:
            return Plan(unmatched=1)
        return Plan(payloads=[payload])
    if same_time and stored.result_sha256 == annotation.result_sha256():
        return Plan(already_present=1)
    return Plan(payloads=[payload])


def plan_deletions(
    snapshot: Snapshot, index: Mapping[int, IndexedTask], fetched: Iterable[int], chunk: int = 100
) -> Plan:
    """Tombstones for annotations LS no longer has in tasks it still has. `fetched`: annotation ids seen
    in fully fetched tasks (newer than the index). Annotations of a deleted task stay as they are: the
    shim's TASKS_DELETED only closes the link."""
    present = set(fetched).union(*(t.annotation_ids for t in index.values()))
    missing = sorted(
        annotation_id
        for annotation_id, stored in snapshot.stored.items()
        if stored.state != "deleted" and annotation_id not in present and stored.ls_task_id in index
    )
    chunks = [missing[n : n + chunk] for n in range(0, len(missing), chunk)]
    bodies = [{"annotations": [{"id": i} for i in ids]} for ids in chunks]
    return Plan(payloads=[_payload(snapshot, "ANNOTATIONS_DELETED", body) for body in bodies])


def unlink_candidates(snapshot: Snapshot, index: Mapping[int, IndexedTask]) -> list[int]:
    """Linked tasks the listing did not show: each is confirmed by id before it is unlinked (a page that
    shifted while it was listed can skip a task that still exists)."""
    return sorted(set(snapshot.linked) - index.keys())


def plan_unlinks(snapshot: Snapshot, gone: Iterable[int]) -> Plan:
    """TASKS_DELETED for linked tasks confirmed gone from LS."""
    ids = sorted(set(gone) & set(snapshot.linked))
    if not ids:
        return Plan()
    return Plan(payloads=[_payload(snapshot, "TASKS_DELETED", {"tasks": [{"id": i} for i in ids]})])


def _payload(snapshot: Snapshot, action: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"action": action, **body, "project": {"id": snapshot.project_id}, "delivered_by": DELIVERED_BY}


def _task_payload(task: Mapping[str, Any], predictions: bool = False) -> dict[str, Any]:
    """The task as a webhook carries it: no annotation or prediction arrays, except model versions."""
    out = {k: task[k] for k in _TASK_KEYS if k in task}
    if predictions:
        out["predictions"] = [
            {"id": p.get("id"), "model_version": p.get("model_version")}
            for p in task.get("predictions") or []
            if isinstance(p, dict)
        ]
    return out

"""The reconcile planner, case by case: what it replays for each difference between the database and LS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from include.adapters.db.ls_state import RecordRef, StoredDelivery
from include.adapters.label_studio.payloads import Annotation
from include.adapters.label_studio.reads import IndexedTask
from include.workflows.annotations import parse_event
from include.workflows.reconcile_plan import (
    Snapshot,
    plan_deletions,
    plan_tasks,
    plan_unlinks,
    tasks_to_fetch,
    unlink_candidates,
)

PROJECT = 7
SHA = "ab" * 32
T0 = datetime(2026, 1, 1, tzinfo=UTC)
RESULT = [
    {
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "value": {"start": 0, "end": 5, "text": "Alice", "labels": ["PERSON"]},
    }
]


def task(task_id: int, key: str, *annotations: dict, updated: datetime = T0) -> dict:
    return {
        "id": task_id,
        "data": {"text": "Alice met Bob.", "document_sha256": SHA, "record_key": key},
        "project": PROJECT,
        "updated_at": updated.isoformat(),
        "annotations": list(annotations),
        "predictions": [{"id": 1, "model_version": "ner-1", "result": []}],
    }


def annotation(annotation_id: int, task_id: int, updated: datetime = T0, result: list | None = None) -> dict:
    return {
        "id": annotation_id,
        "task": task_id,
        "project": PROJECT,
        "result": RESULT if result is None else result,
        "created_at": T0.isoformat(),
        "updated_at": updated.isoformat(),
        "was_cancelled": False,
    }


def stored(raw: dict, state: str = "submitted") -> StoredDelivery:
    parsed = Annotation.model_validate(raw)
    return StoredDelivery(parsed.id, parsed.task, state, parsed.updated_at, parsed.result_sha256())


def snapshot(stored_: dict[int, StoredDelivery] | None = None, linked: dict[int, RecordRef] | None = None):
    return Snapshot(PROJECT, stored_ or {}, linked or {})


def index_of(*tasks: dict) -> dict[int, IndexedTask]:
    return {
        t["id"]: IndexedTask(
            datetime.fromisoformat(t["updated_at"]), frozenset(a["id"] for a in t["annotations"])
        )
        for t in tasks
    }


REF = RecordRef(SHA, "row=1")
KNOWN = {REF, RecordRef(SHA, "row=2")}


def test_nothing_to_do_plans_nothing() -> None:
    a = annotation(100, 10)
    t = task(10, "row=1", a)
    snap = snapshot({100: stored(a)}, {10: REF})
    index = index_of(t)
    assert tasks_to_fetch(snap, index, since=T0) == []
    plan = plan_tasks(snap, [t], KNOWN)
    assert plan.payloads == [] and plan.already_present == 1
    assert plan_deletions(snap, index, fetched=[]).payloads == []
    assert unlink_candidates(snap, index) == []


def test_missed_create_links_the_task_then_replays_the_annotation() -> None:
    a = annotation(100, 10)
    t = task(10, "row=1", a)
    plan = plan_tasks(snapshot(), [t], KNOWN)
    assert plan.actions == ["TASKS_CREATED", "ANNOTATION_CREATED"]
    created = parse_event(plan.payloads[1])
    assert created.annotation.id == 100 and created.task.data["record_key"] == "row=1"  # type: ignore[attr-defined]
    link = parse_event(plan.payloads[0])
    assert [x.id for x in link.tasks] == [10]  # type: ignore[attr-defined]
    assert plan.payloads[0]["tasks"][0]["predictions"] == [{"id": 1, "model_version": "ner-1"}]
    assert all(p["delivered_by"] == "reconcile" and p["project"] == {"id": PROJECT} for p in plan.payloads)


def test_missed_update_replays_a_newer_delivery_only() -> None:
    before = annotation(100, 10)
    after = annotation(100, 10, updated=T0 + timedelta(minutes=5), result=[])
    snap = snapshot({100: stored(before)}, {10: REF})
    t = task(10, "row=1", after, updated=T0 + timedelta(minutes=5))
    assert tasks_to_fetch(snap, index_of(t), since=T0) == [10]
    plan = plan_tasks(snap, [t], KNOWN)
    assert plan.actions == ["ANNOTATION_UPDATED"] and plan.already_present == 0


def test_missed_delete_tombstones_annotations_gone_from_tasks_ls_still_has() -> None:
    kept, gone = annotation(100, 10), annotation(101, 10)
    snap = snapshot(
        {100: stored(kept), 101: stored(gone), 102: stored(annotation(102, 10), "deleted")}, {10: REF}
    )
    t = task(10, "row=1", kept)
    plan = plan_deletions(snap, index_of(t), fetched=[100])
    assert plan.actions == ["ANNOTATIONS_DELETED"]
    assert plan.payloads[0]["annotations"] == [{"id": 101}], "an already deleted one is not tombstoned again"


def test_deleted_task_is_unlinked_once_confirmed_and_its_annotations_stay() -> None:
    a = annotation(100, 10)
    snap = snapshot({100: stored(a)}, {10: REF, 11: RecordRef(SHA, "row=2")})
    index = index_of(task(11, "row=2"))
    assert unlink_candidates(snap, index) == [10]
    assert plan_deletions(snap, index, fetched=[]).payloads == [], "annotations of a deleted task stay"
    plan = plan_unlinks(snap, gone=[10])
    assert plan.actions == ["TASKS_DELETED"] and plan.payloads[0]["tasks"] == [{"id": 10}]
    assert plan_unlinks(snap, gone=[]).payloads == [], "a task still there (confirmed by id) keeps its link"


def test_reused_task_id_relinks_to_the_record_the_task_now_names() -> None:
    # LS (on SQLite) reuses the id of a deleted task: task 10 named row=1, now it names row=2.
    snap = snapshot({}, {10: REF})
    t = task(10, "row=2", updated=T0 + timedelta(hours=1))
    assert tasks_to_fetch(snap, index_of(t), since=T0) == [10]
    plan = plan_tasks(snap, [t], KNOWN)
    assert plan.actions == ["TASKS_CREATED"]
    assert plan.payloads[0]["tasks"][0]["data"]["record_key"] == "row=2"


def test_task_naming_no_known_record_is_not_linked_and_its_annotation_is_counted_unmatched() -> None:
    a = annotation(100, 10)
    snap = snapshot({100: stored(a, "unmatched")})
    plan = plan_tasks(snap, [task(10, "row=9", a)], KNOWN)
    assert plan.payloads == [] and plan.unmatched == 1


def test_invalid_annotation_is_reported_not_replayed() -> None:
    bad = annotation(100, 10)
    bad["updated_at"] = "0001-01-01T00:00:00Z"
    plan = plan_tasks(snapshot({}, {10: REF}), [task(10, "row=1", bad)], KNOWN)
    assert plan.payloads == [] and len(plan.invalid) == 1 and "annotation 100" in plan.invalid[0]


# From the target storage copy (`include.workflows.reconcile`, when the LS API is unreachable): the copy lists
# only annotated tasks, as of each task's last write; LS deletes a task's object when any annotation of it
# goes.


def test_copy_tombstones_only_what_a_newer_write_of_the_task_proves_deleted() -> None:
    from include.workflows.reconcile import copy_deletion_scope

    gone, survivor = annotation(100, 10), annotation(101, 10, updated=T0 + timedelta(minutes=5))
    failed_write = annotation(102, 10, updated=T0 + timedelta(minutes=9))  # newer than the object
    no_object = annotation(200, 20)
    snap = snapshot(
        {i: stored(a) for i, a in ((100, gone), (101, survivor), (102, failed_write), (200, no_object))},
        {10: REF, 20: RecordRef(SHA, "row=2")},
    )
    copy = [task(10, "row=1", survivor)]
    scope, index, unchecked = copy_deletion_scope(snap, copy)
    plan = plan_deletions(scope, index, fetched=[])
    assert [p["annotations"] for p in plan.payloads] == [[{"id": 100}]]
    assert unchecked == [102, 200]
    assert set(index) == {10}, "task 20 has no object: neither deleted nor unlinked"


def test_copy_never_revives_an_annotation_tombstoned_here() -> None:
    from include.workflows.reconcile import drop_tombstoned

    a, b = annotation(100, 10), annotation(101, 10)
    snap = snapshot({100: stored(a, state="deleted")}, {10: REF})
    tasks, dropped = drop_tombstoned(snap, [task(10, "row=1", a, b)])
    assert dropped == [100]
    assert plan_tasks(snap, tasks, KNOWN).actions == ["ANNOTATION_CREATED"]


def test_copy_objects_read_like_api_tasks() -> None:
    from include.adapters.label_studio.target_storage import normalize_task

    raw = task(10, "row=1", annotation(100, 10))
    raw["annotations"][0] |= {
        "completed_by": {"id": 3, "email": "sme@example.com"},
        "prediction": {"id": 1, "model_version": "ner-1"},
    }
    raw["predictions"] = [1, 2]
    out = normalize_task(raw)
    assert out is not None and out["annotations"][0]["completed_by"] == 3
    assert out["predictions"] == [{"id": 1, "model_version": "ner-1"}, {"id": 2, "model_version": None}]
    assert plan_tasks(snapshot(), [out], KNOWN).actions == ["TASKS_CREATED", "ANNOTATION_CREATED"]
    assert normalize_task({"id": 100, "result": []}) is None, "an annotation-only object is not a task"


def test_unreachable_means_no_answer_not_a_refused_request() -> None:
    import httpx
    from label_studio_sdk.core.api_error import ApiError

    from include.adapters.label_studio.reads import is_unreachable

    assert is_unreachable(httpx.ConnectError("refused"))
    assert is_unreachable(httpx.ReadTimeout("slow"))
    assert is_unreachable(ApiError(status_code=503, body="down"))
    assert not is_unreachable(ApiError(status_code=401, body="bad token"))
    assert not is_unreachable(ApiError(status_code=404, body="no project"))

"""The typed plan a webhook event becomes: the JSON `nerloop_apply_event` (sql/functions/) reads."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from include.workflows.annotations import (
    ApplyConfig,
    EventPlan,
    ItemId,
    LinkTaskItem,
    SourceTaskItem,
    _plan,
    parse_event,
)

TEXT = "Alice Smith paid"
SHA = "a" * 64
CFG = ApplyConfig(field_map={})


def _annotation_event(data: dict) -> dict:
    return {
        "action": "ANNOTATION_CREATED",
        "project": {"id": 7},
        "task": {"id": 100, "project": 7, "data": data},
        "annotation": {
            "id": 1,
            "task": 100,
            "project": 7,
            "lead_time": 2,
            "result": [
                {
                    "id": "r1",
                    "from_name": "label",
                    "to_name": "text",
                    "type": "labels",
                    "value": {"start": 0, "end": 11, "text": "Alice Smith", "labels": ["PERSON"]},
                }
            ],
        },
    }


def test_an_annotation_of_a_pipeline_task_has_no_born_key_and_keeps_its_nulls() -> None:
    payload = _annotation_event({"text": TEXT, "document_sha256": SHA, "record_key": "para=1"})
    plan = _plan(parse_event(payload), 7, CFG).as_json()
    assert list(plan) == ["action", "project_id", "kind", "items"]
    assert plan["kind"] == "annotations"
    (item,) = plan["items"]
    assert "born" not in item
    assert item["prediction_id"] is None and item["created_at"] is None
    assert item["document_sha256"] == SHA and item["record_key"] == "para=1"
    assert item["spans"] == [{"start": 0, "end": 11, "label": "PERSON", "text": "Alice Smith"}]
    assert item["spans_valid"] is True and item["lead_time"] == 2


def test_an_annotation_of_a_task_made_in_label_studio_carries_its_born_record_first() -> None:
    plan = _plan(parse_event(_annotation_event({"text": TEXT})), 7, CFG).as_json()
    (item,) = plan["items"]
    assert next(iter(item)) == "born"
    assert item["born"]["uri"] == "ls://7/100"
    assert item["born"]["record_key"] == "task=100" and item["born"]["text"] == TEXT


def test_source_tasks_appear_only_when_given() -> None:
    plan = EventPlan(action="TASKS_CREATED", project_id=7, kind="link_tasks", items=[])
    assert "source_tasks" not in plan.as_json()
    noted = plan.model_copy(update={"source_tasks": [SourceTaskItem(task_id=1, link="s3://b/k")]})
    assert noted.as_json()["source_tasks"] == [{"task_id": 1, "link": "s3://b/k"}]


def test_items_must_fit_the_kind() -> None:
    link = LinkTaskItem(
        task_id=1, project_id=7, document_sha256=None, record_key=None, model_version=None, unmatched_note="n"
    )
    with pytest.raises(ValidationError):
        EventPlan(action="TASKS_DELETED", project_id=7, kind="unlink_tasks", items=[link])
    with pytest.raises(ValidationError):
        EventPlan(action="PROJECT_UPDATED", project_id=7, kind="none", items=[ItemId(id=1)])
    with pytest.raises(ValidationError):
        ItemId(id=1, extra=2)  # type: ignore[call-arg]

"""Turn one Label Studio webhook event into stored rows: record versions, links, tombstones. Idempotent."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from include.canonical import canonical_fields
from include.db import repository as repo
from include.label_studio.payloads import (
    EVENT_MODELS,
    TASK_DOCUMENT_SHA256,
    TASK_MODEL_VERSION,
    TASK_RECORD_KEY,
    TASK_TEXT,
    Annotation,
    AnnotationEvent,
    AnnotationsCreatedEvent,
    AnnotationsDeletedEvent,
    AnyEvent,
    Task,
    TasksCreatedEvent,
    TasksDeletedEvent,
    strip_secrets,
)
from include.labels import FROM_NAME
from include.spans import Span, span_problems


@dataclass(frozen=True)
class ApplyConfig:
    field_map: dict[str, str]
    phone_region: str = "US"


@dataclass
class EventOutcome:
    """What an event did. `counts` has one entry per item outcome (applied, duplicate, stale, ...)."""

    event_id: int
    action: str
    counts: Counter[str] = field(default_factory=Counter)
    unmatched: list[str] = field(default_factory=list)
    versions_written: int = 0

    @property
    def outcome(self) -> str:
        kinds = {k for k, v in self.counts.items() if v}
        if not kinds:
            return "ignored"
        if len(kinds) == 1:
            return next(iter(kinds))
        return "partial"

    def as_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "action": self.action,
            "outcome": self.outcome,
            "counts": dict(self.counts),
            "versions_written": self.versions_written,
            "unmatched": self.unmatched[:50],
        }


def parse_event(payload: Any) -> BaseModel:
    """Validate a payload against the model of its action; raises pydantic ValidationError."""
    if not isinstance(payload, dict):
        raise ValidationError.from_exception_data(
            "AnyEvent", [{"type": "dict_type", "loc": (), "input": payload}]
        )
    base = AnyEvent.model_validate(payload)
    model = EVENT_MODELS.get(base.action, AnyEvent)
    return model.model_validate(payload)


def apply_event(
    conn: repo.Connection, event: BaseModel, payload: dict[str, Any], cfg: ApplyConfig
) -> EventOutcome:
    """Store the raw event (secrets stripped) and apply it, in the caller's transaction."""
    clean = strip_secrets(payload)
    body = json.dumps(clean, sort_keys=True, separators=(",", ":"))
    project_id = _project_id(payload)
    event_id = repo.insert_webhook_event(
        conn,
        action=event.action,  # type: ignore[attr-defined]
        ls_project_id=project_id,
        payload=clean,
        payload_sha256=hashlib.sha256(body.encode()).hexdigest(),
    )
    out = EventOutcome(event_id=event_id, action=event.action)  # type: ignore[attr-defined]
    if isinstance(event, AnnotationEvent):
        _apply_annotation(conn, event.annotation, event.task, project_id, cfg, out)
    elif isinstance(event, AnnotationsCreatedEvent):
        tasks = {t.id: t for t in event.task}
        for annotation in event.annotation:
            task = tasks.get(annotation.task) or Task(id=annotation.task)
            _apply_annotation(conn, annotation, task, project_id, cfg, out)
    elif isinstance(event, AnnotationsDeletedEvent):
        for item in event.annotations:
            _apply_delete(conn, item.id, out)
    elif isinstance(event, TasksCreatedEvent):
        for task in event.tasks:
            _link_task(conn, task, project_id, out)
    elif isinstance(event, TasksDeletedEvent):
        for item in event.tasks:
            if project_id is None:
                out.counts["unmatched"] += 1
                out.unmatched.append(f"task {item.id}: no project in payload")
                continue
            found = repo.unlink_ls_task(conn, ls_project_id=project_id, ls_task_id=item.id)
            out.counts["applied" if found else "unmatched"] += 1
            if not found:
                out.unmatched.append(f"task {item.id}: not linked to a record")
    repo.set_webhook_outcome(conn, event_id, out.outcome, out.as_json())
    return out


def _project_id(payload: dict[str, Any]) -> int | None:
    project = payload.get("project")
    value = project.get("id") if isinstance(project, dict) else project
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63 else None


def _resolve_record(conn: repo.Connection, task: Task, project_id: int | None) -> repo.Record | None:
    sha = task.data.get(TASK_DOCUMENT_SHA256)
    key = task.data.get(TASK_RECORD_KEY)
    if isinstance(sha, str) and isinstance(key, str):
        try:
            record = repo.find_record(conn, document_sha256=sha, record_key=key)
        except repo.RepositoryError:
            record = None
        if record is not None:
            return record
    if project_id is not None:
        return repo.record_for_ls_task(conn, ls_project_id=project_id, ls_task_id=task.id)
    return None


def _link_task(conn: repo.Connection, task: Task, project_id: int | None, out: EventOutcome) -> None:
    project_id = task.project or project_id
    record = _resolve_record(conn, task, None)
    if record is None or project_id is None:
        out.counts["unmatched"] += 1
        out.unmatched.append(f"task {task.id}: no record for {task.data.get(TASK_RECORD_KEY)!r}")
        return
    predictions = getattr(task, "predictions", None) or []
    model_version = next(
        (p.get("model_version") for p in predictions if isinstance(p, dict) and p.get("model_version")),
        task.data.get(TASK_MODEL_VERSION),
    )
    if not isinstance(model_version, str):
        model_version = None
    linked = repo.link_ls_task(
        conn, record.id, ls_project_id=project_id, ls_task_id=task.id, model_version=model_version
    )
    out.counts["applied" if linked else "duplicate"] += 1


def spans_from_result(annotation: Annotation, record_text: str) -> tuple[list[Span], list[str]]:
    """The labelled spans of an LS result, and flags for what does not fit the record text.

    Spans that cannot exist (missing offsets, start ≥ end) are dropped and flagged; spans that exist
    but disagree with the text are kept and flagged, so nothing the SME did is silently lost.
    """
    spans: list[Span] = []
    flags: list[str] = []
    for i, item in enumerate(annotation.result):
        if item.type != "labels" or (item.from_name not in (None, FROM_NAME) and not item.value.labels):
            continue
        v = item.value
        if v.start is None or v.end is None or v.start < 0 or v.start >= v.end or not v.labels:
            flags.append(f"invalid_span:{i}:offsets {v.start}..{v.end} labels {v.labels}")
            continue
        text = v.text if v.text is not None else record_text[v.start : v.end]
        for label in v.labels:
            spans.append(Span(start=v.start, end=v.end, label=label, text=text))
    flags += [f"span_mismatch:{p}" for p in span_problems(spans, record_text)]
    return spans, flags


def _apply_annotation(
    conn: repo.Connection,
    annotation: Annotation,
    task: Task,
    project_id: int | None,
    cfg: ApplyConfig,
    out: EventOutcome,
) -> None:
    project_id = annotation.project or task.project or project_id
    record = _resolve_record(conn, task, project_id)
    stored = repo.lock_annotation(
        conn,
        ls_annotation_id=annotation.id,
        ls_project_id=project_id or 0,
        ls_task_id=annotation.task,
        record_id=record.id if record else None,
    )
    result_json = [r.model_dump(mode="json") for r in annotation.result]
    if record is None:
        repo.update_annotation(
            conn,
            ls_annotation_id=annotation.id,
            ls_task_id=annotation.task,
            record_id=None,
            result=result_json,
            state="unmatched",
            completed_by=annotation.completed_by,
            ls_updated_at=annotation.updated_at,
        )
        out.counts["unmatched"] += 1
        out.unmatched.append(f"annotation {annotation.id}: task {annotation.task} matches no record")
        return
    if _is_stale(stored, annotation):
        out.counts["stale"] += 1
        return
    if project_id is not None and record.ls_task_id is None:
        repo.link_ls_task(conn, record.id, ls_project_id=project_id, ls_task_id=annotation.task)

    spans, flags = spans_from_result(annotation, record.text)
    task_text = task.data.get(TASK_TEXT)
    if isinstance(task_text, str) and task_text != record.text:
        flags.append("task_text_differs_from_record_text")
    fields, field_flags = canonical_fields(spans, cfg.field_map, phone_region=cfg.phone_region)
    version = repo.append_record_version(
        conn,
        record.id,
        repo.NewRecordVersion(
            source="annotation",
            spans=spans,
            canonical_fields=fields,
            spans_valid=not flags,
            flags=flags + field_flags,
            was_cancelled=annotation.was_cancelled,
            ls_project_id=project_id,
            ls_task_id=annotation.task,
            ls_annotation_id=annotation.id,
            ls_prediction_id=annotation.parent_prediction,
            model_version=repo.prediction_model_version(conn, record.id, annotation.parent_prediction),
            completed_by=annotation.completed_by,
            lead_time=annotation.lead_time,
            ls_updated_at=annotation.updated_at,
            result_sha256=annotation.result_sha256(),
            webhook_event_id=out.event_id,
        ),
    )
    if version is None:
        out.counts["duplicate"] += 1
        return
    state: repo.AnnotationState = (
        "skipped" if annotation.was_cancelled else ("submitted" if stored.inserted else "updated")
    )
    repo.update_annotation(
        conn,
        ls_annotation_id=annotation.id,
        ls_task_id=annotation.task,
        record_id=record.id,
        result=result_json,
        state=state,
        completed_by=annotation.completed_by,
        ls_updated_at=annotation.updated_at,
    )
    out.counts["applied"] += 1
    out.versions_written += 1


def _is_stale(stored: repo.StoredAnnotation, annotation: Annotation) -> bool:
    """An update older than what is stored, or a late copy of a deleted annotation, must not become latest.

    A deleted annotation comes back only as a new annotation that reuses its id (LS on SQLite does),
    which LS created after the deletion was stored here.
    """
    if stored.inserted:
        return False
    if stored.state == "deleted":
        return annotation.created_at is None or annotation.created_at <= stored.updated_at
    if stored.ls_updated_at is None or annotation.updated_at is None:
        return False
    return annotation.updated_at < stored.ls_updated_at


def _apply_delete(conn: repo.Connection, ls_annotation_id: int, out: EventOutcome) -> None:
    before = repo.mark_annotation_deleted(conn, ls_annotation_id)
    if before is None or before.record_id is None:
        out.counts["unmatched"] += 1
        out.unmatched.append(f"annotation {ls_annotation_id}: unknown, nothing to tombstone")
        return
    if before.state == "deleted":
        out.counts["duplicate"] += 1
        return
    repo.append_record_version(
        conn,
        before.record_id,
        repo.NewRecordVersion(
            source="tombstone",
            ls_project_id=before.ls_project_id,
            ls_task_id=before.ls_task_id,
            ls_annotation_id=ls_annotation_id,
            ls_updated_at=before.ls_updated_at,
            webhook_event_id=out.event_id,
        ),
    )
    out.counts["applied"] += 1
    out.versions_written += 1

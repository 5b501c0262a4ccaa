"""Turn one Label Studio webhook event into stored rows: record versions, links, tombstones. Idempotent.

The event is validated once, turned into a plan (what each item asks for, spans checked and canonical
fields parsed here, where the Python libraries are) and applied by the database in one round trip
(`include.adapters.db.labelling.apply_plan`, the `nerloop_apply_event` function).

The rules live in two places that change together: `EventPlan` here (what the database is told) and
`sql/functions/` (what it does with it; re-applied on every migrate, so a rule change is an edit there).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from include.adapters.db import labelling, source_tasks
from include.adapters.db.common import Connection
from include.adapters.label_studio.payloads import (
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
    result_sha256,
    strip_secrets,
)
from include.core.canonical import canonical_fields
from include.core.labels import FROM_NAME
from include.core.spans import Span, span_problems
from include.workflows.intake.note import storage_link, storage_tasks

TEXT_DIFFERS_FLAG = "task_text_differs_from_record_text"


@dataclass(frozen=True)
class ApplyConfig:
    field_map: dict[str, str]
    phone_region: str = "US"


class _PlanPart(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BornRecord(_PlanPart):
    """The document and record a task created in Label Studio (not by the pipeline) stands for."""

    uri: str
    sha256: str
    size: int
    record_key: str
    text: str
    meta: dict[str, Any]


class AnnotationItem(_PlanPart):
    """One annotation to store as a record version (`annotations` plans)."""

    born: BornRecord | None = Field(default=None, exclude_if=lambda v: v is None)  # absent: key left out
    id: int
    project_id: int | None
    task_id: int
    document_sha256: str | None
    record_key: str | None
    text_md5: str | None  # md5 of the text the spans were checked against; a mismatch asks for a retry
    result: list[dict[str, Any]]
    spans: list[dict[str, Any]]
    fields: dict[str, Any]
    spans_valid: bool
    flags: list[str]
    was_cancelled: bool
    prediction_id: int | None
    completed_by: int | None
    lead_time: float | None
    created_at: str | None
    updated_at: str | None
    result_sha256: str


class LinkTaskItem(_PlanPart):
    """A task to link to the record its data names (`link_tasks` plans)."""

    task_id: int
    project_id: int | None
    document_sha256: str | None
    record_key: str | None
    model_version: str | None
    unmatched_note: str


class ItemId(_PlanPart):
    """An annotation to tombstone (`delete_annotations`) or a task to unlink (`unlink_tasks`)."""

    id: int


class SourceTaskItem(_PlanPart):
    """A task a storage sync made (one per file), noted for the intake."""

    task_id: int
    link: str


PlanKind = Literal["annotations", "delete_annotations", "link_tasks", "unlink_tasks", "none"]
_ITEM_OF_KIND: dict[str, type[_PlanPart] | None] = {
    "annotations": AnnotationItem,
    "delete_annotations": ItemId,
    "link_tasks": LinkTaskItem,
    "unlink_tasks": ItemId,
    "none": None,
}


class EventPlan(_PlanPart):
    """What one webhook event asks the database to do: the `ev` argument of `nerloop_apply_event`."""

    action: str
    project_id: int | None
    kind: PlanKind
    items: list[AnnotationItem] | list[LinkTaskItem] | list[ItemId]
    source_tasks: list[SourceTaskItem] | None = Field(default=None, exclude_if=lambda v: v is None)

    @model_validator(mode="after")
    def _items_fit_kind(self) -> EventPlan:
        item_type = _ITEM_OF_KIND[self.kind]
        if any(item_type is None or type(item) is not item_type for item in self.items):
            raise ValueError(f"a {self.kind!r} plan holds {item_type.__name__ if item_type else 'no'} items")
        return self

    def as_json(self) -> dict[str, Any]:
        """The plan as `nerloop_apply_event` reads it."""
        return self.model_dump(mode="json")


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

    @classmethod
    def from_json(cls, detail: dict[str, Any]) -> EventOutcome:
        return cls(
            event_id=int(detail["event_id"]),
            action=str(detail["action"]),
            counts=Counter({str(k): int(v) for k, v in detail["counts"].items()}),
            unmatched=[str(u) for u in detail["unmatched"]],
            versions_written=int(detail["versions_written"]),
        )


def parse_event(payload: Any) -> BaseModel:
    """Validate a payload, once, against the model of its action; raises pydantic ValidationError."""
    if not isinstance(payload, dict):
        raise ValidationError.from_exception_data(
            "AnyEvent", [{"type": "dict_type", "loc": (), "input": payload}]
        )
    action = payload.get("action")
    model = EVENT_MODELS.get(action, AnyEvent) if isinstance(action, str) else AnyEvent
    return model.model_validate(payload)


def apply_event(
    conn: Connection, event: BaseModel, payload: dict[str, Any], cfg: ApplyConfig
) -> EventOutcome:
    """Store the raw event (secrets stripped) and apply it, in the caller's transaction."""
    body = json.dumps(strip_secrets(payload), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(body.encode()).hexdigest()
    project_id = _project_id(payload)
    plan = _plan(event, project_id, cfg)
    if isinstance(event, TasksCreatedEvent) and project_id is not None:
        # Tasks a storage sync made (one per file): noted for the intake DAG, which prelabels them, by the
        # event's own statement (set-based, so a sync of thousands of files is one statement too).
        files = storage_tasks((task.id, task.data) for task in event.tasks)
        if files:
            items = [SourceTaskItem.model_validate(i) for i in source_tasks.source_task_items(files)]
            plan = plan.model_copy(update={"source_tasks": items})
    detail = labelling.apply_plan(conn, plan.as_json(), body, digest)
    if "retry" in detail:
        # Spans were checked against the task's text; these records hold another text: check against it.
        texts: dict[str, str] = detail["retry"]
        plan = _plan(event, project_id, cfg, record_texts={int(k): v for k, v in texts.items()})
        detail = labelling.apply_plan(conn, plan.as_json(), body, digest)
        if "retry" in detail:
            raise RuntimeError(f"record texts changed while applying {event.action}")  # type: ignore[attr-defined]
    return EventOutcome.from_json(detail)


def _plan(
    event: BaseModel, project_id: int | None, cfg: ApplyConfig, record_texts: dict[int, str] | None = None
) -> EventPlan:
    items: list[AnnotationItem] | list[LinkTaskItem] | list[ItemId] = []
    kind: PlanKind = "none"
    if isinstance(event, AnnotationEvent):
        kind = "annotations"
        items = [_annotation_item(event.annotation, event.task, project_id, cfg, record_texts)]
    elif isinstance(event, AnnotationsCreatedEvent):
        kind = "annotations"
        tasks = {t.id: t for t in event.task}
        items = [
            _annotation_item(
                annotation,
                tasks.get(annotation.task) or Task(id=annotation.task),
                project_id,
                cfg,
                record_texts,
            )
            for annotation in event.annotation
        ]
    elif isinstance(event, AnnotationsDeletedEvent):
        kind = "delete_annotations"
        items = [ItemId(id=item.id) for item in event.annotations]
    elif isinstance(event, TasksCreatedEvent):
        kind = "link_tasks"
        items = [_link_item(task, project_id) for task in event.tasks]
    elif isinstance(event, TasksDeletedEvent):
        kind = "unlink_tasks"
        items = [ItemId(id=item.id) for item in event.tasks]
    return EventPlan(action=event.action, project_id=project_id, kind=kind, items=items)  # type: ignore[attr-defined]


def _project_id(payload: dict[str, Any]) -> int | None:
    project = payload.get("project")
    value = project.get("id") if isinstance(project, dict) else project
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63 else None


def _task_keys(task: Task) -> tuple[str | None, str | None]:
    sha, key = task.data.get(TASK_DOCUMENT_SHA256), task.data.get(TASK_RECORD_KEY)
    if isinstance(sha, str) and isinstance(key, str):
        return sha, key
    return None, None


def _link_item(task: Task, project_id: int | None) -> LinkTaskItem:
    predictions = getattr(task, "predictions", None) or []
    model_version = next(
        (p.get("model_version") for p in predictions if isinstance(p, dict) and p.get("model_version")),
        task.data.get(TASK_MODEL_VERSION),
    )
    sha, key = _task_keys(task)
    return LinkTaskItem(
        task_id=task.id,
        project_id=task.project or project_id,
        document_sha256=sha,
        record_key=key,
        model_version=model_version if isinstance(model_version, str) else None,
        unmatched_note=f"task {task.id}: no record for {task.data.get(TASK_RECORD_KEY)!r}",
    )


def _annotation_item(
    annotation: Annotation,
    task: Task,
    project_id: int | None,
    cfg: ApplyConfig,
    record_texts: dict[int, str] | None,
) -> AnnotationItem:
    task_text = task.data.get(TASK_TEXT)
    record_text = (record_texts or {}).get(annotation.id)
    checked = record_text if record_text is not None else task_text
    # Without a task text to check against, the database sends the record's text back (no md5 matches).
    spans, flags = spans_from_result(annotation, checked if isinstance(checked, str) else "")
    if isinstance(task_text, str) and task_text != checked:
        flags.append(TEXT_DIFFERS_FLAG)
    fields, field_flags = canonical_fields(spans, cfg.field_map, phone_region=cfg.phone_region)
    sha, key = _task_keys(task)
    result = [r.model_dump(mode="json") for r in annotation.result]
    project = annotation.project or task.project or project_id
    # A task a storage sync made holds a link, not text: the intake makes its records, not an annotation.
    born = None
    if sha is None and isinstance(task_text, str) and project is not None and not _from_storage(task):
        born = born_record(project, task)
    return AnnotationItem(
        born=born,
        id=annotation.id,
        project_id=project,
        task_id=annotation.task,
        document_sha256=sha,
        record_key=key,
        text_md5=(
            hashlib.md5(checked.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()
            if isinstance(checked, str)
            else None
        ),
        result=result,
        spans=[s.model_dump(exclude_none=True) for s in spans],
        fields=fields,
        spans_valid=not flags,
        flags=flags + field_flags,
        was_cancelled=annotation.was_cancelled,
        prediction_id=annotation.parent_prediction,
        completed_by=annotation.completed_by,
        lead_time=annotation.lead_time,
        created_at=annotation.created_at.isoformat() if annotation.created_at else None,
        updated_at=annotation.updated_at.isoformat() if annotation.updated_at else None,
        result_sha256=result_sha256(result, annotation.was_cancelled),
    )


def _from_storage(task: Task) -> bool:
    return storage_link(task.data) is not None or bool(task.data.get("nerloop_state"))


def born_record(project_id: int, task: Task) -> BornRecord:
    """The document and record a task created in Label Studio (not by the pipeline) stands for: the document
    `ls://<project>/<task>`, identified by the sha256 of the task's canonical data; one record, its text."""
    canonical = json.dumps(task.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8",
        "surrogatepass",  # a lone surrogate cannot be stored: Postgres refuses it (422), not this
    )
    return BornRecord(
        uri=f"ls://{project_id}/{task.id}",
        sha256=hashlib.sha256(canonical).hexdigest(),
        size=len(canonical),
        record_key=f"task={task.id}",
        text=task.data[TASK_TEXT],
        meta={"ls_project": project_id, "ls_task": task.id},
    )


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
            if not label:
                flags.append(f"invalid_span:{i}:empty label in {v.labels}")
                continue
            spans.append(Span(start=v.start, end=v.end, label=label, text=text))
    flags += [f"span_mismatch:{p}" for p in span_problems(spans, record_text)]
    return spans, flags

"""Pydantic models of the Label Studio webhook payloads, as LS 1.23 really sends them."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

# Keys of task.data that tie an LS task to a record (written by the prelabel import).
TASK_TEXT = "text"
TASK_DOCUMENT_SHA256 = "document_sha256"
TASK_RECORD_KEY = "record_key"
TASK_MODEL_VERSION = "model_version"
TASK_PAGE_IMAGES = "page_images"


# Ids are Postgres bigints: anything outside is refused at validation, not by the database.
LSId = Annotated[int, Field(ge=0, le=2**63 - 1)]


def _plausible_time(value: datetime) -> datetime:
    # Postgres stores BC times that Python cannot read back ("year -1 is out of range" on every later
    # delivery of that annotation); a year in this range stays inside 1..9999 in UTC whatever the offset.
    if not 1970 <= value.year <= 9998:
        raise ValueError("a Label Studio time must lie between the years 1970 and 9998")
    return value


# Times LS writes: of this era. Found by the schemathesis fuzz (tests/reliability/test_openapi_fuzz.py).
LSTime = Annotated[datetime, AfterValidator(_plausible_time)]


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)


class ResultValue(_Loose):
    start: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1)
    end: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1)
    text: str | None = None
    labels: list[str] = Field(default_factory=list)


class ResultItem(_Loose):
    id: str | None = None
    from_name: str | None = None
    to_name: str | None = None
    type: str
    value: ResultValue


def _user_id(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("id")
    return value


class Annotation(_Loose):
    id: LSId
    task: LSId
    project: LSId | None = None
    result: list[ResultItem] = Field(default_factory=list)
    completed_by: LSId | None = None
    lead_time: float | None = Field(default=None, ge=0)
    created_at: LSTime | None = None
    updated_at: LSTime | None = None
    was_cancelled: bool = False
    ground_truth: bool = False
    parent_prediction: LSId | None = None

    _normalize_user = field_validator("completed_by", mode="before")(_user_id)

    @field_validator("task", "project", "parent_prediction", mode="before")
    @classmethod
    def _id_of(cls, v: Any) -> Any:
        return v.get("id") if isinstance(v, dict) else v

    def result_sha256(self) -> str:
        """Hash of what the SME submitted (result + skip flag): the identity of one delivery."""
        return result_sha256([r.model_dump(mode="json") for r in self.result], self.was_cancelled)


def result_sha256(result: list[dict[str, Any]], was_cancelled: bool) -> str:
    """`Annotation.result_sha256` of an already dumped result."""
    body = json.dumps({"result": result, "cancelled": was_cancelled}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


class Task(_Loose):
    id: LSId
    data: dict[str, Any] = Field(default_factory=dict)
    project: LSId | None = None

    @field_validator("project", mode="before")
    @classmethod
    def _id_of(cls, v: Any) -> Any:
        return v.get("id") if isinstance(v, dict) else v


class Project(_Loose):
    id: LSId


class IdOnly(_Loose):
    id: LSId


class AnnotationEvent(_Loose):
    """ANNOTATION_CREATED / ANNOTATION_UPDATED."""

    action: str
    annotation: Annotation
    task: Task
    project: Project | None = None


class AnnotationsCreatedEvent(_Loose):
    """ANNOTATIONS_CREATED (Data Manager bulk): parallel lists of annotations and tasks."""

    action: str
    annotation: list[Annotation]
    task: list[Task]
    project: Project | None = None


class AnnotationsDeletedEvent(_Loose):
    action: str
    annotations: list[IdOnly]
    project: Project | None = None


class TasksCreatedEvent(_Loose):
    action: str
    tasks: list[Task]
    project: Project | None = None


class TasksDeletedEvent(_Loose):
    action: str
    tasks: list[IdOnly]
    project: Project | None = None


class AnyEvent(_Loose):
    action: str = Field(min_length=1)


EVENT_MODELS: dict[str, type[BaseModel]] = {
    "ANNOTATION_CREATED": AnnotationEvent,
    "ANNOTATION_UPDATED": AnnotationEvent,
    "ANNOTATIONS_CREATED": AnnotationsCreatedEvent,
    "ANNOTATIONS_DELETED": AnnotationsDeletedEvent,
    "TASKS_CREATED": TasksCreatedEvent,
    "TASKS_DELETED": TasksDeletedEvent,
}

_SECRET_WORDS = ("token", "secret", "password", "api_key", "apikey", "authorization", "credential")


def strip_secrets(payload: Any) -> Any:
    """A copy with every key that looks like a secret removed, at any depth (LS projects carry tokens)."""
    if isinstance(payload, dict):
        return {k: strip_secrets(v) for k, v in payload.items() if not _is_secret_key(k)}
    if isinstance(payload, list):
        return [strip_secrets(v) for v in payload]
    return payload


@lru_cache(maxsize=4096)
def _is_secret_key(key: object) -> bool:
    # Webhook payloads repeat the same few dozen keys: each is judged once.
    lowered = str(key).lower()
    return any(word in lowered for word in _SECRET_WORDS)


def contains_nul(payload: Any) -> bool:
    """Whether any key or string value, at any depth, holds NUL (U+0000): PostgreSQL text cannot store it."""
    if isinstance(payload, str):
        return "\x00" in payload
    if isinstance(payload, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in payload.items())
    if isinstance(payload, list):
        return any(contains_nul(v) for v in payload)
    return False

"""Pydantic models of the Label Studio webhook payloads, as LS 1.23 really sends them."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
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

# What a stored event (webhook_events.payload) keeps: an allow-list of the fields the models above know,
# plus the few the code reads beside them, never a list of secret names to drop (LS puts the project's
# token, storage keys and whatever a project's data holds into its payloads; what is not listed is not kept).
# A spec maps a key to the spec of its value: None keeps a scalar or a list of scalars; a dict keeps an
# object's listed fields, a list of such objects, or the bare id LS sends in an object's place.
KeepSpec = dict[str, "KeepSpec | None"]

_REF: KeepSpec = {"id": None}  # an object LS sends whole or as its id (project, task, user, prediction)
_RESULT: KeepSpec = {
    "id": None,
    "from_name": None,
    "to_name": None,
    "type": None,
    "value": {"start": None, "end": None, "text": None, "labels": None},
}
# task.data keys the pipeline writes (include/adapters/label_studio/tasks.py, the intake) or reads (storage
# links).
TASK_DATA_KEYS = (
    TASK_TEXT,
    TASK_DOCUMENT_SHA256,
    TASK_RECORD_KEY,
    TASK_MODEL_VERSION,
    TASK_PAGE_IMAGES,
    "$undefined$",  # where a storage sync puts a file's link (include/workflows/intake/note.py)
    "source_uri",
    "source",
    "source_title",
    "s3_key",
    "doc_type",
    "page",
    "sheet",
    "row",
    "table",
    "para",
    "hidden",
    "nerloop_state",
    "nerloop_detail",
    "split_into",
)
_TASK: KeepSpec = {
    "id": None,
    "data": dict.fromkeys(TASK_DATA_KEYS),
    "project": _REF,
    "created_at": None,
    "updated_at": None,
    "predictions": {"id": None, "model_version": None},  # a task's model version (events._link_item)
}
_ANNOTATION: KeepSpec = {
    "id": None,
    "task": _REF,
    "project": _REF,
    "result": _RESULT,
    "completed_by": _REF,
    "lead_time": None,
    "created_at": None,
    "updated_at": None,
    "was_cancelled": None,
    "ground_truth": None,
    "parent_prediction": _REF,
}
STORED_FIELDS: KeepSpec = {
    "action": None,
    "delivered_by": None,  # "reconcile" on the events reconciliation replays
    "project": {"id": None, "title": None},
    "annotation": _ANNOTATION,
    "annotations": _ANNOTATION,
    "task": _TASK,
    "tasks": _TASK,
}
_SCALARS = (str, int, float, bool, type(None))


def stored_fields(payload: Any, spec: KeepSpec = STORED_FIELDS) -> dict[str, Any]:
    """A copy of a webhook payload holding only the allow-listed fields (`STORED_FIELDS`), for storage.

    Recursion follows the spec (five levels), not the payload, so a deep payload costs no more.
    """
    if not isinstance(payload, dict):
        return {}
    return _kept_object(payload, spec)


def _kept_object(value: dict[str, Any], spec: KeepSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, sub in spec.items():
        if key in value:
            kept = _kept(value[key], sub)
            if kept is not _DROP:
                out[key] = kept
    return out


_DROP = object()


def _kept(value: Any, spec: KeepSpec | None) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, dict):
        return _DROP if spec is None else _kept_object(value, spec)
    if isinstance(value, list):
        if spec is None:
            return [v for v in value if isinstance(v, _SCALARS)]
        return [
            v if isinstance(v, _SCALARS) else _kept_object(v, spec) for v in value if not isinstance(v, list)
        ]
    return _DROP


# The name the applier imports: what is stored is the allow-listed copy, secrets never among its fields.
strip_secrets = stored_fields


# Deeper JSON is refused before it is parsed: LS payloads nest about 6 levels (annotation → result →
# value → labels), and every walk of a payload (NUL check, validation, the stored copy) stays far from
# Python's recursion limit.
MAX_JSON_DEPTH = 64

_DEPTH_CHUNK = 1 << 20  # bytes read at once: the scan's memory stays a few MB whatever the body's size


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text nests objects/arrays deeper than `limit`, read from the text, not parsed.

    Vectorized (numpy) over chunks of the text: quotes escaped by an odd run of backslashes are not
    quotes; brackets between quotes are text; the depth is the running sum of opening (+1) and closing
    (-1) brackets outside strings. For valid JSON this is exactly its nesting depth (backslashes occur only
    in strings); invalid JSON is refused by the parser either way. A body in UTF-16/32 (JSON allows them)
    is read as the text it encodes; one that does not decode is left to the parser to refuse.
    """
    encoding = json.detect_encoding(raw)
    if encoding not in ("utf-8", "utf-8-sig"):
        try:
            raw = raw.decode(encoding).encode("utf-8", "surrogatepass")
        except UnicodeError:
            return False
    import numpy as np

    parity = depth = start = 0
    while start < len(raw):
        end = min(start + _DEPTH_CHUNK, len(raw))
        while end < len(raw) and raw[end - 1] == 0x5C:  # a run of backslashes stays in one chunk
            end += 1
        text = np.frombuffer(raw, dtype=np.uint8, count=end - start, offset=start)
        quote = text == 0x22
        backslash = text == 0x5C
        if backslash.any():
            edges = np.diff(backslash.view(np.int8), prepend=np.int8(0), append=np.int8(0))
            run_starts, run_ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
            escaped = run_ends[((run_ends - run_starts) & 1).astype(bool)]
            quote[escaped[escaped < len(text)]] = False
        in_string = (np.cumsum(quote, dtype=np.uint8) + np.uint8(parity)) & 1  # parity survives the wrap
        parity = int(in_string[-1])
        outside = in_string == 0
        opening = ((text == 0x5B) | (text == 0x7B)) & outside
        brackets = opening[opening | (((text == 0x5D) | (text == 0x7D)) & outside)]
        if brackets.size:
            running = np.cumsum(brackets.view(np.int8) * np.int8(2) - np.int8(1), dtype=np.int64) + depth
            if int(running.max()) > limit:
                return True
            depth = int(running[-1])
        start = end
    return False


def contains_nul(payload: Any) -> bool:
    """Whether any key or string value, at any depth, holds NUL (U+0000): PostgreSQL text cannot store it."""
    if isinstance(payload, str):
        return "\x00" in payload
    if isinstance(payload, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in payload.items())
    if isinstance(payload, list):
        return any(contains_nul(v) for v in payload)
    return False

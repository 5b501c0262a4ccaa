"""Labelling: record versions (predictions, annotations, tombstones), LS annotations, webhook events."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from include.adapters.db.common import Connection, RepositoryError, check_sha256, dict_cursor
from include.core.spans import Span

VersionSource = Literal["prediction", "annotation", "tombstone"]


class NewRecordVersion(BaseModel):
    """What a caller supplies; lineage from the record and its document is filled in by the insert."""

    model_config = ConfigDict(extra="forbid")

    source: VersionSource
    spans: list[Span] = Field(default_factory=list)
    canonical_fields: dict[str, Any] = Field(default_factory=dict)
    spans_valid: bool = True
    flags: list[str] = Field(default_factory=list)
    was_cancelled: bool = False
    ls_project_id: int | None = None
    ls_task_id: int | None = None
    ls_annotation_id: int | None = None
    ls_prediction_id: int | None = None
    model_version: str | None = None
    completed_by: int | None = None
    lead_time: float | None = Field(default=None, ge=0)
    ls_updated_at: datetime | None = None
    result_sha256: str | None = None
    webhook_event_id: int | None = None

    @field_validator("result_sha256")
    @classmethod
    def _sha(cls, v: str | None) -> str | None:
        return None if v is None else check_sha256("result_sha256", v)


class RecordVersion(BaseModel):
    id: int
    record_id: int
    version: int
    source: str
    spans: list[dict[str, Any]]
    canonical_fields: dict[str, Any]
    spans_valid: bool
    flags: list[str]
    was_cancelled: bool
    ls_project_id: int | None
    ls_task_id: int | None
    ls_annotation_id: int | None
    model_version: str | None
    completed_by: int | None
    ls_updated_at: datetime | None
    document_sha256: str
    document_uri: str
    record_key: str
    created_at: datetime


def append_record_version(conn: Connection, record_id: int, new: NewRecordVersion) -> RecordVersion | None:
    """Append the next version of a record (number assigned under a row lock), with lineage.

    Returns None when this exact LS delivery (annotation id, LS updated_at, result hash) is stored.
    """
    version = {
        **new.model_dump(mode="json", exclude={"spans"}),
        "spans": [s.model_dump(exclude_none=True) for s in new.spans],
    }
    with dict_cursor(conn) as cur:
        cur.execute("SELECT exists(SELECT 1 FROM records WHERE id = %s)", (record_id,))
        if not cur.fetchone()["exists"]:
            raise RepositoryError(f"record_id: no record {record_id}")
        cur.execute("SELECT * FROM nerloop_append_version(%s, %s::jsonb)", (record_id, json.dumps(version)))
        row = cur.fetchone()
    return RecordVersion(**row) if row["id"] is not None else None


def latest_annotation_version(conn: Connection, ls_annotation_id: int) -> RecordVersion | None:
    """The newest version written for an LS annotation (annotation or its tombstone)."""
    with dict_cursor(conn) as cur:
        cur.execute(
            """SELECT * FROM record_versions WHERE ls_annotation_id = %s
               ORDER BY version DESC LIMIT 1""",
            (ls_annotation_id,),
        )
        row = cur.fetchone()
    return RecordVersion(**row) if row else None


def prediction_model_version(
    conn: Connection, record_id: int, ls_prediction_id: int | None = None
) -> str | None:
    """The model version behind a record's prediction: the LS prediction's if known, else the latest."""
    with conn.cursor() as cur:
        cur.execute("SELECT nerloop_prediction_model_version(%s, %s)", (record_id, ls_prediction_id))
        return cur.fetchone()[0]


def apply_plan(
    conn: Connection, plan: dict[str, Any], payload_json: str, payload_sha256: str
) -> dict[str, Any]:
    """Apply one webhook event's plan in one round trip (`nerloop_apply_event`); returns its outcome.

    `payload_json` is the raw event with its secrets stripped, `payload_sha256` its hash. The result is
    the outcome JSON, or {"retry": {annotation id: record text}} when nothing was written (see the SQL).
    """
    with conn.cursor() as cur:
        cur.execute(
            "SELECT nerloop_apply_event(%s::jsonb, %s::jsonb, %s)",
            (json.dumps(plan, separators=(",", ":")), payload_json, payload_sha256),
        )
        result: dict[str, Any] = cur.fetchone()[0]
    return result


class Prediction(BaseModel):
    spans: list[dict[str, Any]]
    model_version: str | None


def latest_predictions(
    conn: Connection, record_ids: Sequence[int], model_version: str | None = None
) -> dict[int, Prediction]:
    """The latest prediction version of each record (of `model_version` when given), in one query."""
    with dict_cursor(conn) as cur:
        cur.execute(
            """SELECT DISTINCT ON (record_id) record_id, spans, model_version FROM record_versions
               WHERE record_id = ANY(%(ids)s::bigint[]) AND source = 'prediction'
                 AND (%(mv)s::text IS NULL OR model_version = %(mv)s)
               ORDER BY record_id, version DESC""",
            {"ids": list(record_ids), "mv": model_version},
        )
        return {
            row["record_id"]: Prediction(spans=row["spans"], model_version=row["model_version"])
            for row in cur.fetchall()
        }


def append_predictions(
    conn: Connection, predictions: Sequence[tuple[int, Sequence[Span]]], model_version: str
) -> int:
    """Append a prediction version to each record — (record id, spans) each — in one statement."""
    rows = [
        {
            "record_id": record_id,
            "v": {
                "source": "prediction",
                "spans": [s.model_dump(exclude_none=True) for s in spans],
                "model_version": model_version,
            },
        }
        for record_id, spans in predictions
    ]
    with conn.cursor() as cur:
        cur.execute(
            """SELECT count((nerloop_append_version(p.record_id, p.v)).id)
               FROM jsonb_to_recordset(%s::jsonb) AS p(record_id bigint, v jsonb)""",
            (json.dumps(rows),),
        )
        n: int = cur.fetchone()[0]
    return n

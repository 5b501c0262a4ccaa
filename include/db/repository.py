"""The one repository of the Intelligence DB: documents, records, record versions, lineage.

Functions take an open connection and never commit: the caller owns the transaction
(`include.db.connection.transaction`). All SQL is parametrized.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, TypeAlias

import psycopg2.extensions
import psycopg2.extras
from pydantic import BaseModel, ConfigDict, Field, field_validator

from include.spans import Span

Connection: TypeAlias = psycopg2.extensions.connection
DocType = Literal["text", "csv", "xlsx", "pdf", "image", "docx", "html", "unknown"]
DocStatus = Literal["registered", "extracted", "prelabeled", "failed"]
VersionSource = Literal["prediction", "annotation", "tombstone"]
AnnotationState = Literal["submitted", "updated", "skipped", "deleted", "unmatched"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class RepositoryError(ValueError):
    """A call asked for something impossible; the message names the field."""


def _check_sha256(field: str, value: str) -> str:
    if not isinstance(value, str) or not _SHA256.match(value):
        raise RepositoryError(f"{field}: expected 64 lower-case hex characters, got {value!r}")
    return value


class Document(BaseModel):
    id: int
    sha256: str
    uri: str
    s3_key: str | None
    doc_type: str
    size_bytes: int
    status: str
    error: str | None
    created: bool = False


class NewRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_key: str = Field(min_length=1)
    text: str
    meta: dict[str, Any] = Field(default_factory=dict)


class Record(BaseModel):
    id: int
    document_id: int
    record_key: str
    text: str
    meta: dict[str, Any]
    ls_project_id: int | None
    ls_task_id: int | None


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
        return None if v is None else _check_sha256("result_sha256", v)


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


class Lineage(BaseModel):
    record_version_id: int
    version: int
    source: str
    record_id: int
    record_key: str
    document_id: int
    document_uri: str
    document_s3_key: str | None
    document_sha256: str
    ls_project_id: int | None
    ls_task_id: int | None
    ls_annotation_id: int | None
    model_version: str | None
    completed_by: int | None
    created_at: datetime
    training_runs: list[dict[str, Any]]


def _dict_cursor(conn: Connection) -> psycopg2.extras.RealDictCursor:
    return conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)


# -- documents ---------------------------------------------------------------------------------


def add_document(
    conn: Connection,
    *,
    sha256: str,
    uri: str,
    doc_type: DocType,
    size_bytes: int,
    s3_key: str | None = None,
) -> Document:
    """Register a document; the same bytes (sha256) always give the same row, found or created."""
    _check_sha256("sha256", sha256)
    if not uri:
        raise RepositoryError("uri: must not be empty")
    if size_bytes < 0:
        raise RepositoryError(f"size_bytes: must be >= 0, got {size_bytes}")
    with _dict_cursor(conn) as cur:
        cur.execute(
            """INSERT INTO documents (sha256, uri, s3_key, doc_type, size_bytes)
               VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (sha256) DO NOTHING
               RETURNING *""",
            (sha256, uri, s3_key, doc_type, size_bytes),
        )
        row = cur.fetchone()
        if row is not None:
            return Document(**row, created=True)
        cur.execute("SELECT * FROM documents WHERE sha256 = %s", (sha256,))
        return Document(**cur.fetchone())


def get_document(conn: Connection, *, sha256: str) -> Document | None:
    _check_sha256("sha256", sha256)
    with _dict_cursor(conn) as cur:
        cur.execute("SELECT * FROM documents WHERE sha256 = %s", (sha256,))
        row = cur.fetchone()
    return Document(**row) if row else None


def set_document_status(
    conn: Connection, document_id: int, status: DocStatus, error: str | None = None
) -> None:
    if status == "failed" and not error:
        raise RepositoryError("error: a failed document needs a reason")
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE documents SET status = %s, error = %s, updated_at = now() WHERE id = %s",
            (status, error, document_id),
        )
        if cur.rowcount == 0:
            raise RepositoryError(f"document_id: no document {document_id}")


# -- records -----------------------------------------------------------------------------------


def add_records(conn: Connection, document_id: int, records: Sequence[NewRecord]) -> list[Record]:
    """Add records to a document; a record key already present keeps its stored row (returned)."""
    with _dict_cursor(conn) as cur:
        cur.execute("SELECT 1 FROM documents WHERE id = %s", (document_id,))
        if cur.fetchone() is None:
            raise RepositoryError(f"document_id: no document {document_id}")
        out: list[Record] = []
        for rec in records:
            cur.execute(
                """INSERT INTO records (document_id, record_key, text, meta)
                   VALUES (%s, %s, %s, %s)
                   ON CONFLICT (document_id, record_key) DO UPDATE SET record_key = EXCLUDED.record_key
                   RETURNING id, document_id, record_key, text, meta, ls_project_id, ls_task_id""",
                (document_id, rec.record_key, rec.text, json.dumps(rec.meta)),
            )
            out.append(Record(**cur.fetchone()))
        return out


def find_record(conn: Connection, *, document_sha256: str, record_key: str) -> Record | None:
    """The record at a record key of the document with this sha256."""
    _check_sha256("document_sha256", document_sha256)
    with _dict_cursor(conn) as cur:
        cur.execute(
            """SELECT r.id, r.document_id, r.record_key, r.text, r.meta, r.ls_project_id, r.ls_task_id
               FROM records r JOIN documents d ON d.id = r.document_id
               WHERE d.sha256 = %s AND r.record_key = %s""",
            (document_sha256, record_key),
        )
        row = cur.fetchone()
    return Record(**row) if row else None


def get_record(conn: Connection, record_id: int) -> Record | None:
    with _dict_cursor(conn) as cur:
        cur.execute(
            """SELECT id, document_id, record_key, text, meta, ls_project_id, ls_task_id
               FROM records WHERE id = %s""",
            (record_id,),
        )
        row = cur.fetchone()
    return Record(**row) if row else None


def record_for_ls_task(conn: Connection, *, ls_project_id: int, ls_task_id: int) -> Record | None:
    """The record live-linked to an LS task, if any."""
    with _dict_cursor(conn) as cur:
        cur.execute(
            """SELECT id, document_id, record_key, text, meta, ls_project_id, ls_task_id
               FROM records WHERE ls_project_id = %s AND ls_task_id = %s""",
            (ls_project_id, ls_task_id),
        )
        row = cur.fetchone()
    return Record(**row) if row else None


def link_ls_task(
    conn: Connection,
    record_id: int,
    *,
    ls_project_id: int,
    ls_task_id: int,
    model_version: str | None = None,
) -> bool:
    """Link a record to its LS task (history kept in ls_task_links). False when already so linked.

    A stale live link of that task id to another record (LS reuses ids after deletes) is closed first.
    """
    with conn.cursor() as cur:
        cur.execute("SELECT ls_project_id, ls_task_id FROM records WHERE id = %s FOR UPDATE", (record_id,))
        row = cur.fetchone()
        if row is None:
            raise RepositoryError(f"record_id: no record {record_id}")
        if row == (ls_project_id, ls_task_id):
            return False
        _unlink(cur, ls_project_id=ls_project_id, ls_task_id=ls_task_id)
        if row[1] is not None:
            _unlink(cur, ls_project_id=row[0], ls_task_id=row[1])
        cur.execute(
            "UPDATE records SET ls_project_id = %s, ls_task_id = %s WHERE id = %s",
            (ls_project_id, ls_task_id, record_id),
        )
        cur.execute(
            """INSERT INTO ls_task_links (record_id, ls_project_id, ls_task_id, model_version)
               VALUES (%s, %s, %s, %s)""",
            (record_id, ls_project_id, ls_task_id, model_version),
        )
    return True


def unlink_ls_task(conn: Connection, *, ls_project_id: int, ls_task_id: int) -> int | None:
    """Close the live link of a deleted LS task; returns the record id it pointed to."""
    with conn.cursor() as cur:
        return _unlink(cur, ls_project_id=ls_project_id, ls_task_id=ls_task_id)


def _unlink(cur: psycopg2.extensions.cursor, *, ls_project_id: int, ls_task_id: int) -> int | None:
    cur.execute(
        """UPDATE records SET ls_project_id = NULL, ls_task_id = NULL
           WHERE ls_project_id = %s AND ls_task_id = %s RETURNING id""",
        (ls_project_id, ls_task_id),
    )
    row = cur.fetchone()
    cur.execute(
        """UPDATE ls_task_links SET unlinked_at = now()
           WHERE ls_project_id = %s AND ls_task_id = %s AND unlinked_at IS NULL""",
        (ls_project_id, ls_task_id),
    )
    return row[0] if row else None


# -- record versions ---------------------------------------------------------------------------


def append_record_version(conn: Connection, record_id: int, new: NewRecordVersion) -> RecordVersion | None:
    """Append the next version of a record (number assigned under a row lock), with lineage.

    Returns None when this exact LS delivery (annotation id, LS updated_at, result hash) is stored.
    """
    with _dict_cursor(conn) as cur:
        cur.execute(
            """SELECT r.id, r.record_key, d.sha256, d.uri
               FROM records r JOIN documents d ON d.id = r.document_id
               WHERE r.id = %s FOR UPDATE OF r""",
            (record_id,),
        )
        rec = cur.fetchone()
        if rec is None:
            raise RepositoryError(f"record_id: no record {record_id}")
        cur.execute(
            """INSERT INTO record_versions (
                   record_id, version, source, spans, canonical_fields, spans_valid, flags,
                   was_cancelled, ls_project_id, ls_task_id, ls_annotation_id, ls_prediction_id,
                   model_version, completed_by, lead_time, ls_updated_at, result_sha256,
                   document_sha256, document_uri, record_key, webhook_event_id)
               SELECT %(record_id)s, COALESCE(MAX(version), 0) + 1, %(source)s, %(spans)s,
                   %(canonical_fields)s, %(spans_valid)s, %(flags)s, %(was_cancelled)s,
                   %(ls_project_id)s, %(ls_task_id)s, %(ls_annotation_id)s, %(ls_prediction_id)s,
                   %(model_version)s, %(completed_by)s, %(lead_time)s, %(ls_updated_at)s,
                   %(result_sha256)s, %(document_sha256)s, %(document_uri)s, %(record_key)s,
                   %(webhook_event_id)s
               FROM record_versions WHERE record_id = %(record_id)s
               ON CONFLICT (ls_annotation_id, ls_updated_at, result_sha256)
                   WHERE source = 'annotation' DO NOTHING
               RETURNING *""",
            {
                **new.model_dump(exclude={"spans", "canonical_fields", "flags"}),
                "record_id": record_id,
                "spans": json.dumps([s.model_dump(exclude_none=True) for s in new.spans]),
                "canonical_fields": json.dumps(new.canonical_fields),
                "flags": json.dumps(new.flags),
                "document_sha256": rec["sha256"],
                "document_uri": rec["uri"],
                "record_key": rec["record_key"],
            },
        )
        row = cur.fetchone()
    return RecordVersion(**row) if row else None


def latest_annotation_version(conn: Connection, ls_annotation_id: int) -> RecordVersion | None:
    """The newest version written for an LS annotation (annotation or its tombstone)."""
    with _dict_cursor(conn) as cur:
        cur.execute(
            """SELECT * FROM record_versions WHERE ls_annotation_id = %s
               ORDER BY version DESC LIMIT 1""",
            (ls_annotation_id,),
        )
        row = cur.fetchone()
    return RecordVersion(**row) if row else None


class GoldCandidate(BaseModel):
    """The latest live human version of a record, and whether it may be used as gold."""

    record_version_id: int
    record_id: int
    version: int
    text: str
    spans: list[dict[str, Any]]
    document_sha256: str
    record_key: str
    was_cancelled: bool
    spans_valid: bool

    @property
    def is_gold(self) -> bool:
        return not self.was_cancelled and self.spans_valid


def latest_human_versions(conn: Connection) -> list[GoldCandidate]:
    """Per record, the latest version of its annotations that are not tombstoned (gold candidates).

    An annotation whose newest version is a tombstone no longer counts; of the rest, the record's
    newest wins. Skipped (was_cancelled) and flagged (spans_valid false) ones come back with
    is_gold False so callers can count what they exclude.
    """
    with _dict_cursor(conn) as cur:
        cur.execute(
            """WITH per_annotation AS (
                   SELECT DISTINCT ON (ls_annotation_id) *
                   FROM record_versions
                   WHERE source IN ('annotation', 'tombstone') AND ls_annotation_id IS NOT NULL
                   ORDER BY ls_annotation_id, version DESC),
               latest AS (
                   SELECT DISTINCT ON (record_id) *
                   FROM per_annotation WHERE source = 'annotation'
                   ORDER BY record_id, version DESC)
               SELECT l.id AS record_version_id, l.record_id, l.version, r.text, l.spans,
                      l.document_sha256, l.record_key, l.was_cancelled, l.spans_valid
               FROM latest l JOIN records r ON r.id = l.record_id
               ORDER BY l.record_id"""
        )
        return [GoldCandidate(**row) for row in cur.fetchall()]


def record_version_lineage(conn: Connection, record_version_id: int) -> Lineage:
    """The chain record version → LS ids → model version → record → document → training runs."""
    with _dict_cursor(conn) as cur:
        cur.execute(
            """SELECT v.id AS record_version_id, v.version, v.source, v.record_id, v.record_key,
                      d.id AS document_id, v.document_uri, d.s3_key AS document_s3_key,
                      v.document_sha256, v.ls_project_id, v.ls_task_id, v.ls_annotation_id,
                      v.model_version, v.completed_by, v.created_at
               FROM record_versions v
               JOIN records r ON r.id = v.record_id
               JOIN documents d ON d.id = r.document_id
               WHERE v.id = %s""",
            (record_version_id,),
        )
        row = cur.fetchone()
        if row is None:
            raise RepositoryError(f"record_version_id: no record version {record_version_id}")
        cur.execute(
            """SELECT t.id AS training_run_id, t.model_version, t.status, m.split, t.started_at
               FROM training_manifest m JOIN training_runs t ON t.id = m.training_run_id
               WHERE m.record_version_id = %s ORDER BY t.id""",
            (record_version_id,),
        )
        runs = [dict(r) for r in cur.fetchall()]
    return Lineage(**row, training_runs=runs)


# -- LS annotations and webhook events ---------------------------------------------------------


class StoredAnnotation(BaseModel):
    ls_annotation_id: int
    ls_project_id: int
    ls_task_id: int
    record_id: int | None
    state: str
    ls_updated_at: datetime | None
    updated_at: datetime
    inserted: bool


def lock_annotation(
    conn: Connection, *, ls_annotation_id: int, ls_project_id: int, ls_task_id: int, record_id: int | None
) -> StoredAnnotation:
    """The annotations row for an LS annotation, created if new, locked until the transaction ends."""
    with _dict_cursor(conn) as cur:
        # DO UPDATE (a no-op) both creates and row-locks in one round trip; xmax = 0 means inserted.
        cur.execute(
            """INSERT INTO annotations (ls_annotation_id, ls_project_id, ls_task_id, record_id, result, state)
               VALUES (%s, %s, %s, %s, '[]', 'unmatched')
               ON CONFLICT (ls_annotation_id) DO UPDATE SET ls_annotation_id = EXCLUDED.ls_annotation_id
               RETURNING ls_annotation_id, ls_project_id, ls_task_id, record_id, state, ls_updated_at,
                         updated_at, (xmax = 0) AS inserted""",
            (ls_annotation_id, ls_project_id, ls_task_id, record_id),
        )
        return StoredAnnotation(**cur.fetchone())


def update_annotation(
    conn: Connection,
    *,
    ls_annotation_id: int,
    ls_task_id: int,
    record_id: int | None,
    result: list[dict[str, Any]],
    state: AnnotationState,
    completed_by: int | None,
    ls_updated_at: datetime | None,
) -> None:
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE annotations SET ls_task_id = %s, record_id = %s, result = %s, state = %s,
                   completed_by = %s, ls_updated_at = %s, updated_at = now()
               WHERE ls_annotation_id = %s""",
            (ls_task_id, record_id, json.dumps(result), state, completed_by, ls_updated_at, ls_annotation_id),
        )


def mark_annotation_deleted(conn: Connection, ls_annotation_id: int) -> StoredAnnotation | None:
    """Lock an annotation row and mark it deleted; None when unknown. Returns the state before."""
    with _dict_cursor(conn) as cur:
        cur.execute(
            """SELECT ls_annotation_id, ls_project_id, ls_task_id, record_id, state, ls_updated_at,
                      updated_at
               FROM annotations WHERE ls_annotation_id = %s FOR UPDATE""",
            (ls_annotation_id,),
        )
        row = cur.fetchone()
        if row is None:
            return None
        cur.execute(
            "UPDATE annotations SET state = 'deleted', updated_at = now() WHERE ls_annotation_id = %s",
            (ls_annotation_id,),
        )
    return StoredAnnotation(**row, inserted=False)


def prediction_model_version(
    conn: Connection, record_id: int, ls_prediction_id: int | None = None
) -> str | None:
    """The model version behind a record's prediction: the LS prediction's if known, else the latest."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT COALESCE(
                   (SELECT model_version FROM record_versions
                    WHERE record_id = %(r)s AND ls_prediction_id = %(p)s AND %(p)s IS NOT NULL
                    ORDER BY version DESC LIMIT 1),
                   (SELECT model_version FROM record_versions
                    WHERE record_id = %(r)s AND source = 'prediction' ORDER BY version DESC LIMIT 1),
                   (SELECT model_version FROM ls_task_links
                    WHERE record_id = %(r)s AND model_version IS NOT NULL ORDER BY id DESC LIMIT 1))""",
            {"r": record_id, "p": ls_prediction_id},
        )
        return cur.fetchone()[0]


def insert_webhook_event(
    conn: Connection, *, action: str, ls_project_id: int | None, payload: dict[str, Any], payload_sha256: str
) -> int:
    """Store a raw event (the caller has stripped its secrets); returns its id."""
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO webhook_events (action, ls_project_id, payload, payload_sha256)
               VALUES (%s, %s, %s, %s) RETURNING id""",
            (action, ls_project_id, json.dumps(payload), payload_sha256),
        )
        return cur.fetchone()[0]


def set_webhook_outcome(conn: Connection, event_id: int, outcome: str, detail: dict[str, Any]) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE webhook_events SET outcome = %s, detail = %s WHERE id = %s",
            (outcome, json.dumps(detail), event_id),
        )


def set_model_version_status(
    conn: Connection,
    version: str,
    status: Literal["candidate", "rejected", "published", "serving", "failed", "retired"],
    *,
    triton_version: int | None = None,
    bundle_uri: str | None = None,
) -> None:
    """Move a model version along its life; the one serving before becomes `retired`."""
    with conn.cursor() as cur:
        if status == "serving":
            cur.execute(
                "UPDATE model_versions SET status = 'retired', updated_at = now() "
                "WHERE status = 'serving' AND version <> %s",
                (version,),
            )
        cur.execute(
            """UPDATE model_versions SET status = %s, updated_at = now(),
                   triton_version = COALESCE(%s, triton_version), bundle_uri = COALESCE(%s, bundle_uri)
               WHERE version = %s""",
            (status, triton_version, bundle_uri, version),
        )
        if cur.rowcount == 0:
            raise RepositoryError(f"version: no model version {version!r}")

"""Documents and their records, and the live link of a record to its Label Studio task."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from include.adapters.db.common import Connection, RepositoryError, check_sha256, dict_cursor
from include.core.doc_type import DocType

DocStatus = Literal["registered", "extracted", "prelabeled", "failed"]


class Document(BaseModel):
    id: int
    sha256: str
    uri: str
    s3_key: str | None
    doc_type: DocType
    size_bytes: int
    status: DocStatus
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
    check_sha256("sha256", sha256)
    if not uri:
        raise RepositoryError("uri: must not be empty")
    if size_bytes < 0:
        raise RepositoryError(f"size_bytes: must be >= 0, got {size_bytes}")
    with dict_cursor(conn) as cur:
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
    check_sha256("sha256", sha256)
    with dict_cursor(conn) as cur:
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
    with dict_cursor(conn) as cur:
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
    check_sha256("document_sha256", document_sha256)
    with dict_cursor(conn) as cur:
        cur.execute(
            """SELECT r.id, r.document_id, r.record_key, r.text, r.meta, r.ls_project_id, r.ls_task_id
               FROM records r JOIN documents d ON d.id = r.document_id
               WHERE d.sha256 = %s AND r.record_key = %s""",
            (document_sha256, record_key),
        )
        row = cur.fetchone()
    return Record(**row) if row else None


def get_record(conn: Connection, record_id: int) -> Record | None:
    with dict_cursor(conn) as cur:
        cur.execute(
            """SELECT id, document_id, record_key, text, meta, ls_project_id, ls_task_id
               FROM records WHERE id = %s""",
            (record_id,),
        )
        row = cur.fetchone()
    return Record(**row) if row else None


def record_for_ls_task(conn: Connection, *, ls_project_id: int, ls_task_id: int) -> Record | None:
    """The record live-linked to an LS task, if any."""
    with dict_cursor(conn) as cur:
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
        cur.execute("SELECT exists(SELECT 1 FROM records WHERE id = %s)", (record_id,))
        if not cur.fetchone()[0]:
            raise RepositoryError(f"record_id: no record {record_id}")
        cur.execute(
            "SELECT nerloop_link_task(%s, %s, %s, %s)", (record_id, ls_project_id, ls_task_id, model_version)
        )
        linked: bool = cur.fetchone()[0]
    return linked


def unlink_ls_task(conn: Connection, *, ls_project_id: int, ls_task_id: int) -> int | None:
    """Close the live link of a deleted LS task; returns the record id it pointed to."""
    with conn.cursor() as cur:
        cur.execute("SELECT nerloop_unlink_task(%s, %s)", (ls_project_id, ls_task_id))
        record_id: int | None = cur.fetchone()[0]
    return record_id


def get_document_by_id(conn: Connection, document_id: int) -> Document | None:
    with dict_cursor(conn) as cur:
        cur.execute("SELECT * FROM documents WHERE id = %s", (document_id,))
        row = cur.fetchone()
    return Document(**row) if row else None


def count_records(
    conn: Connection, *, document_id: int | None = None, ls_project_id: int | None = None
) -> int:
    """Records of a document, or records live-linked to tasks of an LS project."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT count(*) FROM records
               WHERE (%(doc)s::bigint IS NULL OR document_id = %(doc)s)
                 AND (%(project)s::bigint IS NULL OR ls_project_id = %(project)s)""",
            {"doc": document_id, "project": ls_project_id},
        )
        n: int = cur.fetchone()[0]
    return n


def set_documents_status(conn: Connection, document_ids: Sequence[int], status: DocStatus) -> None:
    """Move documents to a status in one statement."""
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE documents SET status = %s, updated_at = now() WHERE id = ANY(%s::bigint[])",
            (status, list(document_ids)),
        )


class PendingRecord(BaseModel):
    """A record of an extracted document with no live LS task, and what its task needs of its document."""

    record_id: int
    record_key: str
    text: str
    meta: dict[str, Any]
    document_id: int
    document_sha256: str
    document_uri: str
    s3_key: str | None
    doc_type: str


def pending_records(conn: Connection, document_ids: Sequence[int] | None = None) -> list[PendingRecord]:
    """Records of extracted documents that have no live LS task yet, in document/record order."""
    with dict_cursor(conn) as cur:
        cur.execute(
            """SELECT r.id AS record_id, r.record_key, r.text, r.meta, d.id AS document_id,
                      d.sha256 AS document_sha256, d.uri AS document_uri, d.s3_key, d.doc_type
               FROM records r JOIN documents d ON d.id = r.document_id
               WHERE r.ls_task_id IS NULL AND d.status IN ('extracted', 'prelabeled')
                 AND (%(ids)s::bigint[] IS NULL OR d.id = ANY(%(ids)s::bigint[]))
               ORDER BY d.id, r.id""",
            {"ids": list(document_ids) if document_ids is not None else None},
        )
        return [PendingRecord(**row) for row in cur.fetchall()]


def link_ls_tasks(conn: Connection, ls_project_id: int, links: Sequence[tuple[int, int, str | None]]) -> int:
    """Link records to LS tasks — (record id, task id, model version) each — in one statement; how many
    links are new."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT count(*) FILTER (WHERE nerloop_link_task(l.record_id, %s, l.task_id, l.model_version))
               FROM jsonb_to_recordset(%s::jsonb)
                    AS l(record_id bigint, task_id bigint, model_version text)""",
            (
                ls_project_id,
                json.dumps([{"record_id": r, "task_id": t, "model_version": m} for r, t, m in links]),
            ),
        )
        n: int = cur.fetchone()[0]
    return n


# -- LS imports: what an import step sent to LS, until its tasks are linked ---------------------


def begin_ls_import(conn: Connection, ls_project_id: int, record_ids: Sequence[int]) -> int:
    """Note, before sending them, the records an import sends to LS; the caller commits first."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO ls_imports (ls_project_id, record_ids) VALUES (%s, %s) RETURNING id",
            (ls_project_id, list(record_ids)),
        )
        import_id: int = cur.fetchone()[0]
    return import_id


def finish_ls_imports(conn: Connection, import_ids: Sequence[int]) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE ls_imports SET finished_at = now() WHERE id = ANY(%s::bigint[])", (list(import_ids),)
        )


def unfinished_ls_imports(conn: Connection, ls_project_id: int) -> list[int]:
    """Imports to the project that never linked their tasks (the worker died after sending them)."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id FROM ls_imports WHERE ls_project_id = %s AND finished_at IS NULL ORDER BY id",
            (ls_project_id,),
        )
        return [row[0] for row in cur.fetchall()]

"""Prelabel: documents → records → batched NER → Label Studio tasks with predictions, resumable.

Each step is a plain function over the database, so the DAG can map it over documents and a rerun after
a crash continues where the last run stopped: extracted documents are not extracted again, and records
already linked to an LS task in the project are not imported again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg2.extras

from include.db import repository as repo
from include.db.connection import transaction
from include.extract.records import ExtractionError
from include.extract.router import extract_document
from include.ingest import read_object
from include.label_studio import client as ls_client
from include.label_studio.payloads import TASK_DOCUMENT_SHA256, TASK_RECORD_KEY
from include.label_studio.tasks import build_task
from include.ner.client import NerClient

log = logging.getLogger(__name__)


@dataclass
class ExtractOutcome:
    document_id: int
    uri: str
    status: str
    records: int = 0
    error: str | None = None


def extract_records(conn: repo.Connection, document_id: int, s3_client: Any = None) -> ExtractOutcome:
    """Extract a registered document into records; a bad file fails alone with its reason stored."""
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("SELECT id, uri, doc_type, status, error FROM documents WHERE id = %s", (document_id,))
        doc = cur.fetchone()
    conn.commit()
    if doc is None:
        raise repo.RepositoryError(f"document_id: no document {document_id}")
    if doc["status"] == "failed":
        return ExtractOutcome(document_id, doc["uri"], "failed", error=doc["error"])
    if doc["status"] in ("extracted", "prelabeled"):
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM records WHERE document_id = %s", (document_id,))
            n = cur.fetchone()[0]
        conn.commit()
        return ExtractOutcome(document_id, doc["uri"], doc["status"], records=n)
    name = doc["uri"].rsplit("/", 1)[-1]
    started = time.perf_counter()
    try:
        data = read_object(doc["uri"], s3_client)
        extracted = extract_document(data, name, None if doc["doc_type"] == "unknown" else doc["doc_type"])
        if not extracted:
            raise ExtractionError(name, "no text found")
    except ExtractionError as exc:
        with transaction(conn):
            repo.set_document_status(conn, document_id, "failed", str(exc))
        log.warning("extract failed: %s", exc)
        return ExtractOutcome(document_id, doc["uri"], "failed", error=str(exc))
    except OSError as exc:
        message = f"{name}: cannot read ({exc})"
        with transaction(conn):
            repo.set_document_status(conn, document_id, "failed", message)
        return ExtractOutcome(document_id, doc["uri"], "failed", error=message)
    with transaction(conn):
        repo.add_records(
            conn,
            document_id,
            [repo.NewRecord(record_key=r.record_key, text=r.text, meta=r.meta) for r in extracted],
        )
        repo.set_document_status(conn, document_id, "extracted")
    log.info("extracted %s: %d records in %.2fs", name, len(extracted), time.perf_counter() - started)
    return ExtractOutcome(document_id, doc["uri"], "extracted", records=len(extracted))


@dataclass
class PendingRecord:
    record_id: int
    record_key: str
    text: str
    meta: dict[str, Any]
    document_id: int
    document_sha256: str
    document_uri: str
    s3_key: str | None
    doc_type: str


def pending_records(conn: repo.Connection, document_ids: Sequence[int] | None = None) -> list[PendingRecord]:
    """Records of extracted documents that have no live LS task yet, in document/record order."""
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(
            """SELECT r.id AS record_id, r.record_key, r.text, r.meta, d.id AS document_id,
                      d.sha256 AS document_sha256, d.uri AS document_uri, d.s3_key, d.doc_type
               FROM records r JOIN documents d ON d.id = r.document_id
               WHERE r.ls_task_id IS NULL AND d.status IN ('extracted', 'prelabeled')
                 AND (%(ids)s::bigint[] IS NULL OR d.id = ANY(%(ids)s::bigint[]))
               ORDER BY d.id, r.id""",
            {"ids": list(document_ids) if document_ids is not None else None},
        )
        rows = [PendingRecord(**row) for row in cur.fetchall()]
    conn.commit()
    return rows


def relink_existing_tasks(conn: repo.Connection, ls: Any, project_id: int) -> int:
    """Link LS tasks that exist but are not linked here (a crash after import): no duplicates on rerun."""
    linked = 0
    for task in ls.tasks.list(project=project_id, fields="all"):
        data = task.data or {}
        sha, key = data.get(TASK_DOCUMENT_SHA256), data.get(TASK_RECORD_KEY)
        if not (isinstance(sha, str) and isinstance(key, str)):
            continue
        record = repo.find_record(conn, document_sha256=sha, record_key=key)
        if record is not None and record.ls_task_id is None:
            with transaction(conn):
                repo.link_ls_task(
                    conn,
                    record.id,
                    ls_project_id=project_id,
                    ls_task_id=int(task.id),
                    model_version=data.get("model_version"),
                )
            linked += 1
    conn.commit()
    return linked


@dataclass
class PrelabelSummary:
    records: int = 0
    imported: int = 0
    spans: int = 0
    relinked: int = 0
    model_version: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    def rates(self) -> dict[str, float]:
        infer = self.seconds.get("infer", 0.0)
        return {"records_per_s_infer": self.records / infer if infer else 0.0}


def prelabel_pending(
    conn: repo.Connection,
    ner: NerClient,
    ls: Any,
    project_id: int,
    *,
    document_ids: Sequence[int] | None = None,
    chunk_size: int = 100,
) -> PrelabelSummary:
    """Predict spans for every pending record and import them as LS tasks, chunk by chunk.

    Each chunk is imported, then linked and its prediction versions stored in one transaction; the
    TASKS_CREATED webhook links the same tasks through the shim, whichever comes first.
    """
    summary = PrelabelSummary(model_version=ner.model_version)
    started = time.perf_counter()
    summary.relinked = relink_existing_tasks(conn, ls, project_id)
    pending = pending_records(conn, document_ids)
    summary.records = len(pending)
    summary.seconds["relink"] = time.perf_counter() - started
    if not pending:
        return summary
    t = time.perf_counter()
    predictions = ner.predict([p.text for p in pending])
    summary.seconds["infer"] = time.perf_counter() - t
    log.info(
        "predicted %d records in %.2fs (%.1f records/s) with %s",
        len(pending),
        summary.seconds["infer"],
        len(pending) / max(summary.seconds["infer"], 1e-9),
        ner.model_version,
    )
    t = time.perf_counter()
    for start in range(0, len(pending), chunk_size):
        chunk = pending[start : start + chunk_size]
        spans = predictions[start : start + chunk_size]
        tasks = [
            build_task(
                text=p.text,
                record_key=p.record_key,
                meta=p.meta,
                document_sha256=p.document_sha256,
                document_uri=p.document_uri,
                s3_key=p.s3_key,
                doc_type=p.doc_type,
                spans=s,
                model_version=ner.model_version,
            )
            for p, s in zip(chunk, spans, strict=True)
        ]
        task_ids = ls_client.import_tasks(ls, project_id, tasks, chunk_size=chunk_size)
        with transaction(conn):
            for p, s, task_id in zip(chunk, spans, task_ids, strict=True):
                repo.link_ls_task(
                    conn,
                    p.record_id,
                    ls_project_id=project_id,
                    ls_task_id=task_id,
                    model_version=ner.model_version,
                )
                repo.append_record_version(
                    conn,
                    p.record_id,
                    repo.NewRecordVersion(
                        source="prediction",
                        spans=s,
                        model_version=ner.model_version,
                        ls_project_id=project_id,
                        ls_task_id=task_id,
                    ),
                )
            for document_id in {p.document_id for p in chunk}:
                repo.set_document_status(conn, document_id, "prelabeled")
        summary.imported += len(chunk)
        summary.spans += sum(len(s) for s in spans)
        log.info("imported %d/%d tasks into LS project %d", summary.imported, len(pending), project_id)
    summary.seconds["import"] = time.perf_counter() - t
    return summary

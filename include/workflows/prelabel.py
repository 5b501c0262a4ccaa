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
from pathlib import Path
from typing import Any, Protocol

from prometheus_client import Counter

from include.adapters.db import documents, labelling
from include.adapters.db import repository as repo
from include.adapters.db.connection import transaction
from include.adapters.db.documents import PendingRecord
from include.adapters.extract.limits import ExtractLimits, check_file_bytes, check_records
from include.adapters.extract.records import ExtractedRecord, ExtractionError
from include.adapters.extract.sandbox import extract_isolated, render_isolated
from include.adapters.label_studio import client as ls_client
from include.adapters.label_studio.payloads import TASK_DOCUMENT_SHA256, TASK_RECORD_KEY
from include.adapters.label_studio.tasks import build_task
from include.adapters.ner.client import NerClient
from include.adapters.objectstore import ObjectStore
from include.core.spans import Span
from include.workflows.ingest import SourceObject, open_object
from include.workflows.intake.settle import around_import
from include.workflows.source_pages import store_pages

log = logging.getLogger(__name__)

DOCUMENTS = Counter("prelabel_documents_total", "Documents extracted, by outcome", ["status"])
RECORDS = Counter("prelabel_records_total", "Records by prelabel stage", ["stage"])


@dataclass
class ExtractOutcome:
    """A document's extraction: its status, records or error, and the extraction process's peak
    resident set (MB) while it read and rendered this document (None when nothing was read)."""

    document_id: int
    uri: str
    status: str
    records: int = 0
    error: str | None = None
    peak_rss_mb: float | None = None


class PreparedRecords(Protocol):
    """Records extracted ahead of time (the Spark tables job's output): a document's records, None when
    not covered, ExtractionError when the document could not be read."""

    def records_for(self, uri: str, doc_type: str | None = None) -> list[ExtractedRecord] | None: ...


def extract_records(
    conn: repo.Connection,
    document_id: int,
    store: ObjectStore | None = None,
    prepared: PreparedRecords | None = None,
) -> ExtractOutcome:
    """Extract a registered document into records; a bad file fails alone with its reason stored.

    The extraction and the page renders run in a child process under the limits of the settings
    (`include.adapters.extract.limits`, `include.adapters.extract.sandbox`): a file over a limit, a parser
    that runs out of time or memory, or a child that dies fails this document, once: a failed document is not
    read again unless its bytes change (then it is another document). With `prepared`, a document it
    covers takes its records from there instead of being read again."""
    with transaction(conn):
        doc = documents.get_document_by_id(conn, document_id)
        if doc is None:
            raise repo.RepositoryError(f"document_id: no document {document_id}")
        if doc.status in ("extracted", "prelabeled"):
            n = documents.count_records(conn, document_id=document_id)
            return ExtractOutcome(document_id, doc.uri, doc.status, records=n)
    if doc.status == "failed":
        return ExtractOutcome(document_id, doc.uri, "failed", error=doc.error)
    name = doc.uri.rsplit("/", 1)[-1]
    started = time.perf_counter()
    limits = ExtractLimits.from_settings()
    data: bytes | None = None
    peaks: list[int] = []
    try:
        doc_type = None if doc.doc_type == "unknown" else doc.doc_type
        extracted = prepared.records_for(doc.uri, doc_type) if prepared is not None else None
        if extracted is None:
            check_file_bytes(name, doc.size_bytes, limits)
            data = _read_capped(doc.uri, name, store, limits)
            isolated = extract_isolated(data, name, doc_type, limits)
            extracted = isolated.value
            peaks += [isolated.peak_rss_bytes] if isolated.peak_rss_bytes else []
        check_records(name, len(extracted), limits)
        if not extracted:
            raise ExtractionError(name, "no text found")
    except ExtractionError as exc:
        peak = getattr(exc, "peak_rss_bytes", None)  # set by the sandbox when the worker raised it
        return _failed(conn, doc, str(exc), [*peaks, peak] if peak else peaks)
    except OSError as exc:
        return _failed(conn, doc, f"{name}: cannot read ({exc})", peaks)
    page_images = _store_pages(doc, data, extracted, store, limits, peaks)
    with transaction(conn):
        repo.add_records(
            conn,
            document_id,
            [
                repo.NewRecord(record_key=r.record_key, text=r.text, meta=_with_page(r.meta, page_images))
                for r in extracted
            ],
        )
        repo.set_document_status(conn, document_id, "extracted")
    DOCUMENTS.labels("extracted").inc()
    RECORDS.labels("extracted").inc(len(extracted))
    peak = _mb(peaks)
    log.info(
        "extracted %s: %d records in %.2fs (extraction process peak %s MB)",
        name,
        len(extracted),
        time.perf_counter() - started,
        peak,
    )
    return ExtractOutcome(document_id, doc.uri, "extracted", records=len(extracted), peak_rss_mb=peak)


def _failed(conn: repo.Connection, doc: documents.Document, error: str, peaks: list[int]) -> ExtractOutcome:
    """Mark the document failed with its reason, once: extract_records returns early for it from now on."""
    with transaction(conn):
        repo.set_document_status(conn, doc.id, "failed", error)
    log.warning("extract failed: %s", error)
    DOCUMENTS.labels("failed").inc()
    return ExtractOutcome(doc.id, doc.uri, "failed", error=error, peak_rss_mb=_mb(peaks))


def _mb(peaks: list[int]) -> float | None:
    return round(max(peaks) / 2**20, 1) if peaks else None


def _read_capped(uri: str, name: str, store: ObjectStore | None, limits: ExtractLimits) -> bytes:
    """The document's bytes, read no further than EXTRACT_MAX_FILE_BYTES (the object may have grown
    since it was registered)."""
    with open_object(SourceObject(uri=uri, name=name, size=0), store) as stream:
        data = stream.read(limits.max_file_bytes + 1)
    check_file_bytes(name, len(data), limits)
    return data


def _store_pages(
    doc: documents.Document,
    data: bytes | None,
    extracted: list[ExtractedRecord],
    store: ObjectStore | None,
    limits: ExtractLimits,
    peaks: list[int],
) -> dict[int, str]:
    """The rendered page of every page a PDF/image document's records came from, stored beside it
    (rendered in the extraction sandbox; each render's peak memory is added to `peaks`)."""
    if doc.doc_type not in ("pdf", "image") or data is None:
        return {}
    pages = {int(r.meta["page"]) for r in extracted if isinstance(r.meta.get("page"), int)}

    def render(data: bytes, doc_type: str, wanted: set[int]) -> dict[int, bytes]:
        isolated = render_isolated(data, doc_type, wanted, limits)
        peaks.extend([isolated.peak_rss_bytes] if isolated.peak_rss_bytes else [])
        return isolated.value

    started = time.perf_counter()
    stored = store_pages(doc.uri, doc.sha256, doc.doc_type, data, pages, store, render=render)
    log.info(
        "pages of %s: %d of %d stored in %.2fs",
        doc.uri,
        len(stored),
        len(pages),
        time.perf_counter() - started,
    )
    return stored


def _with_page(meta: dict[str, Any], page_images: dict[int, str]) -> dict[str, Any]:
    page = meta.get("page")
    if isinstance(page, int) and page in page_images:
        return {**meta, "page_image": page_images[page]}
    return meta


def pending_records(conn: repo.Connection, document_ids: Sequence[int] | None = None) -> list[PendingRecord]:
    """Records of extracted documents that have no live LS task yet, in document/record order."""
    with transaction(conn):
        return documents.pending_records(conn, document_ids)


def relink_existing_tasks(conn: repo.Connection, ls: Any, project_id: int) -> int:
    """Link LS tasks that exist but are not linked here (a crash after import): no duplicates on rerun.

    Reads the project's task list only when an earlier import to it never linked its tasks.
    """
    with transaction(conn):
        unfinished = documents.unfinished_ls_imports(conn, project_id)
    if not unfinished:
        return 0
    links: list[tuple[int, int, str | None]] = []
    for task in ls.tasks.list(project=project_id, fields="all"):
        data = task.data or {}
        sha, key = data.get(TASK_DOCUMENT_SHA256), data.get(TASK_RECORD_KEY)
        if not (isinstance(sha, str) and isinstance(key, str)):
            continue
        with transaction(conn):
            record = repo.find_record(conn, document_sha256=sha, record_key=key)
        if record is not None and record.ls_task_id is None:
            links.append((record.id, int(task.id), data.get("model_version")))
    with transaction(conn):
        linked = documents.link_ls_tasks(conn, project_id, links)
        documents.finish_ls_imports(conn, unfinished)
    log.info("LS project %d: %d tasks of %d interrupted imports linked", project_id, linked, len(unfinished))
    return linked


class PredictionError(RuntimeError):
    """The model failed mid-step; the message names the model server, and what was stored before stays."""


def model_server(ner: NerClient) -> str:
    """Where the client's model runs, for error messages: `triton at http://host:port (model 'ner')`."""
    backend = ner.backend
    url = getattr(backend, "url", None)
    if url is None:
        return f"{backend.name} (model {ner.model_version})"
    scheme = getattr(backend, "scheme", "") or "http"
    return f"{backend.name} at {scheme}://{url} (model {getattr(backend, 'model_name', '?')!r})"


def predict_pending(
    conn: repo.Connection, ner: NerClient, document_ids: Sequence[int] | None = None
) -> tuple[int, int]:
    """Store a prediction version for every pending record that has none from this model version.

    Returns (records predicted, spans). Predictions live in the database, so the import step (and a
    rerun) reads them back instead of running the model again.
    """
    candidates = pending_records(conn, document_ids)
    with transaction(conn):
        predicted = labelling.latest_predictions(conn, [p.record_id for p in candidates], ner.model_version)
    pending = [p for p in candidates if p.record_id not in predicted]
    if not pending:
        return 0, 0
    started = time.perf_counter()
    n_spans = 0
    for start in range(0, len(pending), 256):
        chunk = pending[start : start + 256]
        try:
            spans = ner.predict([p.text for p in chunk])
        except Exception as error:
            raise PredictionError(
                f"prediction failed on {model_server(ner)} after {start}/{len(pending)} records were "
                f"predicted and stored (a rerun predicts only the rest): {type(error).__name__}: {error}"
            ) from error
        with transaction(conn):
            labelling.append_predictions(
                conn, [(p.record_id, s) for p, s in zip(chunk, spans, strict=True)], ner.model_version
            )
        n_spans += sum(len(s) for s in spans)
        RECORDS.labels("predicted").inc(len(chunk))
        done = start + len(chunk)
        log.info(
            "predicted %d/%d records (%.1f records/s) with %s",
            done,
            len(pending),
            done / max(time.perf_counter() - started, 1e-9),
            ner.model_version,
        )
    return len(pending), n_spans


@dataclass
class ImportSummary:
    records: int = 0
    imported: int = 0
    relinked: int = 0
    without_prediction: int = 0
    in_place: int = 0
    source_tasks: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def import_pending(
    conn: repo.Connection,
    ls: Any,
    project_id: int,
    *,
    document_ids: Sequence[int] | None = None,
    chunk_size: int = 100,
    files_root: Path | None = None,
) -> ImportSummary:
    """Import every pending record with its latest prediction as an LS task, chunk by chunk.

    Tasks that reached LS in an earlier, interrupted run are linked first, so nothing is imported twice.
    Each chunk's links are stored right after LS answers; the TASKS_CREATED webhook makes the same links.
    A record that is the whole of a file LS made a task for is prelabeled in that task instead, and the
    tasks LS made for files of many records are then marked split (`include.workflows.intake.settle`).
    """
    summary = ImportSummary()
    started = time.perf_counter()
    summary.relinked = relink_existing_tasks(conn, ls, project_id)
    pending = pending_records(conn, document_ids)
    with transaction(conn):
        predictions = labelling.latest_predictions(conn, [p.record_id for p in pending])
    work = [(p, predictions[p.record_id]) for p in pending if p.record_id in predictions]
    summary.without_prediction = len(pending) - len(work)
    summary.records = len(work)
    with around_import(conn, ls, project_id, work, lambda p, pred: _task(p, pred, files_root)) as storage:
        work = storage.records  # not the records that go into the tasks LS made for their files
        for start in range(0, len(work), chunk_size):
            chunk = work[start : start + chunk_size]
            tasks = [_task(p, pred, files_root) for p, pred in chunk]
            with transaction(conn):
                import_id = documents.begin_ls_import(conn, project_id, [p.record_id for p, _ in chunk])
            task_ids = ls_client.import_tasks(ls, project_id, tasks, chunk_size=chunk_size)
            with transaction(conn):
                links = [
                    (p.record_id, task_id, pred.model_version)
                    for (p, pred), task_id in zip(chunk, task_ids, strict=True)
                ]
                documents.link_ls_tasks(conn, project_id, links)
                documents.set_documents_status(conn, sorted({p.document_id for p, _ in chunk}), "prelabeled")
                documents.finish_ls_imports(conn, [import_id])
            summary.imported += len(chunk)
            RECORDS.labels("imported").inc(len(chunk))
            log.info(
                "imported %d/%d tasks into LS project %d (%.0f tasks/s)",
                summary.imported,
                len(work),
                project_id,
                summary.imported / max(time.perf_counter() - started, 1e-9),
            )
    summary.in_place = storage.in_place
    RECORDS.labels("in_place").inc(storage.in_place)
    summary.imported += summary.in_place
    summary.source_tasks = storage.settled
    summary.seconds = time.perf_counter() - started
    return summary


def _task(record: PendingRecord, prediction: labelling.Prediction, files_root: Path | None) -> dict[str, Any]:
    return build_task(
        text=record.text,
        record_key=record.record_key,
        meta=record.meta,
        document_sha256=record.document_sha256,
        document_uri=record.document_uri,
        s3_key=record.s3_key,
        doc_type=record.doc_type,
        spans=[Span(**s) for s in prediction.spans],
        model_version=prediction.model_version or "",
        files_root=files_root,
    )

"""Prelabel operators: each a few lines around one `include/` call, with counts in the task log."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from include.core.settings import get_settings
from nerloop_airflow import hooks


class DiscoverDocumentsOperator(BaseOperator):
    """List the source, hash each file and register it; returns the ids of documents to extract."""

    template_fields: Sequence[str] = ("source",)

    def __init__(self, *, source: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source

    def execute(self, context: Any) -> list[int]:
        from include.workflows.ingest import ingest_source

        with hooks.db() as conn:
            docs = list(ingest_source(conn, self.source, hooks.object_store(self.source)))
        new = sum(d.created for d in docs)
        self.log.info("source %s: %d files, %d new documents", self.source, len(docs), new)
        return [d.document_id for d in docs]


class LabelStudioIntakeOperator(BaseOperator):
    """Take in the tasks LS made from the project's storage of the inbox (INBOX_URI): register each file;
    returns the document ids. Any other task is marked failed with its reason, and nothing of it is read."""

    template_fields: Sequence[str] = ("project", "scan")

    def __init__(self, *, project: str, scan: Any = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.project = project
        self.scan = scan

    def execute(self, context: Any) -> list[int]:
        from include.adapters.label_studio.client import ensure_project
        from include.workflows.intake.register import take_in

        ls = hooks.label_studio()
        project_id = ensure_project(ls, self.project)
        settings = get_settings()
        store = hooks.object_store(settings.store.inbox_uri)
        with hooks.db() as conn:
            summary = take_in(
                conn,
                ls,
                project_id,
                inbox_uri=settings.store.inbox_uri,
                files_root=settings.label_studio.label_studio_files_root,
                store=store,
                scan=str(self.scan).lower() in ("true", "1"),
            )
        self.log.info(
            "LS project %d: %d storage tasks noted by the scan, %d registered (%d new documents), %d failed, "
            "%d left for next run",
            project_id,
            summary.noted,
            summary.registered,
            summary.new_documents,
            len(summary.failed),
            len(summary.deferred),
        )
        for failure in summary.failed:
            self.log.warning("not taken in: %s", failure["error"])
        return summary.document_ids


class DoclingExtractOperator(BaseOperator):
    """Extract one document into records (Docling for PDF/images/office, the row normalizer for tables).

    With `spark_output_root`, tables the Spark job of this DAG run read take their records from its
    Parquet output (when the job ran: the engine branch may have skipped it)."""

    template_fields: Sequence[str] = ("document_id", "source", "spark_output_root")

    def __init__(
        self, *, document_id: int, source: str = "", spark_output_root: str = "", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.document_id = document_id
        self.source = source
        self.spark_output_root = spark_output_root

    def execute(self, context: Any) -> dict[str, Any]:
        from include.workflows.prelabel import extract_records

        prepared = self._spark_records(context["run_id"]) if self.spark_output_root else None
        with hooks.db() as conn:
            outcome = extract_records(
                conn, int(self.document_id), hooks.object_store(self.source), prepared=prepared
            )
        self.log.info(
            "document %s: %s, %d records %s",
            outcome.uri,
            outcome.status,
            outcome.records,
            outcome.error or "",
        )
        return dataclasses.asdict(outcome)

    def _spark_records(self, run_id: str) -> Any:
        from include.adapters.extract.parquet_records import ParquetRecords, output_location
        from nerloop_airflow.spark import run_output_uri

        output = run_output_uri(self.spark_output_root, run_id)
        store = hooks.object_store(output_location(output).uri)
        if not ParquetRecords.exists(output, store):
            return None
        self.log.info("tables from the Spark job's output %s", output)
        return ParquetRecords(output, store)


class BatchedNerInferOperator(BaseOperator):
    """Predict spans for every pending record in micro-batches (Triton or ONNX Runtime)."""

    template_fields: Sequence[str] = ("document_ids",)

    def __init__(self, *, document_ids: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.document_ids = document_ids

    def execute(self, context: Any) -> dict[str, Any]:
        from include.workflows.prelabel import predict_pending

        ner = hooks.ner_client()
        with hooks.db() as conn:
            records, spans = predict_pending(conn, ner, self.document_ids)
        self.log.info("predicted %d records, %d spans with model %s", records, spans, ner.model_version)
        return {"records": records, "spans": spans, "model_version": ner.model_version}


class LabelStudioImportOperator(BaseOperator):
    """Import pending records with their predictions as LS tasks, in chunks, without duplicates."""

    template_fields: Sequence[str] = ("project", "chunk_size", "document_ids")

    def __init__(
        self, *, project: str, chunk_size: Any = 100, document_ids: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.project = project
        self.chunk_size = chunk_size
        self.document_ids = document_ids

    def execute(self, context: Any) -> dict[str, Any]:
        from include.adapters.label_studio.client import ensure_project
        from include.workflows.prelabel import import_pending

        ls = hooks.label_studio()
        project_id = ensure_project(ls, self.project)
        with hooks.db() as conn:
            summary = import_pending(
                conn,
                ls,
                project_id,
                document_ids=self.document_ids,
                chunk_size=int(self.chunk_size),
                files_root=get_settings().label_studio.label_studio_files_root,
            )
        self.log.info(
            "LS project %d: imported %d tasks (%d in place), relinked %d, %d records without prediction; "
            "storage tasks settled: %s",
            project_id,
            summary.imported,
            summary.in_place,
            summary.relinked,
            summary.without_prediction,
            summary.source_tasks or "none",
        )
        return {"project_id": project_id, **dataclasses.asdict(summary)}

"""
### Prelabel a batch of documents in Label Studio

Triggered from the UI or API with params: `source` (a folder, `file://…` or `s3://bucket/prefix`),
`project` (the Label Studio project title) and `chunk_size` (tasks per LS import request).

discover (hash + register) → extract (mapped over documents; a bad file fails alone) → infer (batched
NER, Triton or ONNX Runtime) → import (LS tasks with predictions, no duplicates on rerun) → summary.

Extraction runs in a child process under per-document limits (`EXTRACT_*` settings: file bytes, PDF
pages, page pixels, image frames, sheet cells, records, seconds, memory): a file over one is marked
failed with its reason, once, and the batch goes on. Every task has an execution timeout.

Bulk tables: with a Spark connection configured (`NERLOOP_SPARK_CONN_ID`), the `engine` branch runs
`spark_tables` first (spark-submit of apps/spark-jobs over the source) and extract stores its
records for CSV/XLSX documents; without one, `spark_tables` is skipped and pandas extracts them.
"""

from __future__ import annotations

import json
import logging
from typing import cast

import pendulum
from airflow.sdk import Param, dag, task
from nerloop_airflow.operators import (
    BatchedNerInferOperator,
    DiscoverDocumentsOperator,
    DoclingExtractOperator,
    LabelStudioImportOperator,
)
from nerloop_airflow.spark import SparkTablesOperator, table_engine

from include.core.settings import get_settings

log = logging.getLogger("airflow.task")

# Read once where the DAG is parsed: the params' defaults (INBOX_URI, LABEL_STUDIO_PROJECT,
# LS_IMPORT_CHUNK_SIZE), the extract tasks' time limit and the Spark output root.
SETTINGS = get_settings()
# One document: the extraction's time limit, then its page renders' (each EXTRACT_TIMEOUT_S in the
# child), and the database writes: the child's limit always fires first, so a slow document fails
# alone instead of the task timing out.
EXTRACT_TASK_TIMEOUT = pendulum.duration(seconds=2 * SETTINGS.extract.extract_timeout_s + 120)


@dag(
    dag_id="prelabel_batch",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["prelabel", "label-studio", "ner"],
    doc_md=__doc__,
    default_args={
        "retries": 2,
        "retry_delay": pendulum.duration(seconds=10),
        "execution_timeout": pendulum.duration(hours=2),
    },
    params={
        "source": Param(SETTINGS.store.inbox_uri, type="string", description="folder, file:// or s3:// URI"),
        "project": Param(
            SETTINGS.label_studio.label_studio_project,
            type="string",
            description="Label Studio project title",
        ),
        "chunk_size": Param(
            SETTINGS.label_studio.ls_import_chunk_size, type="integer", minimum=1, maximum=1000
        ),
    },
)
def prelabel_batch() -> None:
    discover = DiscoverDocumentsOperator(task_id="discover", source="{{ params.source }}")

    @task.branch
    def engine() -> list[str]:
        return ["spark_tables", "extract"] if table_engine() == "spark" else ["extract"]

    spark_tables = SparkTablesOperator(task_id="spark_tables", source="{{ params.source }}")
    extract = DoclingExtractOperator.partial(
        task_id="extract",
        source="{{ params.source }}",
        spark_output_root=SETTINGS.spark_output_root,
        max_active_tis_per_dagrun=2,
        trigger_rule="none_failed",
        execution_timeout=EXTRACT_TASK_TIMEOUT,
    ).expand(document_id=discover.output)
    # all_done: an extract task that fails (not a document: those fail alone, inside the task) still
    # leaves the batch's other documents to be predicted and imported; the run then ends failed.
    infer = BatchedNerInferOperator(task_id="infer", document_ids=discover.output, trigger_rule="all_done")
    import_tasks = LabelStudioImportOperator(
        task_id="import_to_label_studio",
        project="{{ params.project }}",
        chunk_size="{{ params.chunk_size }}",
        document_ids=discover.output,
    )

    @task(execution_timeout=pendulum.duration(minutes=5))
    def summary(outcomes: list[dict], inferred: dict, imported: dict) -> dict:
        failed = [o for o in outcomes if o["status"] == "failed"]
        peaks = {o["uri"]: o["peak_rss_mb"] for o in outcomes if o.get("peak_rss_mb") is not None}
        result = {
            "documents": len(outcomes),
            "records": sum(o["records"] for o in outcomes),
            "failed": [{"uri": o["uri"], "error": o["error"]} for o in failed],
            "predicted": inferred["records"],
            "model_version": inferred["model_version"],
            "imported": imported["imported"],
            "extraction_peak_rss_mb": peaks,
        }
        log.info("prelabel summary: %s", json.dumps(result, sort_keys=True))
        for f in failed:
            log.warning("failed: %s — %s", f["uri"], f["error"])
        return result

    discover >> engine() >> [spark_tables, extract]
    spark_tables >> extract >> infer >> import_tasks
    # Operator outputs are XComArgs; summary receives the pulled values at run time.
    summary(cast(list, extract.output), cast(dict, infer.output), cast(dict, import_tasks.output))


prelabel_batch()

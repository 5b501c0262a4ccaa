"""
### Prelabel a batch of documents in Label Studio

Triggered from the UI or API with params: `source` (a folder, `file://…` or `s3://bucket/prefix`),
`project` (the Label Studio project title) and `chunk_size` (tasks per LS import request).

discover (hash + register) → extract (mapped over documents; a bad file fails alone) → infer (batched
NER, Triton or ONNX Runtime) → import (LS tasks with predictions, no duplicates on rerun) → summary.

Bulk tables: with a Spark connection configured (`NERLOOP_SPARK_CONN_ID`), the `engine` branch runs
`spark_tables` first (spark-submit of apps/spark-jobs over the source) and extract stores its
records for CSV/XLSX documents; without one, `spark_tables` is skipped and pandas extracts them.
"""

from __future__ import annotations

import logging
import os
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

from include.settings import get_settings

log = logging.getLogger("airflow.task")

INBOX_URI = os.environ.get("INBOX_URI", "file:///opt/nerloop/samples")
LS_PROJECT = os.environ.get("LABEL_STUDIO_PROJECT", "NER prelabel")


@dag(
    dag_id="prelabel_batch",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["prelabel", "label-studio", "ner"],
    doc_md=__doc__,
    default_args={"retries": 2, "retry_delay": pendulum.duration(seconds=10)},
    params={
        "source": Param(INBOX_URI, type="string", description="folder, file:// or s3:// URI"),
        "project": Param(LS_PROJECT, type="string", description="Label Studio project title"),
        "chunk_size": Param(100, type="integer", minimum=1, maximum=1000),
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
        spark_output_root=get_settings().spark_output_root,
        max_active_tis_per_dagrun=2,
        trigger_rule="none_failed",
    ).expand(document_id=discover.output)
    infer = BatchedNerInferOperator(task_id="infer", document_ids=discover.output)
    import_tasks = LabelStudioImportOperator(
        task_id="import_to_label_studio",
        project="{{ params.project }}",
        chunk_size="{{ params.chunk_size }}",
        document_ids=discover.output,
    )

    @task
    def summary(outcomes: list[dict], inferred: dict, imported: dict) -> dict:
        failed = [o for o in outcomes if o["status"] == "failed"]
        result = {
            "documents": len(outcomes),
            "records": sum(o["records"] for o in outcomes),
            "failed": [{"uri": o["uri"], "error": o["error"]} for o in failed],
            "predicted": inferred["records"],
            "model_version": inferred["model_version"],
            "imported": imported["imported"],
        }
        log.info("prelabel summary: %s", result)
        for f in failed:
            log.warning("failed: %s — %s", f["uri"], f["error"])
        return result

    discover >> engine() >> [spark_tables, extract]
    spark_tables >> extract >> infer >> import_tasks
    # Operator outputs are XComArgs; summary receives the pulled values at run time.
    summary(cast(list, extract.output), cast(dict, infer.output), cast(dict, import_tasks.output))


prelabel_batch()

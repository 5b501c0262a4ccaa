"""The job's steps in order: list → plan → route by lines → read (Spark CSV / python) → write."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from nerloop_tables.csv_rows import csv_records, line_flags
from nerloop_tables.documents import document_records
from nerloop_tables.output import as_partitioned, empty_records, write_manifest, write_records
from nerloop_tables.plan import TablePlan, list_tables, plan_file, to_hadoop_uri

log = logging.getLogger("nerloop.spark_tables")

PACKAGES = ("include", "nerloop_tables")


@dataclass
class JobSummary:
    documents: int = 0
    records: int = 0
    failed: int = 0
    seconds: float = 0.0
    routes: dict[str, int] = field(default_factory=dict)


def run(spark: SparkSession, inputs: list[str], output: str) -> JobSummary:
    """Read every table under `inputs`, write records + manifest under `output`."""
    started = time.perf_counter()
    output = to_hadoop_uri(output)
    ship_code(spark)
    files = list_tables(spark, inputs)
    plans = [plan_file(spark, path, size) for path, size in files]
    spark_plans = line_flags(spark, [p for p in plans if p.route != "python"])
    plans = [p for p in plans if p.route == "python"] + spark_plans
    routes = {r: sum(p.route == r for p in plans) for r in sorted({p.route for p in plans})}
    log.info("%d tables under %s: routes %s", len(plans), inputs, routes)

    groups = csv_records(spark, [p for p in plans if p.route != "python"])
    routed = document_records(spark, [p for p in plans if p.route == "python"]).persist()
    errors = {r["document"]: r["error"] for r in routed.where(F.col("error").isNotNull()).collect()}
    frames: list[DataFrame] = [as_partitioned(records) for records, _ in groups]
    frames.append(as_partitioned(routed.where(F.col("error").isNull())))
    union = empty_records(spark)
    for frame in frames:
        union = union.unionByName(frame)
    counts = write_records(union, output)
    for _, base in groups:
        base.unpersist()
    routed.unpersist()

    write_manifest(spark, [_manifest_row(p, counts, errors) for p in plans], output)
    summary = JobSummary(
        documents=len(plans),
        records=sum(counts.values()),
        failed=len(errors),
        seconds=time.perf_counter() - started,
        routes=routes,
    )
    log.info(
        "wrote %d records of %d documents (%d failed) to %s in %.1fs (%.0f records/s)",
        summary.records,
        summary.documents,
        summary.failed,
        output,
        summary.seconds,
        summary.records / max(summary.seconds, 1e-9),
    )
    return summary


def _manifest_row(plan: TablePlan, counts: dict[str, int], errors: dict[str, str]) -> dict[str, Any]:
    return {
        "document_uri": plan.document_uri,
        "document": plan.document,
        "source_path": plan.path,
        "doc_type": plan.doc_type,
        "route": plan.route,
        "records": counts.get(plan.document, 0),
        "error": errors.get(plan.document),
    }


def ship_code(spark: SparkSession) -> Path:
    """Zip `include/` and this package and add them to the executors' Python path, so a cluster only
    needs the project's dependencies installed, not its source. The zip must outlive the job (executors
    fetch it lazily); its name is its content hash, so adding it again in one session is a no-op."""
    here = Path(__file__).resolve().parent
    roots = {"nerloop_tables": here, "include": _package_dir("include")}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in PACKAGES:
            for source in sorted(roots[name].rglob("*.py")):
                info = zipfile.ZipInfo(f"{name}/{source.relative_to(roots[name]).as_posix()}")
                zf.writestr(info, source.read_bytes(), zipfile.ZIP_DEFLATED)
    data = buffer.getvalue()
    archive = Path(tempfile.gettempdir()) / f"nerloop_code-{hashlib.sha256(data).hexdigest()[:16]}.zip"
    if not archive.exists():
        partial = archive.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(data)
        partial.replace(archive)
    spark.sparkContext.addPyFile(str(archive))
    return archive


def _package_dir(name: str) -> Path:
    import importlib

    module = importlib.import_module(name)
    return Path(module.__file__).resolve().parent

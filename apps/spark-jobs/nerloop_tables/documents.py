"""The python route: whole documents read by the pandas path's own extractor on the executors.

XLSX workbooks (small by nature, and needing openpyxl's merged cells, dates and header search) and the
CSV files Spark's reader cannot match exactly (see plan.py) are read with Spark's `binaryFile` source,
and each file's bytes go through `include.adapters.extract.router.extract_document` in a Python task. Parity
with the pandas path is by construction here; the parallelism is per file.

The Python step is an RDD `flatMap`: one call per file, no Arrow batches to build for whole documents.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from include.adapters.extract.parquet_records import record_to_row
from include.adapters.extract.records import ExtractionError
from nerloop_tables.output import PARTITIONED_SCHEMA
from nerloop_tables.plan import TablePlan, path_key_column

ROUTED_SCHEMA = T.StructType([*PARTITIONED_SCHEMA.fields, T.StructField("error", T.StringType())])


def document_records(spark: SparkSession, plans: list[TablePlan]) -> DataFrame:
    """Records (and one `error` row per unreadable document) of the python-route files."""
    # binaryFile skips empty files: their rows (the extractor's error) are made here.
    empty = [row for p in plans if p.size == 0 for row in _rows(p, b"")]
    plans = [p for p in plans if p.size > 0]
    if not plans:
        return spark.createDataFrame(empty, ROUTED_SCHEMA)
    info = spark.createDataFrame(
        [(p.path, p.document_uri, p.document, p.doc_type) for p in plans],
        "path string, document_uri string, document string, doc_type string",
    )
    files = (
        spark.read.format("binaryFile")
        .load([unquote(p.path) for p in plans])
        .select(path_key_column(F.col("path")).alias("path"), "content")
        .join(F.broadcast(info), "path")
        .select("document_uri", "document", "doc_type", "content")
    )
    rows = files.rdd.flatMap(lambda f: document_rows(f[0], f[1], f[2], bytes(f[3])))
    return spark.createDataFrame(rows, ROUTED_SCHEMA).unionByName(spark.createDataFrame(empty, ROUTED_SCHEMA))


def _rows(plan: TablePlan, content: bytes) -> list[tuple[Any, ...]]:
    return document_rows(plan.document_uri, plan.document, plan.doc_type, content)


def document_rows(uri: str, document: str, doc_type: str, content: bytes) -> list[tuple[Any, ...]]:
    """The output rows of one document, extracted exactly as the prelabel flow's extract step does."""
    from include.adapters.extract.router import extract_document

    name = uri.rsplit("/", 1)[-1]
    try:
        records = extract_document(content, name, doc_type)  # type: ignore[arg-type]
    except ExtractionError as exc:
        error = {"document_uri": uri, "document": document, "error": str(exc)}
        return [tuple(error.get(f) for f in ROUTED_SCHEMA.names)]
    rows = []
    for position, record in enumerate(records):
        row = {**record_to_row(uri, position, record), "document": document, "error": None}
        rows.append(tuple(row[f] for f in ROUTED_SCHEMA.names))
    return rows

"""The job's output schema and writer: records partitioned by document, then the documents manifest.

The layout is what `include.adapters.extract.parquet_records.ParquetRecords` reads; it is written records
first and manifest last, so a manifest with its `_SUCCESS` marker means a complete output.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from include.adapters.extract.parquet_records import DOCUMENTS_DIR, RECORDS_DIR

COLUMNS_TYPE = T.ArrayType(
    T.StructType(
        [
            T.StructField("name", T.StringType()),
            T.StructField("start", T.IntegerType()),
            T.StructField("end", T.IntegerType()),
        ]
    )
)
RECORD_SCHEMA = T.StructType(
    [
        T.StructField("document_uri", T.StringType()),
        T.StructField("position", T.LongType()),
        T.StructField("record_key", T.StringType()),
        T.StructField("text", T.StringType()),
        T.StructField("kind", T.StringType()),
        T.StructField("sheet", T.StringType()),
        T.StructField("row", T.LongType()),
        T.StructField("ragged", T.StringType()),
        T.StructField("columns", COLUMNS_TYPE),
    ]
)
RECORD_COLUMNS = [f.name for f in RECORD_SCHEMA.fields]
# Records as written: the record columns plus `document`, the partition key.
PARTITIONED_SCHEMA = T.StructType([*RECORD_SCHEMA.fields, T.StructField("document", T.StringType())])
MANIFEST_SCHEMA = T.StructType(
    [
        T.StructField("document_uri", T.StringType()),
        T.StructField("document", T.StringType()),
        T.StructField("source_path", T.StringType()),
        T.StructField("doc_type", T.StringType()),
        T.StructField("route", T.StringType()),
        T.StructField("records", T.LongType()),
        T.StructField("error", T.StringType()),
    ]
)


def write_records(records: DataFrame, output: str) -> dict[str, int]:
    """Write the records partitioned by document; returns records per document key."""
    path = f"{output.rstrip('/')}/{RECORDS_DIR}"
    records.select(*RECORD_COLUMNS, "document").write.mode("overwrite").partitionBy("document").parquet(path)
    spark = records.sparkSession
    counts = spark.read.schema(PARTITIONED_SCHEMA).parquet(path).groupBy("document").count().collect()
    return {row["document"]: row["count"] for row in counts}


def write_manifest(spark: SparkSession, rows: list[dict[str, Any]], output: str) -> None:
    """Write the documents manifest (one small file) after the records."""
    path = f"{output.rstrip('/')}/{DOCUMENTS_DIR}"
    frame = spark.createDataFrame([tuple(r[f] for f in MANIFEST_SCHEMA.names) for r in rows], MANIFEST_SCHEMA)
    frame.coalesce(1).write.mode("overwrite").parquet(path)


def empty_records(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame([], PARTITIONED_SCHEMA)


def as_partitioned(frame: DataFrame) -> DataFrame:
    """The columns of PARTITIONED_SCHEMA in order, cast to their types (for unions by position)."""
    return frame.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in PARTITIONED_SCHEMA.fields])

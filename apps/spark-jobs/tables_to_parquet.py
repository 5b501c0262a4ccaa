"""spark-submit entry point: CSV/XLSX tables → the project's row records as Parquet.

    spark-submit --properties-file apps/spark-jobs/conf/cpu.conf \
        apps/spark-jobs/tables_to_parquet.py --input s3a://inbox/2026-01/ --output s3a://work/tables/run-1

Input: folders (listed recursively), files or globs, local or s3a:// (s3:// is read as s3a://; the
cluster needs hadoop-aws on its classpath). Output: `records/` + `documents/` (see
include/adapters/extract/parquet_records.py), which the prelabel flow reads instead of parsing the files
again.

How the work is split, and why:

- CSV/TSV, the bulk: Spark's own CSV reader (every column a string, the dialect the pandas path
  sniffs) and row text built from Spark column expressions, so rows are parsed and rendered in the
  JVM (and on a GPU with the RAPIDS plugin), never in Python. Files without quoted line breaks are
  split across tasks (`spark-lines`); a file with them is one task (`spark-multiline`).
- XLSX, and the few CSVs whose bytes Spark's reader cannot match the pandas path on (blank lines,
  legacy encodings): read whole per file on the executors (`binaryFile` + the project's extractor,
  the `python` route). Workbooks are small by nature and their semantics (merged cells, date
  serials, header search) live in openpyxl; re-implementing them in Spark would buy nothing.

Both give the same records as `include.adapters.extract.router.extract_document`, quirks included
(tests/integration/test_spark_tables.py).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent.parent
for path in (HERE, PROJECT_ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def main(argv: list[str] | None = None) -> int:
    from nerloop_tables.job import run
    from pyspark.sql import SparkSession

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--input", action="append", required=True, help="folder, file or glob (repeatable)")
    parser.add_argument("--output", required=True, help="output folder or s3a:// prefix")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    spark = SparkSession.builder.appName("nerloop-tables-to-parquet").getOrCreate()
    try:
        summary = run(spark, args.input, args.output)
    finally:
        spark.stop()
    print(
        f"tables_to_parquet: {summary.documents} documents, {summary.records} records, "
        f"{summary.failed} failed, {summary.seconds:.1f}s, routes {summary.routes}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

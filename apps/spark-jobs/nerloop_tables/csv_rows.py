"""The Spark route for CSV: Spark's CSV reader parses, Spark column expressions build the row text.

It mirrors `include.adapters.extract.rows.row_text` / `tables.extract_csv` exactly:

- cells are read as strings with the file's sniffed delimiter and quote (doubled quotes escape), every
  file in a group shares one schema `c0..cN` of the header's width;
- a cell's value is its text with whitespace runs (Python's `str.split` set) collapsed to one space;
- row text is `name: value | name: value` over non-empty values; each column's range is the sum of the
  lengths of the parts before it, so no per-row Python runs;
- `row=N` counts data rows in file order. Spark gives no line numbers, so a row's ordinal is its
  split's offset (rows in earlier splits of the file) plus its place in the split, from
  `monotonically_increasing_id`, which is consecutive within a split;
- a row with more or fewer cells than the header (`ragged`) reaches `_corrupt` as its raw text and is
  rendered by the pandas path's own `row_record`: rare rows, so Python only runs for those.

Blank lines are the one thing Spark's reader drops that the pandas path counts, so files with blank
lines never come here (`line_flags` sends them to the python route).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from include.adapters.extract.rows import NAME_VALUE, SEPARATOR
from include.adapters.extract.tables import row_record
from nerloop_tables.output import COLUMNS_TYPE
from nerloop_tables.plan import CSV_FIELD_LIMIT, TablePlan, path_key_column

CORRUPT = "_corrupt"
# The characters Python's str.split() splits on: normalize_value collapses runs of these.
WHITESPACE = (
    "[\\t\\n\\x0B\\f\\r\\x1C-\\x1F \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]+"
)
# Spark's line reader drops lines that are empty after trimming characters <= ' '.
BLANK_LINE = "^[\\x00-\\x20]*$"

_RAGGED_TYPE = T.StructType(
    [
        T.StructField("text", T.StringType()),
        T.StructField("columns", COLUMNS_TYPE),
        T.StructField("ragged", T.StringType()),
    ]
)


def line_flags(spark: SparkSession, plans: list[TablePlan]) -> list[TablePlan]:
    """One pass over the lines of the Spark-route files: blank lines, text the pandas path decodes
    differently (invalid UTF-8, NUL), stray quotes or a line over the csv module's field limit →
    python route;
    a line with an odd number of quote characters (a quoted cell spans lines) → spark-multiline."""
    if not plans:
        return []
    quotes = spark.createDataFrame(
        [(p.path, p.quotechar, stray_quote_pattern(p.delimiter, p.quotechar)) for p in plans],
        "path string, quotechar string, stray_quote string",
    )
    value = F.col("value")
    quote_count = F.length(value) - F.length(F.expr("replace(value, quotechar, '')"))
    flags = (
        spark.read.text([_read_path(p) for p in plans])
        .select(path_key_column(F.col("_metadata.file_path")).alias("path"), value)
        .join(F.broadcast(quotes), "path")
        .groupBy("path")
        .agg(
            F.max(value.rlike(BLANK_LINE) | ~F.is_valid_utf8(value) | value.contains("\x00")).alias("python"),
            F.max(F.expr("value rlike stray_quote")).alias("stray_quote"),
            F.max(F.length(value) > CSV_FIELD_LIMIT).alias("long_line"),
            F.max(quote_count % 2 == 1).alias("odd_quotes"),
        )
        .collect()
    )
    by_path = {row["path"]: row for row in flags}
    routed = []
    for plan in plans:
        row = by_path.get(plan.path)
        if row is None or row["python"] or row["long_line"] or row["stray_quote"]:
            routed.append(plan.with_route("python"))
        else:
            routed.append(plan.with_route("spark-multiline" if row["odd_quotes"] else "spark-lines"))
    return routed


def stray_quote_pattern(delimiter: str, quotechar: str) -> str:
    """A quote between two ordinary characters (`"p"q`, `5'11"`, ` "x"`): Python's csv and Spark's
    reader disagree on some of these (Python joins `"p"q` into `pq`), so such files take the python
    route. Quotes that open or close a cell, or are doubled, sit next to a delimiter, a quote or a
    line end and do not match."""
    special = f"\\x{{{ord(delimiter):x}}}\\x{{{ord(quotechar):x}}}"
    return f"[^{special}]\\x{{{ord(quotechar):x}}}[^{special}]"


def csv_records(spark: SparkSession, plans: list[TablePlan]) -> list[tuple[DataFrame, DataFrame]]:
    """(records, cached base) per group of files read with one schema and dialect; unpersist the
    bases once the records are written."""
    groups: dict[tuple[Any, ...], list[TablePlan]] = defaultdict(list)
    for plan in plans:
        groups[(plan.route, plan.delimiter, plan.quotechar, len(plan.names))].append(plan)
    return [_group_records(spark, group) for _, group in sorted(groups.items())]


def _group_records(spark: SparkSession, plans: list[TablePlan]) -> tuple[DataFrame, DataFrame]:
    first = plans[0]
    width = len(first.names)
    schema = T.StructType(
        [T.StructField(f"c{i}", T.StringType()) for i in range(width)]
        + [T.StructField(CORRUPT, T.StringType())]
    )
    raw = (
        spark.read.schema(schema)
        .option("sep", first.delimiter)
        .option("quote", first.quotechar)
        .option("escape", first.quotechar)
        .option("header", False)
        .option("multiLine", first.route == "spark-multiline")
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .option("encoding", "UTF-8")
        .option("ignoreLeadingWhiteSpace", False)
        .option("ignoreTrailingWhiteSpace", False)
        .csv([_read_path(p) for p in plans])
    )
    base = raw.select(
        path_key_column(F.col("_metadata.file_path")).alias("path"),
        F.col("_metadata.file_block_start").alias("block_start"),
        F.monotonically_increasing_id().alias("mid"),
        *[f"c{i}" for i in range(width)],
        CORRUPT,
    ).persist()
    splits = spark.createDataFrame(_split_offsets(base, plans), _SPLITS_SCHEMA)
    rows = (
        base.join(F.broadcast(splits), ["path", "block_start"])
        .withColumn("ordinal", F.col("offset") + F.col("mid") - F.col("first_mid"))
        .withColumn("row", F.col("ordinal") + 1 - F.col("has_header").cast("long"))
        .where(F.col("row") >= 1)
    )
    if width:
        rows = rows.withColumn(
            "c0", F.when(F.col("ordinal") == 0, F.regexp_replace("c0", "^\ufeff", "")).otherwise(F.col("c0"))
        )
    well_formed = _rendered(rows.where(F.col(CORRUPT).isNull()), width)
    ragged = _ragged(rows.where(F.col(CORRUPT).isNotNull()), first.delimiter, first.quotechar)
    records = (
        well_formed.unionByName(ragged)
        .where(F.col("text") != "")
        .select(
            "document_uri",
            "document",
            F.col("ordinal").alias("position"),
            F.concat(F.lit("row="), F.col("row").cast("string")).alias("record_key"),
            "text",
            F.lit("row").alias("kind"),
            F.lit(None).cast("string").alias("sheet"),
            "row",
            "ragged",
            "columns",
        )
    )
    return records, base


_SPLITS_SCHEMA = T.StructType(
    [
        T.StructField("path", T.StringType()),
        T.StructField("block_start", T.LongType()),
        T.StructField("first_mid", T.LongType()),
        T.StructField("offset", T.LongType()),
        T.StructField("document_uri", T.StringType()),
        T.StructField("document", T.StringType()),
        T.StructField("names", T.ArrayType(T.StringType())),
        T.StructField("has_header", T.BooleanType()),
    ]
)


def _split_offsets(base: DataFrame, plans: Iterable[TablePlan]) -> list[tuple[Any, ...]]:
    """Per (file, split): the first id in the split and how many rows of the file come before it."""
    stats = (
        base.groupBy("path", "block_start")
        .agg(F.min("mid").alias("first_mid"), F.count(F.lit(1)).alias("n"))
        .collect()
    )
    by_path = {p.path: p for p in plans}
    out, offset, previous = [], 0, None
    for row in sorted(stats, key=lambda r: (r["path"], r["block_start"])):
        if row["path"] != previous:
            offset, previous = 0, row["path"]
        plan = by_path[row["path"]]
        out.append(
            (
                row["path"],
                row["block_start"],
                row["first_mid"],
                offset,
                plan.document_uri,
                plan.document,
                list(plan.names),
                plan.has_header,
            )
        )
        offset += row["n"]
    return out


def normalized(cell: Column) -> Column:
    """normalize_value of a string cell: whitespace runs to one space, trimmed; null → ""."""
    collapsed = F.regexp_replace(cell, WHITESPACE, " ")
    return F.coalesce(F.regexp_replace(collapsed, "^ | $", ""), F.lit(""))


def _rendered(rows: DataFrame, width: int) -> DataFrame:
    """Row text and column ranges of well-formed rows, as Spark expressions (see row_text)."""
    values = rows.select(
        "document_uri",
        "document",
        "ordinal",
        "row",
        "names",
        *[normalized(F.col(f"c{i}")).alias(f"v{i}") for i in range(width)],
    )
    names = [F.col("names")[i] for i in range(width)]
    cells = [F.col(f"v{i}") for i in range(width)]
    prefix = len(NAME_VALUE)
    # Characters a non-empty cell adds before the next one: "name: value | ".
    taken = [
        F.when(F.length(v) > 0, F.length(n) + prefix + F.length(v) + len(SEPARATOR)).otherwise(0)
        for n, v in zip(names, cells, strict=True)
    ]
    ranges = []
    for i, (name, value) in enumerate(zip(names, cells, strict=True)):
        start = F.length(name) + prefix
        for before in taken[:i]:
            start = start + before
        ranges.append(
            F.struct(
                name.alias("name"),
                start.cast("int").alias("start"),
                (start + F.length(value)).cast("int").alias("end"),
            )
        )
    parts = [
        F.when(F.length(v) > 0, F.concat(n, F.lit(NAME_VALUE), v)) for n, v in zip(names, cells, strict=True)
    ]
    return values.select(
        "document_uri",
        "document",
        "ordinal",
        "row",
        F.concat_ws(SEPARATOR, *parts).alias("text") if width else F.lit("").alias("text"),
        F.lit(None).cast("string").alias("ragged"),
        F.filter(F.array(*ranges), lambda r: r["end"] > r["start"]).cast(COLUMNS_TYPE).alias("columns"),
    )


def _ragged(rows: DataFrame, delimiter: str, quotechar: str) -> DataFrame:
    """Rows whose cell count differs from the header's, rendered by the pandas path's row_record
    (an RDD map: see documents.py for why not a UDF)."""
    keys = ["document_uri", "document", "ordinal", "row"]
    raw = rows.select(*keys, "names", CORRUPT)

    def render(r: Any) -> tuple[Any, ...]:
        text, columns, ragged = ragged_row(r[5], r[4], r[3], r[2] == 0, delimiter, quotechar) or (
            "",
            None,
            None,
        )
        return (r[0], r[1], r[2], r[3], text, ragged, columns)

    schema = T.StructType(
        [raw.schema[k] for k in keys] + [_RAGGED_TYPE[k] for k in ("text", "ragged", "columns")]
    )
    return rows.sparkSession.createDataFrame(raw.rdd.map(render), schema)


def ragged_row(
    raw: str, names: list[str], row: int, first: bool, delimiter: str, quotechar: str
) -> tuple[str, list[dict[str, Any]], str | None] | None:
    """(text, columns, ragged) of one raw CSV record, exactly as extract_csv renders it."""
    if first:
        raw = raw.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(raw, newline=""), delimiter=delimiter, quotechar=quotechar, strict=False)
    values = next(reader, [])
    record = row_record(f"row={row}", list(names), values, row=row)
    if record is None:
        return None
    columns = [{"name": n, "start": s, "end": e} for n, (s, e) in record.meta["columns"].items()]
    return record.text, columns, record.meta.get("ragged")


def _read_path(plan: TablePlan) -> str:
    """The path string Spark's readers take (not percent-encoded)."""
    from urllib.parse import unquote

    return unquote(plan.path)

"""Driver side: list the input tables and decide, per file, how Spark reads it (its route).

Every decision reuses the pandas path's own functions on the file's head (decoding, `sniff_dialect`,
`looks_like_header`, `unique_names`), so the Spark route starts from the same dialect, header and
column names. A file goes to the `python` route (the pandas path itself, run on an executor) when
the Spark CSV reader could not give byte-for-byte the same rows: XLSX, non-UTF-8 text, a first row
that is blank or not in the head, or (found later by `csv_rows.line_flags`) blank lines.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote

from include.adapters.extract.parquet_records import canonical_uri, document_key
from include.adapters.extract.rows import unique_names
from include.adapters.extract.tables import SNIFF_CHARS, looks_like_header, sniff_dialect

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".tab"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
HEAD_BYTES = 64 * 1024 + 1024
# Strings longer than this make Python's csv module fail (csv.field_size_limit); such files take
# the python route so that they fail the same way.
CSV_FIELD_LIMIT = 131072

Route = str  # "python" | "spark-lines" (splittable) | "spark-multiline" (a file per task)


@dataclass(frozen=True)
class TablePlan:
    """One input file and how it is read."""

    path: str  # as Spark names it: a URI, percent-encoded (`_metadata.file_path`)
    document_uri: str  # canonical_uri(path): what the prelabel flow's documents table holds
    doc_type: str  # csv | xlsx
    route: Route
    size: int = 0
    delimiter: str = ","
    quotechar: str = '"'
    names: tuple[str, ...] = field(default_factory=tuple)
    has_header: bool = False

    @property
    def name(self) -> str:
        """The file name the pandas path gives its extractor (the last segment of the URI)."""
        return self.document_uri.rsplit("/", 1)[-1]

    @property
    def document(self) -> str:
        return document_key(self.document_uri)

    def with_route(self, route: Route) -> TablePlan:
        return replace(self, route=route)


def list_tables(spark: Any, inputs: list[str]) -> list[tuple[str, int]]:
    """(Spark path, size) of every CSV/TSV/XLSX file under the inputs (folders are listed
    recursively; hidden files skipped like ingest does), sorted, without duplicates."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    found: dict[str, int] = {}
    for raw in inputs:
        root = jvm.org.apache.hadoop.fs.Path(to_hadoop_uri(raw))
        fs = root.getFileSystem(conf)
        matched = fs.globStatus(root)
        if not matched:
            raise FileNotFoundError(f"input {raw} matches no file or folder")
        for status in matched:
            if status.isFile():
                statuses = [status]
            else:
                statuses, files = [], fs.listFiles(status.getPath(), True)
                while files.hasNext():
                    statuses.append(files.next())
            for st in statuses:
                name = st.getPath().getName()
                if name.startswith((".", "_")) or _doc_type(name) is None:
                    continue
                found[path_key(st.getPath().toUri().toString())] = int(st.getLen())
    return sorted(found.items())


def path_key(uri: str) -> str:
    """A file's URI spelled the way Spark's readers report it (`file:/x`, not `file:///x`), so plans
    join with `_metadata.file_path` and `binaryFile`'s `path`; see `path_key_column`."""
    return "file:/" + uri[len("file:///") :] if uri.startswith("file:///") else uri


def path_key_column(column: Any) -> Any:
    """path_key as a Spark expression."""
    from pyspark.sql import functions as F

    return F.regexp_replace(column, "^file:///", "file:/")


def to_hadoop_uri(uri: str) -> str:
    """s3:// → s3a:// (Hadoop's S3 connector); everything else unchanged."""
    return "s3a://" + uri[len("s3://") :] if uri.startswith("s3://") else uri


def plan_file(spark: Any, path: str, size: int) -> TablePlan:
    """The route, dialect and header of one file, from its head."""
    uri = canonical_uri(path)
    doc_type = _doc_type(path) or "csv"
    python = TablePlan(path=path, document_uri=uri, doc_type=doc_type, route="python", size=size)
    if doc_type != "csv" or size == 0:
        return python
    head = read_head(spark, path, HEAD_BYTES)
    text = _utf8_head(head, whole=size <= len(head))
    if text is not None and len(text) <= SNIFF_CHARS and size > len(head):
        head = read_head(spark, path, 4 * SNIFF_CHARS + 8)
        text = _utf8_head(head, whole=size <= len(head))
    if text is None or "\x00" in text:
        return python
    whole = size <= len(head)
    delimiter, quotechar = sniff_dialect(text, python.name)
    first = _first_row(text, delimiter, quotechar, complete=whole)
    if not first or not any(cell.strip() for cell in first):
        return python
    header = looks_like_header(first)
    names = unique_names(first if header else [""] * len(first))
    return replace(
        python,
        route="spark-lines",
        delimiter=delimiter,
        quotechar=quotechar,
        names=tuple(names),
        has_header=header,
    )


def read_head(spark: Any, path: str, n: int) -> bytes:
    """The first n bytes of a file through Hadoop's FileSystem (local, s3a, hdfs alike)."""
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(jvm.java.net.URI(path))
    stream = hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).open(hpath)
    try:
        return bytes(stream.readNBytes(n))
    finally:
        stream.close()


def _doc_type(name: str) -> str | None:
    suffix = PurePosixPath(unquote(name)).suffix.lower()
    return "csv" if suffix in CSV_SUFFIXES else "xlsx" if suffix in XLSX_SUFFIXES else None


def _utf8_head(head: bytes, whole: bool) -> str | None:
    """The head as `decode_text` decodes the whole file, when that is UTF-8 (BOM or not); else None.
    A cut multi-byte character at the end of a partial head is dropped."""
    body = head.removeprefix(b"\xef\xbb\xbf")
    for cut in range(1 if whole else 4):
        try:
            return body[: len(body) - cut].decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:
            continue
    return None


def _first_row(text: str, delimiter: str, quotechar: str, complete: bool) -> list[str] | None:
    """The first parsed row; None when it cannot be trusted (a partial head without a second row)."""
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quotechar)
        first, second = next(reader, None), next(reader, None)
    except csv.Error:
        return None
    if first is None or (second is None and not complete):
        return None
    if any(len(cell) > CSV_FIELD_LIMIT for cell in first):
        return None
    return first

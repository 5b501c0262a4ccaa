"""Row records from the Spark tables job's Parquet output, as the same ExtractedRecord objects.

The job (apps/spark-jobs) writes two datasets under its output URI:

- `documents/`: one row per input file: `document_uri` (canonical, see `canonical_uri`), `document`
  (the partition key, see `document_key`), `doc_type`, `route`, `records`, `error`;
- `records/document=<key>/`: one row per record: `document_uri`, `position` (document order),
  `record_key`, `text`, `kind`, `sheet`, `row`, `ragged`, `columns` (a list of {name, start, end}).

`documents/` is written last, so its `_SUCCESS` marker means the whole output is complete.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from include.adapters.extract.records import ExtractedRecord, ExtractionError
from include.core.locations import Location, Store

RECORDS_DIR = "records"
DOCUMENTS_DIR = "documents"
SUCCESS_MARKER = "_SUCCESS"
TABLE_DOC_TYPES = frozenset({"csv", "xlsx"})


def canonical_uri(uri: str) -> str:
    """One spelling per document: `file:///abs/path` (percent-encoded, symlinks resolved) for local
    files whatever the input (`/abs/path`, Hadoop's `file:/abs/path`), `s3://bucket/key` for s3a/s3n."""
    parsed = urlparse(uri)
    if parsed.scheme in ("s3", "s3a", "s3n"):
        return f"s3://{parsed.netloc}/{unquote(parsed.path.lstrip('/'))}"
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path)).resolve().as_uri()
    return uri


def document_key(uri: str) -> str:
    """The short, path-safe partition value of a document's records: sha256 of its canonical URI."""
    return hashlib.sha256(canonical_uri(uri).encode()).hexdigest()[:24]


def record_from_row(row: Mapping[str, Any]) -> ExtractedRecord:
    """One output row back to the record the pandas path gives (meta keys in the same order)."""
    meta: dict[str, Any] = {"kind": row["kind"]}
    if row.get("sheet") is not None:
        meta["sheet"] = row["sheet"]
    meta["row"] = row["row"]
    if row.get("ragged") is not None:
        meta["ragged"] = row["ragged"]
    if row.get("columns") is not None:
        meta["columns"] = {c["name"]: [c["start"], c["end"]] for c in row["columns"]}
    return ExtractedRecord(record_key=row["record_key"], text=row["text"], meta=meta)


def record_to_row(document_uri: str, position: int, record: ExtractedRecord) -> dict[str, Any]:
    """The output row of a record the pandas path extracted (the job's per-document route)."""
    meta = record.meta
    unexpected = set(meta) - {"kind", "sheet", "row", "ragged", "columns"}
    if unexpected:
        raise ValueError(f"{record.record_key}: meta keys {sorted(unexpected)} have no Parquet column")
    columns = meta.get("columns")
    return {
        "document_uri": document_uri,
        "position": position,
        "record_key": record.record_key,
        "text": record.text,
        "kind": meta["kind"],
        "sheet": meta.get("sheet"),
        "row": meta.get("row"),
        "ragged": meta.get("ragged"),
        "columns": None
        if columns is None
        else [{"name": n, "start": s, "end": e} for n, (s, e) in columns.items()],
    }


def output_location(output_uri: str) -> Location:
    """The job's output as a store location: Hadoop's s3a:// and s3n:// name the same objects as s3://."""
    return Location.parse(canonical_uri(output_uri))


class ParquetRecords:
    """Records of one job output, per document: `records_for(uri)` reads that document's partition only.

    The output is read through the caller's `store` (the object store, local folder or S3, built from the
    project's settings or the task's AWS connection), one Parquet file at a time.
    """

    def __init__(self, output_uri: str, store: Store) -> None:
        self._store = store
        self._root = output_location(output_uri)
        manifest = self._table(self._root.child(DOCUMENTS_DIR))
        if manifest is None:
            raise FileNotFoundError(f"{self._root.child(DOCUMENTS_DIR)}: no Parquet files")
        self.documents: dict[str, dict[str, Any]] = {
            canonical_uri(d["document_uri"]): d for d in manifest.to_pylist()
        }

    @staticmethod
    def exists(output_uri: str, store: Store) -> bool:
        """True when the job finished writing this output (its manifest's success marker is there)."""
        return store.exists(output_location(output_uri).child(f"{DOCUMENTS_DIR}/{SUCCESS_MARKER}"))

    def records_for(self, uri: str, doc_type: str | None = None) -> list[ExtractedRecord] | None:
        """The document's records in document order; None when the job did not cover it (not a table,
        or not in its input). A document the job could not read raises its ExtractionError."""
        if doc_type is not None and doc_type not in TABLE_DOC_TYPES:
            return None
        entry = self.documents.get(canonical_uri(uri))
        if entry is None:
            return None
        if entry["error"]:
            name, _, reason = entry["error"].partition(": ")
            raise ExtractionError(name, reason)
        table = self._table(self._root.child(f"{RECORDS_DIR}/document={entry['document']}"))
        if table is None:
            return []
        return [record_from_row(row) for row in table.sort_by("position").to_pylist()]

    def all_records(self) -> Iterable[tuple[str, list[ExtractedRecord]]]:
        """(canonical URI, records) of every document the job read without error, in URI order."""
        for uri in sorted(self.documents):
            if not self.documents[uri]["error"]:
                yield uri, self.records_for(uri) or []

    def _table(self, folder: Location) -> Any:
        """The Parquet files under `folder` as one table, None when there are none. Like Spark and pyarrow,
        files named `_*` (the `_SUCCESS` marker) are not data, and the store's listing already leaves out
        `.*` (checksums); no partition columns."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            found = self._store.list(folder)
        except FileNotFoundError:
            return None
        tables = [
            pq.read_table(pa.BufferReader(self._store.read(f.location)))
            for f in found
            if not f.name.startswith("_")
        ]
        return pa.concat_tables(tables) if tables else None

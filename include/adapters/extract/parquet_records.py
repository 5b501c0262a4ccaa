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


class ParquetRecords:
    """Records of one job output, per document: `records_for(uri)` reads that document's partition only."""

    def __init__(self, output_uri: str, filesystem: Any = None) -> None:
        import pyarrow.parquet as pq

        self._fs, self._root = _filesystem(output_uri, filesystem)
        manifest = pq.read_table(f"{self._root}/{DOCUMENTS_DIR}", filesystem=self._fs).to_pylist()
        self.documents: dict[str, dict[str, Any]] = {canonical_uri(d["document_uri"]): d for d in manifest}

    @staticmethod
    def exists(output_uri: str, filesystem: Any = None) -> bool:
        """True when the job finished writing this output (its manifest's success marker is there)."""
        import pyarrow.fs as pafs

        fs, root = _filesystem(output_uri, filesystem)
        info = fs.get_file_info(f"{root}/{DOCUMENTS_DIR}/{SUCCESS_MARKER}")
        return info.type == pafs.FileType.File

    def records_for(self, uri: str, doc_type: str | None = None) -> list[ExtractedRecord] | None:
        """The document's records in document order; None when the job did not cover it (not a table,
        or not in its input). A document the job could not read raises its ExtractionError."""
        import pyarrow.fs as pafs
        import pyarrow.parquet as pq

        if doc_type is not None and doc_type not in TABLE_DOC_TYPES:
            return None
        entry = self.documents.get(canonical_uri(uri))
        if entry is None:
            return None
        if entry["error"]:
            name, _, reason = entry["error"].partition(": ")
            raise ExtractionError(name, reason)
        path = f"{self._root}/{RECORDS_DIR}/document={entry['document']}"
        if self._fs.get_file_info(path).type != pafs.FileType.Directory:
            return []
        table = pq.read_table(path, filesystem=self._fs, partitioning=None).sort_by("position")
        return [record_from_row(row) for row in table.to_pylist()]

    def all_records(self) -> Iterable[tuple[str, list[ExtractedRecord]]]:
        """(canonical URI, records) of every document the job read without error, in URI order."""
        for uri in sorted(self.documents):
            if not self.documents[uri]["error"]:
                yield uri, self.records_for(uri) or []


def _filesystem(output_uri: str, filesystem: Any) -> tuple[Any, str]:
    """A pyarrow filesystem and the root path inside it; s3/s3a URIs use AWS_ENDPOINT_URL if set."""
    import pyarrow.fs as pafs

    parsed = urlparse(output_uri)
    if filesystem is not None:
        return filesystem, (parsed.netloc + parsed.path if parsed.scheme else output_uri).rstrip("/")
    if parsed.scheme in ("s3", "s3a", "s3n"):
        from include.core.settings import get_settings

        endpoint = get_settings().store.aws_endpoint_url
        fs = pafs.S3FileSystem(endpoint_override=endpoint) if endpoint else pafs.S3FileSystem()
        return fs, f"{parsed.netloc}{parsed.path}".rstrip("/")
    return pafs.LocalFileSystem(), str(Path(unquote(parsed.path) if parsed.scheme else output_uri))

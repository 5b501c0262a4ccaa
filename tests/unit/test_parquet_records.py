"""The Spark tables job's Parquet output is read through the object store, in a local folder or in S3 (moto,
with the endpoint and credentials of the project's settings): the same records either way."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from include.adapters.extract.parquet_records import (
    DOCUMENTS_DIR,
    RECORDS_DIR,
    SUCCESS_MARKER,
    ParquetRecords,
    canonical_uri,
    document_key,
    record_to_row,
)
from include.adapters.extract.records import ExtractedRecord, ExtractionError
from include.adapters.objectstore import ObjectStore, default_store
from include.core.locations import Location

LEDGER = "s3a://inbox/tables/ledger.csv"
BROKEN = "s3a://inbox/tables/broken.xlsx"
ROWS = [
    ExtractedRecord(
        record_key=f"ledger.csv#row={n}",
        text=f"Name: Ann {n} | Amount: {n}0 EUR",
        meta={"kind": "row", "row": n, "columns": {"Name": [6, 11], "Amount": [21, 27]}},
    )
    for n in range(1, 4)
]


def _parquet(rows: list[dict[str, Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), out)
    return out.getvalue()


def write_job_output(store: ObjectStore, root: Location) -> None:
    """The job's layout as Spark writes it: the records partitioned by document (the partition column in
    the folder name only, several part files), then the manifest and its `_SUCCESS` marker."""
    rows = [record_to_row(LEDGER, position, r) for position, r in enumerate(ROWS)]
    partition = root.child(f"{RECORDS_DIR}/document={document_key(LEDGER)}")
    store.write(partition.child("part-00001.parquet"), _parquet(rows[2:]))
    store.write(partition.child("part-00000.parquet"), _parquet(rows[:2]))
    manifest = [
        {"document_uri": uri, "document": document_key(uri), "doc_type": kind, "records": n, "error": error}
        for uri, kind, n, error in [
            (LEDGER, "csv", len(ROWS), None),
            (BROKEN, "xlsx", 0, "BadZipFile: not a zip file"),
        ]
    ]
    store.write(root.child(f"{DOCUMENTS_DIR}/part-00000.parquet"), _parquet(manifest))
    store.write(root.child(f"{DOCUMENTS_DIR}/{SUCCESS_MARKER}"), b"")


def check_records(output_uri: str, store: ObjectStore) -> None:
    assert ParquetRecords.exists(output_uri, store)
    records = ParquetRecords(output_uri, store)
    assert set(records.documents) == {canonical_uri(LEDGER), canonical_uri(BROKEN)}
    assert records.records_for(LEDGER.replace("s3a://", "s3://"), "csv") == ROWS
    assert records.records_for(LEDGER, "pdf") is None, "not a table: the job did not read it"
    assert records.records_for("s3://inbox/tables/other.csv") is None
    with pytest.raises(ExtractionError, match="not a zip file"):
        records.records_for(BROKEN)
    assert list(records.all_records()) == [(canonical_uri(LEDGER), ROWS)]


def test_a_local_output_reads_back_the_records(tmp_path: Path) -> None:
    store = ObjectStore()
    root = tmp_path / "run"
    assert not ParquetRecords.exists(str(root), store)
    write_job_output(store, Location.parse(root))
    (root / RECORDS_DIR / f"document={document_key(LEDGER)}" / ".part-00000.parquet.crc").write_bytes(b"crc")
    check_records(str(root), store)
    check_records(root.as_uri(), store)


def test_an_s3_output_is_read_with_the_project_s3_settings(moto_s3) -> None:
    moto_s3.create_bucket(Bucket="spark-out")
    store = default_store()  # endpoint and keys from the settings (AWS_ENDPOINT_URL: the moto server)
    assert store.config.endpoint_url == moto_s3.meta.endpoint_url
    output = "s3a://spark-out/tables/run-1"
    assert not ParquetRecords.exists(output, store)
    write_job_output(store, Location.parse("s3://spark-out/tables/run-1"))
    check_records(output, store)
    check_records("s3://spark-out/tables/run-1/", store)
    keys = [o["Key"] for o in moto_s3.list_objects_v2(Bucket="spark-out")["Contents"]]
    assert f"tables/run-1/{DOCUMENTS_DIR}/{SUCCESS_MARKER}" in keys


def test_an_output_without_a_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / DOCUMENTS_DIR).mkdir()
    with pytest.raises(FileNotFoundError, match="no Parquet files"):
        ParquetRecords(str(tmp_path), ObjectStore())

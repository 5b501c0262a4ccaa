"""Bulk tables on Spark: the job gives the pandas path's records, runs under spark-submit, and Airflow
submits it when a Spark connection is configured.

One local SparkSession (local[2], 64 KiB input splits so a small file is still read by several tasks)
serves the in-process tests; the spark-submit tests start their own JVM.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from include.adapters.extract.parquet_records import ParquetRecords, canonical_uri
from include.adapters.extract.records import ExtractedRecord, ExtractionError
from include.adapters.extract.router import extract_document
from include.adapters.objectstore import ObjectStore
from tests.integration.spark_corpus import ROUTES, write_corpus

ROOT = Path(__file__).resolve().parents[2]
JOB_DIR = ROOT / "apps" / "spark-jobs"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    sys.path.insert(0, str(JOB_DIR))
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the executors' Python: this venv, with openpyxl
    from pyspark.sql import SparkSession

    # py4j logs at INFO from __del__ at interpreter exit, after pytest closed the streams.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("nerloop-spark-tables-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.files.maxPartitionBytes", str(64 * 1024))
        .config("spark.sql.files.openCostInBytes", str(16 * 1024))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    folder = tmp_path_factory.mktemp("tables")
    return folder, write_corpus(folder)


@pytest.fixture(scope="module")
def job_output(spark: Any, corpus: tuple[Path, dict[str, bytes]], tmp_path_factory) -> ParquetRecords:
    from nerloop_tables.job import run

    out = tmp_path_factory.mktemp("spark-out") / "run"
    summary = run(spark, [str(corpus[0])], str(out))
    assert summary.documents == len(ROUTES)
    return ParquetRecords(str(out), ObjectStore())


def pandas_records(folder: Path, name: str, data: bytes) -> list[ExtractedRecord] | str:
    """What the prelabel flow's extract step gives: its records, or its error message."""
    uri = (folder / name).resolve().as_uri()
    try:
        return extract_document(data, uri.rsplit("/", 1)[-1], "xlsx" if name.endswith(".xlsx") else "csv")
    except ExtractionError as exc:
        return str(exc)


def spark_records(output: ParquetRecords, folder: Path, name: str) -> list[ExtractedRecord] | str | None:
    try:
        return output.records_for((folder / name).resolve().as_uri())
    except ExtractionError as exc:
        return str(exc)


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_spark_and_pandas_give_identical_records(job_output: ParquetRecords, corpus, name: str) -> None:
    folder, files = corpus
    expected = pandas_records(folder, name, files[name])
    assert spark_records(job_output, folder, name) == expected
    assert job_output.documents[canonical_uri((folder / name).as_uri())]["route"] == ROUTES[name]


def test_quirks_survive_the_spark_route(job_output: ParquetRecords, corpus) -> None:
    """Spot checks that the parity above covers the quirks it claims to (not an empty comparison)."""
    folder, _ = corpus
    quirks = {r.record_key: r for r in job_output.records_for((folder / "quirks.csv").as_uri())}
    first = quirks["row=1"]
    assert first.text.startswith("Name: Doe, John | Name_2: Jane | column_3: x | Amount: 12.50")
    assert first.meta["columns"]["Spaced header"] == [
        first.text.index("lots of space"),
        first.text.index("lots of space") + len("lots of space"),
    ]
    assert "row=3" not in quirks  # a row of delimiters only: counted, no record
    assert quirks["row=4"].text.split(" | ")[2] == "column_3: 😀 e\u0301"
    assert (quirks["row=5"].meta["ragged"], quirks["row=6"].meta["ragged"]) == ("short", "long")
    assert quirks["row=7"].text.startswith("Name: ragged and multi-line")
    big = job_output.records_for((folder / "big.csv").as_uri())
    assert [r.meta["row"] for r in big] == list(range(1, 4001))
    assert big[1999].meta["ragged"] == "short"


def test_big_file_is_read_by_several_tasks(spark: Any, corpus) -> None:
    folder, _ = corpus
    assert spark.read.csv(str(folder / "big.csv")).rdd.getNumPartitions() > 1


def test_spark_records_feed_the_prelabel_extract_step(db, job_output: ParquetRecords, corpus) -> None:
    """extract_records stores the job's records for table documents, and extracts the rest itself."""
    from include.workflows.ingest import ingest_source
    from include.workflows.prelabel import extract_records

    folder, files = corpus
    (folder / "memo.txt").write_text("Invoice INV-1 from Acme Corp, due 2024-03-01.\n")
    try:
        docs = {Path(d.uri).name: d for d in ingest_source(db, str(folder))}
        outcomes = {name: extract_records(db, d.document_id, prepared=job_output) for name, d in docs.items()}
    finally:
        (folder / "memo.txt").unlink()
    assert outcomes["memo.txt"].status == "extracted"
    assert outcomes["broken.xlsx"].status == "failed"
    assert "not a readable XLSX" in outcomes["broken.xlsx"].error
    with db.cursor() as cur:
        cur.execute(
            "SELECT record_key, text, meta FROM records WHERE document_id = %s ORDER BY id",
            (docs["quirks.csv"].document_id,),
        )
        stored = [ExtractedRecord(record_key=k, text=t, meta=m) for k, t, m in cur.fetchall()]
    assert stored == pandas_records(folder, "quirks.csv", files["quirks.csv"])


def test_job_runs_end_to_end_under_spark_submit(corpus, tmp_path: Path) -> None:
    """bin/spark-submit with the CPU properties file, master local[1], as a cluster would run it."""
    folder, files = corpus
    out = tmp_path / "out"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    result = subprocess.run(
        [
            str(VENV_BIN / "spark-submit"),
            "--master",
            "local[1]",
            "--properties-file",
            str(JOB_DIR / "conf" / "cpu.conf"),
            str(JOB_DIR / "tables_to_parquet.py"),
            "--input",
            str(folder / "quirks.csv"),
            "--input",
            str(folder / "ledger.xlsx"),
            "--output",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "tables_to_parquet: 2 documents" in result.stdout
    output = ParquetRecords(str(out), ObjectStore())
    for name in ("quirks.csv", "ledger.xlsx"):
        assert spark_records(output, folder, name) == pandas_records(folder, name, files[name])


@pytest.fixture
def spark_connection(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A Spark connection (master local[1]) from an AIRFLOW_CONN_* variable, selected by the setting."""
    from include.core.settings import get_settings

    sys.path.insert(0, str(ROOT / "plugins"))
    monkeypatch.setenv("AIRFLOW_CONN_NERLOOP_SPARK", '{"conn_type": "spark", "host": "local[1]"}')
    monkeypatch.setenv("NERLOOP_SPARK_CONN_ID", "nerloop_spark")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("NERLOOP_SPARK_CONN_ID")
    get_settings.cache_clear()


def test_prelabel_dag_picks_spark_only_with_a_spark_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.models import DagBag

    from include.core.settings import get_settings

    sys.path.insert(0, str(ROOT / "plugins"))
    dag = DagBag(dag_folder=str(ROOT / "dags" / "prelabel_batch.py")).dags["prelabel_batch"]
    branch = dag.get_task("engine").python_callable
    monkeypatch.delenv("NERLOOP_SPARK_CONN_ID", raising=False)
    get_settings.cache_clear()
    assert branch() == ["extract"]
    monkeypatch.setenv("NERLOOP_SPARK_CONN_ID", "nerloop_spark")
    get_settings.cache_clear()
    assert branch() == ["spark_tables", "extract"]
    get_settings.cache_clear()
    assert dag.get_task("extract").trigger_rule == "none_failed"
    assert dag.get_task("spark_tables").downstream_task_ids == {"extract"}


def test_spark_submit_operator_runs_the_job_and_extract_reads_it(
    spark_connection: None, corpus, tmp_path: Path
) -> None:
    """The real SparkSubmitOperator (spark-submit against master local[1]) writes the run's output,
    and the extract operator of the same run finds it."""
    from nerloop_airflow.operators import DoclingExtractOperator
    from nerloop_airflow.spark import SparkTablesOperator

    _, files = corpus
    source = tmp_path / "inbox"
    source.mkdir()
    (source / "people.tsv").write_bytes(files["people.tsv"])
    run_id = "manual__2026-01-01T00:00:00+00:00"
    operator = SparkTablesOperator(
        task_id="spark_tables", source=str(source), output_root=str(tmp_path / "out")
    )
    assert operator._conn_id == "nerloop_spark"
    result = operator.execute({"run_id": run_id})
    assert (result["documents"], result["failed"]) == (1, [])
    extract = DoclingExtractOperator(
        task_id="extract", document_id=1, spark_output_root=str(tmp_path / "out")
    )
    prepared = extract._spark_records(run_id)
    assert prepared is not None
    assert spark_records(prepared, source, "people.tsv") == pandas_records(
        source, "people.tsv", files["people.tsv"]
    )
    assert extract._spark_records("another_run") is None

"""Bulk tables: the Spark job (local mode) vs the pandas path on one generated CSV, side by side.

    PYTHONPATH=. .venv/bin/python bench/spark_vs_pandas.py --rows 1000000 --master 'local[2]'

Each side runs in its own process tree; the peak memory is the largest sum of RSS over that tree
(the JVM included), sampled every 50 ms with psutil. Both sides must give the same records: a
digest of every (record key, text) in document order is compared.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
JOB_DIR = ROOT / "apps" / "spark-jobs"

PANDAS_SIDE = """
import hashlib, sys, time
from include.adapters.extract.router import extract_document
path = sys.argv[1]
started = time.perf_counter()
records = extract_document(open(path, "rb").read(), path.rsplit("/", 1)[-1], "csv")
seconds = time.perf_counter() - started
digest = hashlib.sha256()
for r in records:
    digest.update(f"{r.record_key}\\t{r.text}\\n".encode())
print(len(records), seconds, digest.hexdigest())
"""


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    """Invoice-like rows: quoted commas, empty cells, runs of whitespace, non-ASCII text."""
    rng = random.Random(seed)
    cities = ["London", "Zürich", "São Paulo", "Kraków", "東京", "New York, NY", "Montréal"]
    companies = ["Acme, Inc.", "Initech", "Globex  Corp", "Umbrella\tLtd", "Soylent", "Hooli"]
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("Invoice,Date,Customer,Company,City,Amount,Currency,Note\n")
        for i in range(1, rows + 1):
            company = rng.choice(companies)
            city = rng.choice(cities)
            note = "" if i % 3 else f"paid late, {i % 17} days"
            f.write(
                f'INV-{i:07d},2024-{1 + i % 12:02d}-{1 + i % 28:02d},Person {i},"{company}","{city}",'
                f'{rng.randint(1, 99999) / 100},{rng.choice(["USD", "EUR", "CHF"])},"{note}"\n'
            )


def run_sampled(argv: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run argv; returns (process, wall seconds, peak RSS of its process tree in MiB)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=err, text=True)
        parent = psutil.Process(process.pid)
        peak = 0
        while process.poll() is None:
            try:
                tree = [parent, *parent.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.NoSuchProcess:
                pass
            time.sleep(0.05)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(argv, process.returncode, out.read(), err.read())
    return done, wall, peak / 2**20


def spark_digest(output: Path) -> tuple[int, str]:
    """Count and digest of the job's records, in the same order as the pandas side."""
    import pyarrow.parquet as pq

    table = pq.read_table(output / "records", columns=["position", "record_key", "text"]).sort_by("position")
    digest = hashlib.sha256()
    for key, text in zip(table["record_key"].to_pylist(), table["text"].to_pylist(), strict=True):
        digest.update(f"{key}\t{text}\n".encode())
    return table.num_rows, digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--split-mb", type=int, default=32, help="spark.sql.files.maxPartitionBytes in MiB")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYSPARK_PYTHON": sys.executable}
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        csv_path = Path(tmp) / "invoices_1m.csv"
        write_csv(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 2**20
        print(f"{args.rows:,} rows, {size_mb:.0f} MiB CSV; {os.cpu_count()} cores; load {os.getloadavg()}")

        pandas, pandas_wall, pandas_peak = run_sampled(
            [sys.executable, "-c", PANDAS_SIDE, str(csv_path)], env
        )
        assert pandas.returncode == 0, pandas.stderr[-3000:]
        n_pandas, pandas_seconds, pandas_digest = pandas.stdout.split()

        output = Path(tmp) / "out"
        spark_argv = [
            str(Path(sys.executable).parent / "spark-submit"),
            "--master",
            args.master,
            "--driver-memory",
            args.driver_memory,
            "--properties-file",
            str(JOB_DIR / "conf" / "cpu.conf"),
            "--conf",
            f"spark.sql.files.maxPartitionBytes={args.split_mb * 2**20}",
            str(JOB_DIR / "tables_to_parquet.py"),
            "--input",
            str(csv_path),
            "--output",
            str(output),
        ]
        spark, spark_wall, spark_peak = run_sampled(spark_argv, env)
        assert spark.returncode == 0, spark.stdout[-2000:] + spark.stderr[-3000:]
        job_line = next(line for line in spark.stdout.splitlines() if line.startswith("tables_to_parquet:"))
        n_spark, digest = spark_digest(output)

    same = (n_spark, digest) == (int(n_pandas), pandas_digest)
    rows = int(n_pandas)
    print(f"identical records: {same} ({rows:,} pandas, {n_spark:,} spark)")
    print(f"{'side':<28}{'wall s':>9}{'rows/s':>11}{'peak MiB':>10}")
    print(f"{'pandas (process)':<28}{pandas_wall:>9.1f}{rows / pandas_wall:>11,.0f}{pandas_peak:>10,.0f}")
    print(f"{'pandas (extract only)':<28}{float(pandas_seconds):>9.1f}{rows / float(pandas_seconds):>11,.0f}")
    print(
        f"{'spark ' + args.master + ' (submit)':<28}{spark_wall:>9.1f}"
        f"{rows / spark_wall:>11,.0f}{spark_peak:>10,.0f}"
    )
    print(f"spark job: {job_line}")
    print(
        f"ratio spark/pandas: rows/s {pandas_wall / spark_wall:.2f}x, "
        f"peak memory {spark_peak / pandas_peak:.2f}x"
    )


if __name__ == "__main__":
    main()

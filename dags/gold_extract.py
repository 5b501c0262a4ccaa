"""
### Gold extraction

The latest human version of each record (not deleted, skipped or flagged), split by document into
train/dev/test, as the next training run would select it: counts, exclusions and the manifest's sha256 in
the task log and XCom. Nothing is written; each nightly run selects and stores its own gold (the
training_runs row and its training_manifest rows), so every model names its exact training data. Runs
before the nightly training and on demand.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from nerloop_airflow.training import gold_summary


@dag(
    dag_id="gold_extract",
    schedule="30 1 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["training", "gold"],
    doc_md=__doc__,
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=1)},
)
def gold_extract() -> None:
    @task
    def extract_gold() -> dict:
        return gold_summary()

    extract_gold()


gold_extract()

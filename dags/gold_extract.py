"""
### Gold extraction

The latest human version of each record (not deleted, skipped or flagged), split by document into
train/dev/test, written as a manifest of record_version ids under `.state/gold/` so every model can name
its exact training data. Runs before the nightly training and on demand.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from nerloop_airflow.training import gold_manifest


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
        return gold_manifest()

    extract_gold()


gold_extract()

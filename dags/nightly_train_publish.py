"""
### Nightly training and publishing

start the run: gold selected once and stored as the run's manifest (a training_runs row; its id goes on
by XCom) → continue training the model in service (its bundle's weights) on that gold plus a rehearsal
sample of what it learned from + evaluate against the model in service (SME held-out gold, and per label
on the bootstrap's held-out set) + promotion gate + ONNX export and bundle (one task: they share the
trained weights on the worker's disk) → publish to the Triton model repository → reload and verify
(rollback on failure). Too little gold: the run is recorded as skipped and training is skipped with a log
line, not a failure. Trigger it from the UI for an immediate run; steps scale with the gold (epochs over
gold + rehearsal), capped by `max_steps`.
"""

from __future__ import annotations

import logging
from typing import cast

import pendulum
from airflow.sdk import Param, dag, get_current_context, task
from nerloop_airflow.training import publish_and_reload, start_training_run, train_and_gate

log = logging.getLogger("airflow.task")


@dag(
    dag_id="nightly_train_publish",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["training", "triton", "ner"],
    doc_md=__doc__,
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=2)},
    params={
        "min_train": Param(20, type="integer", minimum=1, description="gold texts needed in train"),
        "epochs": Param(3, type="integer", minimum=1),
        "learning_rate": Param(1e-4, type="number", exclusiveMinimum=0),
        "max_steps": Param(2000, type=["null", "integer"], description="cap on optimizer steps"),
        "rehearsal_ratio": Param(0.5, type="number", minimum=0, description="rehearsal texts per gold text"),
        "rehearsal_weight": Param(
            0.5, type="number", minimum=0, description="loss weight of a rehearsal text (SME gold: 1)"
        ),
        "num_layers": Param(None, type=["null", "integer"], description="encoder layers kept (tests)"),
        "tolerance": Param(0.01, type="number", description="allowed F1 drop vs the model in service"),
    },
)
def nightly_train_publish() -> None:
    @task
    def start_run() -> dict:
        return start_training_run(get_current_context()["params"])

    @task.short_circuit
    def gold_ready(run: dict) -> bool:
        return run["status"] == "running"

    @task
    def train_evaluate_export(run: dict) -> dict:
        return train_and_gate(run["run_id"], get_current_context()["params"])

    @task.short_circuit
    def promoted(outcome: dict) -> bool:
        log.info("gate: %s", outcome["reason"])
        return bool(outcome["promoted"])

    @task
    def publish_reload_verify(outcome: dict) -> dict:
        return publish_and_reload(outcome)

    # TaskFlow calls return XComArgs; each task receives the pulled dict at run time.
    run = start_run()
    outcome = train_evaluate_export(cast(dict, run))
    gold_ready(cast(dict, run)) >> outcome
    promoted(cast(dict, outcome)) >> publish_reload_verify(cast(dict, outcome))


nightly_train_publish()

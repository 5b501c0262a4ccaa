"""The demo unpauses its scheduled DAGs through the real Airflow CLI, so their schedules run."""

from __future__ import annotations

import json
from pathlib import Path

from devstack.services.airflow import AirflowServer

SCHEDULED = ["gold_extract", "nightly_train_publish", "reconcile_label_studio"]


def test_unpause_leaves_the_scheduled_dags_unpaused(airflow_env: dict[str, str], tmp_path: Path) -> None:
    airflow = AirflowServer(run_dir=tmp_path, env=airflow_env)
    assert airflow.unpause(SCHEDULED) == dict.fromkeys(SCHEDULED, "unpaused")
    listed = airflow.cli("dags", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr[-2000:]
    rows = json.loads(listed.stdout[listed.stdout.index("[{") :])
    paused = {d["dag_id"]: str(d["is_paused"]) == "True" for d in rows}  # the CLI prints booleans as text
    assert {dag_id: paused[dag_id] for dag_id in SCHEDULED} == dict.fromkeys(SCHEDULED, False)
    assert paused["prelabel_batch"], "the DAG a person triggers stays as created"

"""The distributed profile: Airflow loads CeleryExecutor with the compose broker and result backend.

A whole Celery cluster (Redis, workers, api-server) needs Docker; this checks, with the real Airflow and the
celery provider pinned in requirements.txt, the part that is configuration: what the compose file sets is
what a worker would use.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json
from airflow.executors.executor_loader import ExecutorLoader
from airflow.providers.celery.executors.celery_executor_utils import app
executor = ExecutorLoader.get_default_executor()
print(json.dumps({"executor": type(executor).__name__, "broker": app.conf.broker_url,
                  "backend": str(app.conf.result_backend), "concurrency": app.conf.worker_concurrency}))
"""


def test_celery_profile_configures_a_celery_executor_airflow_can_load(airflow_env: dict[str, str]):
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    settings = compose["x-airflow"]["environment"]
    env = {
        **airflow_env,
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": settings["AIRFLOW__CELERY__BROKER_URL"],
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+postgresql://nerloop:x@postgres:5432/airflow",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "4",
    }
    res = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert res.returncode == 0, res.stderr[-3000:]
    seen = json.loads(res.stdout.strip().splitlines()[-1])
    assert seen == {
        "executor": "CeleryExecutor",
        "broker": "redis://redis:6379/0",
        "backend": "db+postgresql://nerloop:x@postgres:5432/airflow",
        "concurrency": 4,
    }
    workers = compose["services"]["airflow-worker"]
    assert workers["command"] == ["airflow", "celery", "worker"]
    assert workers["deploy"]["replicas"] >= 2

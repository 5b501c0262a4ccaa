"""`airflow dags test nightly_train_publish` on a real database and a real tritonserver.

The training budget is tiny (one encoder layer, a few steps), so the model is poor but real: the test is
about the loop — run started with its gold manifest → train on it → gate → ONNX bundle → publish → Triton
load + verify → model_versions, all one training_runs row.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from include.core.bundle.read import read_bundle
from tests.conftest import run_dag_test
from tests.helpers.triton import running_triton
from tests.integration.test_training_nightly import seed_gold

pytestmark = pytest.mark.e2e

TINY = {"min_train": 8, "epochs": 1, "max_steps": 6, "num_layers": 1, "tolerance": 0.01}


def test_no_gold_skips_training_without_failing(airflow_env, db, tmp_path: Path) -> None:
    env = {**airflow_env, "STATE_DIR": str(tmp_path / "state")}
    res = run_dag_test(env, "nightly_train_publish", TINY)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    assert "no training tonight" in out
    assert not (tmp_path / "state" / "bundles" / "current").exists()
    with db.cursor() as cur:
        cur.execute("SELECT status, detail->>'reason' FROM training_runs")
        ((status, reason),) = cur.fetchall()
    db.commit()
    assert status == "skipped" and "< min_train 8" in reason


def test_gold_is_trained_published_and_served_by_triton(airflow_env, db, tmp_path: Path) -> None:
    seed_gold(db, 40)
    db.commit()
    repository = tmp_path / "model_repository"
    repository.mkdir()
    with running_triton(tmp_path / "triton", repository) as triton:
        env = {
            **airflow_env,
            "STATE_DIR": str(tmp_path / "state"),
            "MODEL_REPOSITORY": str(repository),
            "TRITON_FLAVOUR": "python",
            "NER_BACKEND": "triton",
            "TRITON_URL": triton.url.removeprefix("http://"),
        }
        res = run_dag_test(env, "nightly_train_publish", TINY, timeout=900)
        out = res.stdout + res.stderr
        assert res.returncode == 0, out[-6000:]
        assert "released ner-" in out, out[-4000:]
    with db.cursor() as cur:
        cur.execute("SELECT version, status, triton_version, exporter_mode FROM model_versions")
        ((version, status, triton_version, exporter_mode),) = cur.fetchall()
        cur.execute("SELECT id, status, model_version, manifest_sha256 FROM training_runs")
        ((run_id, run_status, run_version, manifest_sha256),) = cur.fetchall()
        cur.execute("SELECT DISTINCT training_run_id FROM training_manifest")
        manifest_runs = cur.fetchall()
    db.commit()
    assert status == "serving" and triton_version == 1 and exporter_mode in ("modern", "legacy_fallback")
    assert (run_status, run_version) == ("succeeded", version) and manifest_runs == [(run_id,)]
    served = json.loads((repository / "ner" / "1" / "VERSION.json").read_text())
    assert served["model_version"] == version
    assert (served["manifest"]["training_run_id"], served["manifest"]["sha256"]) == (run_id, manifest_sha256)
    current = tmp_path / "state" / "bundles" / "current"
    assert read_bundle(current).model_version == version
    assert current.resolve().name.startswith("run-")

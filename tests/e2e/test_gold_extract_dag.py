"""`airflow dags test gold_extract` on a real database: it reports the gold the next training run would
select (counts, exclusions, manifest sha256) and writes no file; each run stores its own gold."""

from __future__ import annotations

from pathlib import Path

import pytest

from include.workflows.training.gold import select_gold
from tests.conftest import run_dag_test
from tests.integration.test_training_nightly import seed_gold

pytestmark = pytest.mark.e2e


def test_gold_extract_reports_the_gold_and_writes_nothing(airflow_env, db, tmp_path: Path) -> None:
    seed_gold(db, 12)
    db.commit()
    gold = select_gold(db)
    db.commit()
    state = tmp_path / "state"
    res = run_dag_test({**airflow_env, "STATE_DIR": str(state)}, "gold_extract")
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    assert f"manifest sha256 {gold.manifest_sha256}" in out, out[-4000:]
    assert not state.exists() or not any(state.rglob("manifest-*.json"))

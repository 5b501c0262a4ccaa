"""`airflow dags test prelabel_batch` on a folder of samples, against real Postgres and Label Studio."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.samples import write_samples
from include.adapters.label_studio import client as ls_client
from tests.conftest import run_dag_test
from tests.helpers.bundle import tiny_bundle

pytestmark = pytest.mark.e2e


def test_prelabel_dag_on_samples(airflow_env, label_studio, db, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    write_samples(inbox)
    (inbox / "truncated.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    env = {
        **airflow_env,
        "LABEL_STUDIO_URL": label_studio.url,
        "LABEL_STUDIO_TOKEN": label_studio.token,
        "NER_BUNDLE_DIR": str(tiny_bundle()),
        "NER_BACKEND": "onnxruntime",
    }
    conf = {"source": inbox.as_uri(), "project": "dag-test", "chunk_size": 7}
    res = run_dag_test(env, "prelabel_batch", conf)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-5000:]
    assert "state=success" in out, out[-3000:]
    assert "truncated.xlsx" in out  # the summary names the failed file

    ls = ls_client.connect(label_studio.url, label_studio.token)
    project_id = ls_client.ensure_project(ls, "dag-test")
    tasks = list(ls.tasks.list(project=project_id, fields="all"))
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM records WHERE ls_project_id = %s", (project_id,))
        linked = cur.fetchone()[0]
        cur.execute("SELECT status, error FROM documents WHERE uri LIKE %s", ("%truncated.xlsx",))
        status, error = cur.fetchone()
    db.commit()
    assert len(tasks) == linked > 0
    assert status == "failed" and "truncated.xlsx" in error
    assert {t.predictions[0].model_version for t in tasks} == {"tiny-0"}

    # A second run finds nothing new to import.
    again = run_dag_test(env, "prelabel_batch", conf)
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    assert len(list(ls.tasks.list(project=project_id, fields="all"))) == len(tasks)

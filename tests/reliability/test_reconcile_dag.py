"""`airflow dags test reconcile_label_studio` on real Postgres and Label Studio recovers what was missed."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from include.adapters.db import repository as repo
from include.adapters.db.connection import transaction
from include.adapters.label_studio import client as ls_client
from include.workflows.reconcile import ReconcileConfig, reconcile_project
from tests.conftest import run_dag_test
from tests.integration.ls_payloads import label_span

pytestmark = pytest.mark.e2e

TEXTS = ["Alice Smith joined Acme Corp.", "Bob Jones moved to Berlin.", "Carol White paid $40."]


def test_reconcile_dag_recovers_annotations_no_webhook_delivered(airflow_env, label_studio, db) -> None:
    data = uuid.uuid4().bytes
    sha = hashlib.sha256(data).hexdigest()
    with transaction(db):
        doc = repo.add_document(db, sha256=sha, uri="file:///inbox/dag.txt", doc_type="text", size_bytes=16)
        repo.add_records(
            db, doc.id, [repo.NewRecord(record_key=f"para={i}", text=t) for i, t in enumerate(TEXTS)]
        )
    ls = ls_client.connect(label_studio.url, label_studio.token)
    title = f"reconcile-dag-{uuid.uuid4().hex[:6]}"
    project_id = ls_client.ensure_project(ls, title)
    tasks = [
        {"data": {"text": t, "document_sha256": sha, "record_key": f"para={i}"}} for i, t in enumerate(TEXTS)
    ]
    task_ids = ls_client.import_tasks(ls, project_id, tasks)
    names = ["Alice Smith", "Bob Jones", "Carol White"]
    annotations = [
        ls.annotations.create(id=task_id, result=[label_span(text, name, "PERSON")]).id
        for task_id, text, name in zip(task_ids, TEXTS, names, strict=True)
    ]
    env = {**airflow_env, "LABEL_STUDIO_URL": label_studio.url, "LABEL_STUDIO_TOKEN": label_studio.token}

    res = run_dag_test(env, "reconcile_label_studio", {"project": title, "full": False})
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-5000:]
    assert "state=success" in out, out[-3000:]
    assert "3 appended" in out and "3 linked" in out, out[-3000:]
    assert "webhook check failed" in out  # the project has no webhook: the log says so

    with db.cursor() as cur:
        cur.execute(
            "SELECT ls_annotation_id FROM record_versions WHERE ls_project_id = %s AND source = 'annotation'",
            (project_id,),
        )
        stored = sorted(r[0] for r in cur.fetchall())
    db.commit()
    assert stored == sorted(annotations)
    again = reconcile_project(db, ls, project_id, ReconcileConfig.from_settings())
    assert again.nothing_to_do and again.already_present == 3

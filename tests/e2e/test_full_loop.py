"""The whole loop with every real part: Postgres, Label Studio, the shim, tritonserver and Airflow.

prelabel (dags test, Triton backend) → SMEs accept / correct / add / update / delete / skip through the LS
API → real webhooks → versions with lineage → gold → tiny training → export → publish → Triton reload →
prelabel again: the new tasks carry the new model_version. Version 0 is the tiny untrained test bundle.
"""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from include.adapters.db import repository as repo
from include.adapters.db.connection import connect, transaction
from include.adapters.label_studio import client as ls_client
from include.workflows.quality.app import create_app
from include.workflows.release import release_bundle
from include.workflows.training.gold import record_model_version
from tests.conftest import run_dag_test
from tests.helpers.bundle import tiny_bundle
from tests.helpers.triton import running_triton
from tests.integration.ls_payloads import label_span
from tests.integration.test_training_nightly import seed_gold

pytestmark = pytest.mark.e2e

PARAGRAPHS = [
    "Alice Smith joined Acme Corp in Paris on March 1, 2024.",
    "Bob Jones paid $1,200 to Globex Ltd in Berlin.",
    "Call Carol White at (415) 555-0132 about the Initech contract.",
    "Dan Brown emailed dan@example.com from London on May 2, 2025.",
    "Eve Black visited Umbrella Corp in Tokyo.",
]


def test_full_loop(label_studio, shim_server, airflow_env, db, database_url: str, tmp_path: Path) -> None:
    state, repository, inbox = tmp_path / "state", tmp_path / "model_repository", tmp_path / "inbox"
    repository.mkdir()
    inbox.mkdir()
    (inbox / "memo.txt").write_text("\n\n".join(PARAGRAPHS) + "\n")
    bundles = state / "bundles"
    bundles.mkdir(parents=True)
    with running_triton(tmp_path / "triton", repository) as triton:
        triton_url = triton.url.removeprefix("http://")
        # Version 0 in service.
        v0 = tiny_bundle()
        with transaction(db):
            record_model_version(db, json.loads((v0 / "onnx" / "VERSION.json").read_text()))
        release_bundle(db, v0, model_repository=str(repository), bundles_root=bundles, triton_url=triton_url)
        ls = ls_client.connect(label_studio.url, label_studio.token)
        project = "full-loop"
        project_id = ls_client.ensure_project(ls, project)
        ls_client.ensure_webhook(
            ls, project_id, shim_server.webhook_url, {"X-Webhook-Secret": shim_server.secret}
        )
        env = {
            **airflow_env,
            "STATE_DIR": str(state),
            "MODEL_REPOSITORY": str(repository),
            "TRITON_FLAVOUR": "python",
            "NER_BACKEND": "triton",
            "TRITON_URL": triton_url,
            "NER_BUNDLE_DIR": str(bundles / "current"),
            "LABEL_STUDIO_URL": label_studio.url,
            "LABEL_STUDIO_TOKEN": label_studio.token,
        }
        conf = {"source": inbox.as_uri(), "project": project, "chunk_size": 100}

        # 1. Prelabel through the DAG, served by Triton.
        res = run_dag_test(env, "prelabel_batch", conf)
        assert res.returncode == 0, (res.stdout + res.stderr)[-5000:]
        tasks = sorted(ls.tasks.list(project=project_id, fields="all"), key=lambda t: t.data["record_key"])
        assert [t.data["record_key"] for t in tasks] == [f"para={i}" for i in range(1, 6)]
        for task in tasks:
            (pred,) = task.predictions
            assert pred.model_version == "tiny-0"
            for item in pred.result:
                v = item["value"]
                assert task.data["text"][v["start"] : v["end"]] == v["text"]

        # 2. SMEs at work, through the LS API; every call fires its webhook to the shim.
        t = [task.data["text"] for task in tasks]
        accepted = ls.annotations.create(
            id=tasks[0].id,
            result=tasks[0].predictions[0].result,
            parent_prediction=tasks[0].predictions[0].id,
        )
        corrected = ls.annotations.create(id=tasks[1].id, result=[label_span(t[1], "Bob", "PERSON")])
        ls.annotations.update(
            id=corrected.id,
            result=[label_span(t[1], "Bob Jones", "PERSON"), label_span(t[1], "Globex Ltd", "ORG")],
        )
        added = ls.annotations.create(
            id=tasks[2].id,
            result=[label_span(t[2], "Carol White", "PERSON"), label_span(t[2], "(415) 555-0132", "PHONE")],
        )
        doomed = ls.annotations.create(id=tasks[3].id, result=[label_span(t[3], "Dan Brown", "PERSON")])
        ls.annotations.delete(id=doomed.id)
        ls.annotations.create(id=tasks[4].id, result=[], was_cancelled=True)

        # 3. Postgres holds the versions with full lineage.
        gold = {c.record_key: c for c in repo.latest_human_versions(db) if c.is_gold}
        assert set(gold) == {"para=1", "para=2", "para=3"}
        assert [s["text"] for s in gold["para=2"].spans] == ["Bob Jones", "Globex Ltd"]
        lineage = repo.record_version_lineage(db, gold["para=3"].record_version_id)
        assert (lineage.ls_project_id, lineage.ls_task_id, lineage.ls_annotation_id) == (
            project_id,
            tasks[2].id,
            added.id,
        )
        assert lineage.model_version == "tiny-0" and lineage.document_uri.endswith("memo.txt")
        accepted_lineage = repo.record_version_lineage(db, gold["para=1"].record_version_id)
        assert accepted_lineage.ls_annotation_id == accepted.id
        with db.cursor() as cur:
            cur.execute("SELECT count(*) FROM record_versions WHERE source = 'tombstone'")
            assert cur.fetchone()[0] == 1
        db.commit()

        # 4. Nightly: gold (SME corrections + seeded synthetic gold) → train → publish → Triton reload.
        seed_gold(db, 60)
        db.commit()
        # Version 0 gets this gold wrong (an untrained head); the candidate continues from its weights and
        # must beat it on the same held-out gold, through the default tolerance, to be promoted. Which path
        # 72 steps take through the gold depends on its order (training seed, record ids): on 30 seeded texts
        # four seeds gave 0.148-0.296 against tiny-0's 0.100 on 4 held-out texts, and one whole-suite CI run
        # 0.129, under the 0.05 margin asked then; on 60 texts the same four seeds give 0.327-0.435 against
        # 0.130 (a margin of at least 0.197), so the 0.1 asked below holds on any path, while a candidate that
        # learnt nothing still fails it. The test's time is unchanged: training has a step budget.
        params = {"min_train": 8, "epochs": 50, "max_steps": 72, "learning_rate": 1e-3, "num_layers": 1}
        res = run_dag_test(env, "nightly_train_publish", params, timeout=900)
        out = res.stdout + res.stderr
        assert res.returncode == 0 and "released ner-" in out, out[-5000:]
        with db.cursor() as cur:
            cur.execute("SELECT version, triton_version FROM model_versions WHERE status = 'serving'")
            ((new_version, triton_version),) = cur.fetchall()
            cur.execute("SELECT m.record_version_id FROM training_manifest m")
            in_manifest = {r[0] for r in cur.fetchall()}
        db.commit()
        assert new_version.startswith("ner-") and triton_version == 2
        assert gold["para=2"].record_version_id in in_manifest
        runs = repo.record_version_lineage(db, gold["para=2"].record_version_id).training_runs
        assert runs and runs[0]["model_version"] == new_version

        # 4b. The quality pages show it: drift of tiny-0 per label, the run's two points (the candidate and
        # the model in service, scored on the same held-out gold), the timeline, a lineage lookup by task.
        pages = TestClient(create_app(lambda: closing(connect(database_url)), require_user=False))
        drift = pages.get("/api/drift").json()
        tiny = {row["label"]: row for row in drift if row["model_version"] == "tiny-0"}
        assert tiny["PERSON"]["tasks"] >= 2 and tiny["PERSON"]["annotated"] >= 3, drift
        (run,) = pages.get("/api/learning-curve").json()["runs"]
        assert run["model_version"] == new_version and run["promoted"] is True
        assert run["candidate_f1"] > run["in_service_f1"] + 0.1, run
        assert "0.0100" in run["gate"], "promoted through the default tolerance"
        assert set(run["scores"]) == {"sme_heldout", "bootstrap_heldout"}
        timeline = {row["model_version"]: row["status"] for row in pages.get("/api/timeline").json()}
        assert timeline[new_version] == "serving" and timeline["tiny-0"] == "retired"
        html = pages.get("/").text
        assert "tiny-0" in html and html.count("<svg") == 2 and "as the gate compared them" in html
        looked_up = pages.get("/lineage", params={"ls_task_id": str(tasks[2].id)})
        assert (
            looked_up.status_code == 200 and "memo.txt" in looked_up.text and "Carol White" in looked_up.text
        )

        # 5. Prelabel again: new documents get the new model version.
        (inbox / "memo2.txt").write_text("Frank Green met Grace Hall at Hooli in Oslo.\n")
        res = run_dag_test(env, "prelabel_batch", conf)
        assert res.returncode == 0, (res.stdout + res.stderr)[-5000:]
        fresh = [
            task
            for task in ls.tasks.list(project=project_id, fields="all")
            if task.data["source_uri"].endswith("memo2.txt")
        ]
        assert len(fresh) == 1 and fresh[0].predictions[0].model_version == new_version

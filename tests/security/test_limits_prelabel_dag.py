"""`airflow dags test prelabel_batch` over bombs and good files, with the real Label Studio (#23).

A merged-cell XLSX (A1:XFD1048576, 1.7e10 cells), a 5000-pt PDF page and a 500-frame GIF, each a few
KB, sit among good files: the good ones land in LS, each bomb is failed with its limit named, the run
succeeds, and the extraction process stays under 1 GB resident for every document.
"""

from __future__ import annotations

import json
import re
import resource
from pathlib import Path

import pytest

from devstack.samples import write_samples
from include.adapters.label_studio import client as ls_client
from tests.conftest import run_dag_test
from tests.helpers.bundle import tiny_bundle
from tests.security import hostile_files as hostile

pytestmark = pytest.mark.e2e

GOOD = {"invoices.csv", "invoices_semicolon.csv", "ledger.xlsx", "memo.txt", "notes_utf16.txt"}
BOMBS = {
    "merged_bomb.xlsx": (
        hostile.merged_bomb_xlsx(),
        "merged_bomb.xlsx: sheet 'Data' spans 1,048,576 rows × 16,384 columns = 17,179,869,184 cells "
        "(reached by A1:XFD1048576), over the limit of 500,000 (EXTRACT_MAX_SHEET_CELLS)",
    ),
    "page_bomb.pdf": (
        hostile.pdf_pages([(5000, 5000)]),
        "page_bomb.pdf: page 1 is 5,000 × 5,000 pt = 25.0 Mpx at 72 dpi, over the limit of 20.0 Mpx "
        "(EXTRACT_MAX_PAGE_PIXELS)",
    ),
    "frames.gif": (
        hostile.frames_gif(500),
        "frames.gif: 500 frames, over the limit of 100 (EXTRACT_MAX_IMAGE_FRAMES)",
    ),
}
ONE_GB_MB = 1000.0


def write_batch(inbox: Path) -> None:
    for path in write_samples(inbox):
        if path.name not in GOOD:  # PDF/PNG/1904 samples: Docling and OCR, tested elsewhere
            path.unlink()
    for name, (data, _) in BOMBS.items():
        (inbox / name).write_bytes(data)


def test_bombs_fail_alone_and_the_batch_lands(airflow_env, label_studio, db, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    write_batch(inbox)
    env = {
        **airflow_env,
        "LABEL_STUDIO_URL": label_studio.url,
        "LABEL_STUDIO_TOKEN": label_studio.token,
        "NER_BUNDLE_DIR": str(tiny_bundle()),
        "NER_BACKEND": "onnxruntime",
    }
    conf = {"source": inbox.as_uri(), "project": "limits-test", "chunk_size": 50}
    before_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    res = run_dag_test(env, "prelabel_batch", conf)
    # The largest process this test session waited for: the `airflow dags test` process (the worker
    # is its child, waited for at its exit), unless an earlier test ran something larger.
    children_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-5000:]
    assert "state=success" in out, out[-3000:]

    summary = json.loads(re.findall(r"prelabel summary: (\{.*\})", out)[-1])
    peaks = {Path(uri).name: mb for uri, mb in summary["extraction_peak_rss_mb"].items()}
    print(
        f"\nLIMITS prelabel_batch: {json.dumps({'peak_rss_mb': peaks, 'children_peak_mb': children_peak_mb})}"
    )
    assert set(peaks) == GOOD | set(BOMBS)
    assert all(mb < ONE_GB_MB for mb in peaks.values()), peaks
    if before_mb < ONE_GB_MB:
        assert children_peak_mb < ONE_GB_MB
    assert {Path(f["uri"]).name: f["error"] for f in summary["failed"]} == {
        name: reason for name, (_, reason) in BOMBS.items()
    }

    with db.cursor() as cur:
        cur.execute("SELECT uri, status, error FROM documents")
        documents = {Path(uri).name: (status, error) for uri, status, error in cur.fetchall()}
    db.commit()
    assert {name: documents[name] for name in BOMBS} == {
        name: ("failed", reason) for name, (_, reason) in BOMBS.items()
    }
    assert {name: documents[name][0] for name in GOOD} == dict.fromkeys(GOOD, "prelabeled")

    ls = ls_client.connect(label_studio.url, label_studio.token)
    project_id = ls_client.ensure_project(ls, "limits-test")
    tasks = list(ls.tasks.list(project=project_id, fields="all"))
    landed = {Path(t.data["source_uri"]).name for t in tasks}
    assert landed == GOOD
    assert summary["imported"] == len(tasks) == summary["records"] > 0

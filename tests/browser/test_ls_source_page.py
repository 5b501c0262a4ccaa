"""The source page beside the text, in the real Label Studio seen through Debian's Chromium.

The local inbox is LS's local-files storage (as `make demo` connects it); `prelabel_batch` (real Airflow,
`dags test`) prelabels a PDF and a PNG, rendering each record's page once beside the document; LS's own
storage sync then makes a task per file, and `label_studio_intake` takes them in without a second set of
tasks. Screenshots of a PDF-row and an image-row task go to test-artifacts/.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import requests

from devstack.samples import sample_documents
from include.adapters.label_studio import client as ls_client
from include.adapters.label_studio.storage import ensure_source_storage, sync_source_storage
from tests.browser.test_quality_pages import ARTIFACTS, CHROMIUM, _playwright
from tests.conftest import run_dag_test
from tests.helpers.bundle import tiny_bundle

PROJECT = "source-page-test"


def _tasks(ls, project_id: int) -> dict[int, dict]:
    listed = ls.tasks.list(project=project_id, fields="task_only", resolve_uri=False)
    return {int(t.id): dict(t.data or {}) for t in listed}


def _show(page, url: str, project_id: int, task_id: int, path: Path) -> int:
    """Open a task in LS's labeling view; the natural width of its page image once loaded."""
    page.goto(f"{url}/projects/{project_id}/data?task={task_id}")
    # LS fetches the image (with the session's cookie) and shows it from a blob: URL.
    image = page.locator("img[src^='blob:']").first
    image.wait_for(state="visible", timeout=60_000)
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=30_000
    )
    page.wait_for_timeout(500)
    page.screenshot(path=str(path))
    return int(image.evaluate("img => img.naturalWidth"))


def test_pdf_and_png_rows_show_their_page_beside_the_text(airflow_env, label_studio, db) -> None:
    inbox = label_studio.document_root / f"inbox-{uuid.uuid4().hex[:8]}"
    inbox.mkdir()
    for document in sample_documents():
        if document.name in ("report.pdf", "scan.png"):
            (inbox / document.name).write_bytes(document.data)
    env = {
        **airflow_env,
        "LABEL_STUDIO_URL": label_studio.url,
        "LABEL_STUDIO_TOKEN": label_studio.token,
        "LABEL_STUDIO_FILES_ROOT": str(label_studio.document_root),
        "INBOX_URI": inbox.as_uri(),
        "NER_BUNDLE_DIR": str(tiny_bundle()),
        "NER_BACKEND": "onnxruntime",
    }
    ls = ls_client.connect(label_studio.url, label_studio.token)
    project_id = ls_client.ensure_project(ls, PROJECT)
    storage = ensure_source_storage(ls, project_id, inbox.as_uri(), files_root=label_studio.document_root)

    res = run_dag_test(
        env, "prelabel_batch", {"source": inbox.as_uri(), "project": PROJECT, "chunk_size": 50}
    )
    assert res.returncode == 0 and "state=success" in res.stdout + res.stderr, (res.stdout + res.stderr)[
        -4000:
    ]
    tasks = _tasks(ls, project_id)
    pages = {data["source_uri"].rsplit("/", 1)[-1]: data for data in tasks.values() if data["page_images"]}
    assert set(pages) == {"report.pdf", "scan.png"}, "a PDF row and an image row each show their page"
    for name, data in pages.items():
        link = data["page_images"][0]
        assert link.startswith(f"/data/local-files/?d={inbox.name}/.nerloop/pages/{data['document_sha256']}/")
        served = requests.get(
            label_studio.url + link, headers={"Authorization": f"Token {label_studio.token}"}, timeout=30
        )
        assert served.status_code == 200 and served.content[:4] == b"\x89PNG", name
        assert data["source"] == f"/data/local-files/?d={inbox.name}/{name}"
    assert not list((inbox / ".nerloop").rglob("*.partial"))

    # LS's own sync makes a task per file; the intake DAG finds both files already here: no new tasks.
    sync_source_storage(ls, storage)
    synced = _tasks(ls, project_id)
    assert len(synced) == len(tasks) + 2, "one task per file, the .nerloop pages not among them"
    res = run_dag_test(env, "label_studio_intake", {"project": PROJECT, "scan": True})
    out = res.stdout + res.stderr
    assert res.returncode == 0 and "state=success" in out, out[-4000:]
    after = _tasks(ls, project_id)
    assert len(after) == len(synced)
    marked = [d for t, d in after.items() if t not in tasks]
    assert sorted(d["nerloop_state"] for d in marked) == ["duplicate", "duplicate"]

    _playwright()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    pdf_task = next(t for t, d in tasks.items() if d["page_images"] and d["doc_type"] == "pdf")
    png_task = next(t for t, d in tasks.items() if d["page_images"] and d["doc_type"] == "image")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 950})
        page.goto(f"{label_studio.url}/user/login/")
        page.fill("input[name=email]", label_studio.username)
        page.fill("input[name=password]", label_studio.password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle", timeout=60_000)
        pdf_width = _show(page, label_studio.url, project_id, pdf_task, ARTIFACTS / "ls-pdf-row-page.png")
        png_width = _show(page, label_studio.url, project_id, png_task, ARTIFACTS / "ls-png-row-page.png")
        text = page.inner_text("body")
        browser.close()
    assert pdf_width > 500 and png_width > 100
    assert tasks[png_task]["text"].split()[0] in text, "the record's text beside the image"

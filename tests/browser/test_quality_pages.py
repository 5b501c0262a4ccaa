"""The quality pages in Airflow's api-server, in a real browser (Debian's chromium driven by playwright).

Seeds known predictions, SME edits and two nightly runs; checks every page shows those numbers, the charts
are there, the browser logs no error, and the pages refuse a caller without an Airflow login. Screenshots go
to test-artifacts/ (two of them are in docs/operator-guide.md).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from include.core.settings import PROJECT_ROOT
from tests.helpers.airflow_api import running_api_server
from tests.helpers.quality_seed import seed_quality

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "quality-pages-test"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"


def _playwright() -> None:
    """Install the pinned playwright package if missing (its browser is Debian's, never downloaded)."""
    if importlib.util.find_spec("playwright") is None:
        pin = next(
            line.strip()
            for line in (PROJECT_ROOT / "requirements-dev.txt").read_text().splitlines()
            if line.startswith("playwright==")
        )
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", pin], check=True, timeout=600)


@pytest.fixture(scope="module")
def api_server(airflow_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("api-server") / "api-server.log"
    passwords = log.parent / "passwords.json"
    passwords.write_text(json.dumps({"sme": PASSWORD}))
    env = {
        **airflow_env,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
        # A deployment with logins.
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "sme:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
    }
    with running_api_server(env, log, timeout_s=180) as url:
        yield url


def test_quality_pages_show_the_seeded_numbers_in_a_browser(db, api_server: str) -> None:
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium (the CI script does)"
    _playwright()
    from playwright.sync_api import sync_playwright

    seeded = seed_quality(db, "browser")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{api_server}/nerloop/", timeout=10)
    assert refused.value.code == 401, "the pages need an Airflow login"
    login = urllib.request.Request(
        f"{api_server}/auth/token",
        data=json.dumps({"username": "sme", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(login, timeout=10) as resp:
        token = json.loads(resp.read())["access_token"]

    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "_token", "value": token, "url": api_server}])
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{api_server}/nerloop/")
        page.wait_for_selector("table.drift")
        assert "NER loop: quality" in page.title()
        drift = page.inner_text("table.drift")
        assert "bootstrap-0" in drift and "0.667" in drift and "0.500" in drift
        assert page.locator("svg.chart").count() == 2, "the drift chart and the learning curve"
        assert page.locator("svg.chart rect.bar").count() >= 3
        assert page.locator("svg.chart circle.point").count() == 3, "two candidate points, one in service"
        assert "ner-browser-2" in page.inner_text("table.timeline")
        assert "0.2000" in page.inner_text("table.curve"), "F1 per 100 more gold between the two runs"
        queue = page.inner_text("table.queue")
        assert "row=3" in queue and "0.410" in queue
        page.screenshot(path=str(ARTIFACTS / "quality-overview.png"), full_page=True)

        page.fill("input[name=record_version_id]", str(seeded.gold_version_id))
        page.click("button[type=submit]")
        page.wait_for_selector("table.lineage")
        lineage = page.inner_text("table.lineage")
        assert "file:///inbox/browser.csv" in lineage and '"row": 1' in lineage
        assert page.locator("table.versions tbody tr").count() == 2, "the prediction and the annotation"
        page.screenshot(path=str(ARTIFACTS / "quality-lineage.png"), full_page=True)

        page.goto(f"{api_server}/nerloop/lineage?ls_task_id={seeded.task_ids[1]}")
        assert "row=2" in page.inner_text("table.lineage")
        assert errors == [], f"browser console errors: {errors}"
        response = page.goto(f"{api_server}/nerloop/lineage?record_version_id=99999999")
        assert response is not None and response.status == 404
        assert "Nothing found for record version 99999999" in page.inner_text("body")
        browser.close()

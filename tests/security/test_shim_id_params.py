"""Integer query parameters take ASCII digits only: `str.isdigit()` accepts "²" and "٣", which `int()` then
refuses (or reads as 3): the quality pages answer 400 with a JSON reason, never a 500, over the real DB."""

from __future__ import annotations

from contextlib import closing

import pytest
from fastapi.testclient import TestClient

from include.adapters.db.connection import connect
from include.workflows.quality.app import create_app


@pytest.fixture
def pages(db, database_url: str) -> TestClient:
    return TestClient(create_app(lambda: closing(connect(database_url)), require_user=False))


@pytest.mark.parametrize(
    "query",
    [
        "record_version_id=²",
        "record_version_id=٣",  # ARABIC-INDIC DIGIT THREE: int() would read it as 3
        "record_version_id=１２",  # fullwidth digits
        "ls_task_id=⁵",
        "record_version_id=99999999999999999999",  # past bigint
        "record_version_id=-1",
        "record_version_id=1e3",
        "ls_task_id=12abc",
    ],
)
def test_a_lineage_id_that_is_not_ascii_digits_is_a_400_with_a_json_reason(
    pages: TestClient, query: str
) -> None:
    resp = pages.get(f"/lineage?{query}")
    assert resp.status_code == 400, resp.text[:300]
    param = query.split("=")[0]
    assert resp.json() == {"error": f"{param} must be an id: up to 18 ASCII digits", "param": param}


def test_ascii_ids_still_look_up_and_an_unknown_one_is_a_404(pages: TestClient) -> None:
    assert pages.get("/lineage?record_version_id=99999999").status_code == 404
    assert pages.get("/lineage?ls_task_id= 123 ").status_code == 404
    assert pages.get("/lineage").status_code == 200


@pytest.mark.parametrize("limit", ["²", "٣", "１２"])
def test_the_uncertain_limit_refuses_non_ascii_digits_too(pages: TestClient, limit: str) -> None:
    resp = pages.get("/api/uncertain", params={"limit": limit})
    assert resp.status_code == 422 and resp.json()["detail"][0]["type"] == "int_parsing"

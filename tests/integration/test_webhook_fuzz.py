"""Property test: generated and mutated LS payloads never give a 500, and rejected ones write no row."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.integration.ls_payloads import (
    PROJECT,
    TEXT,
    annotation,
    annotation_event,
    make_record,
    span,
    task_of,
)
from webhook_shim.app import create_app

SECRET = "fuzz-secret"
ACTIONS = [
    "ANNOTATION_CREATED",
    "ANNOTATION_UPDATED",
    "ANNOTATIONS_CREATED",
    "ANNOTATIONS_DELETED",
    "TASKS_CREATED",
    "TASKS_DELETED",
    "PROJECT_UPDATED",
]

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _base_payloads() -> list[dict[str, Any]]:
    sha = hashlib.sha256(b"doc").hexdigest()

    class _R:  # the record the fixture creates: id 1, para=1
        record_key = "para=1"
        text = TEXT

    task = task_of(_R, sha)  # type: ignore[arg-type]
    ann = annotation(1, task, [span(TEXT, "Alice Smith", "PERSON"), span(TEXT, "$120.50", "MONEY", rid="m")])
    return [
        annotation_event("ANNOTATION_CREATED", ann, task),
        annotation_event("ANNOTATION_UPDATED", {**ann, "updated_at": "2026-02-01T00:00:00Z"}, task),
        {"action": "ANNOTATIONS_CREATED", "annotation": [ann], "task": [task], "project": PROJECT},
        {"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 1}], "project": PROJECT},
        {"action": "TASKS_CREATED", "tasks": [task], "project": PROJECT},
        {"action": "TASKS_DELETED", "tasks": [{"id": 100}], "project": PROJECT},
    ]


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def payloads(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "random", "action_swap"]))
    if kind == "random":
        return draw(
            st.one_of(
                json_value,
                st.fixed_dictionaries(
                    {"action": st.sampled_from(ACTIONS)}, optional={"annotation": json_value}
                ),
            )
        )
    payload = copy.deepcopy(draw(st.sampled_from(_base_payloads())))
    if kind == "action_swap":
        payload["action"] = draw(st.sampled_from(ACTIONS))
        return payload
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = [p for p in _paths(payload) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = payload
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()):
            if isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent.pop(path[-1])
        else:
            parent[path[-1]] = draw(json_value)
    return payload


def _row_count(conn) -> int:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT (SELECT count(*) FROM webhook_events) + (SELECT count(*) FROM record_versions)
                    + (SELECT count(*) FROM annotations) + (SELECT count(*) FROM ls_task_links)"""
        )
        n = cur.fetchone()[0]
    conn.commit()
    return n


@pytest.fixture
def fuzz_client(db, database_url):
    make_record(db)
    app = create_app({"DATABASE_URL": database_url, "WEBHOOK_SECRET": SECRET})
    return app.test_client()


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=payloads())
def test_no_500_and_no_rows_from_rejected_payloads(fuzz_client, db, payload) -> None:
    before = _row_count(db)
    resp = fuzz_client.post(
        "/webhooks/label-studio",
        data=json.dumps(payload),
        headers={"X-Webhook-Secret": SECRET},
        content_type="application/json",
    )
    event(f"status {resp.status_code}")
    assert resp.status_code in (200, 400, 413, 422), (resp.status_code, resp.get_data(as_text=True)[:500])
    assert resp.is_json and ("error" in resp.json or "outcome" in resp.json)
    if resp.status_code != 200:
        assert _row_count(db) == before, resp.json

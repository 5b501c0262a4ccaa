"""Hostile webhook bodies against the real shim (gunicorn) and Postgres: each is answered with a 4xx and a
JSON reason (never a 500), and what was stored before is all still there, unchanged.

And what is stored of an accepted event is an allow-list of the fields the payload models know: storage
keys, tokens and unknown fields LS (or anyone holding the secret) puts in a payload never reach
`webhook_events`, while everything reconciliation and redelivery read still does.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import requests

from include.adapters.label_studio.payloads import (
    MAX_JSON_DEPTH,
    STORED_FIELDS,
    TASK_DATA_KEYS,
    stored_fields,
)
from tests.integration.ls_payloads import PROJECT, annotation, annotation_event, make_record, span, task_of
from tests.security import bulk_payloads as bp

DOMAIN_TABLES = (
    "documents",
    "records",
    "ls_task_links",
    "annotations",
    "record_versions",
    "webhook_events",
    "ls_source_tasks",
)
SECRETS = {
    "account_key": "AZURE-ACCOUNT-KEY-0001",
    "private_key": "-----BEGIN PRIVATE KEY-----GCS-0002",
    "aws_access_key_id": "AKIAEXAMPLE0003",
    "aws_secret_access_key": "AWS-SECRET-0004",
    "sas": "sv=2024&sig=SAS-0005",
    "token": "LS-PROJECT-TOKEN-0006",
    "presign": "PRESIGN-0007",
    "unknown_field": "UNKNOWN-0008",
}


@pytest.fixture(autouse=True)
def no_source_tasks(db) -> None:
    with db.cursor() as cur:
        cur.execute("TRUNCATE ls_source_tasks")
    db.commit()


def post(shim_server, body: bytes | str | dict, headers: dict[str, str] | None = None) -> requests.Response:
    data = json.dumps(body) if isinstance(body, dict) else body
    return requests.post(
        shim_server.webhook_url,
        data=data,
        headers={
            "X-Webhook-Secret": shim_server.secret,
            "Content-Type": "application/json",
            **(headers or {}),
        },
        timeout=60,
    )


def snapshot(db) -> dict[str, list[tuple]]:
    """Every row of every domain table, in a stable order: what "nothing stored is lost" compares."""
    rows = {}
    with db.cursor() as cur:
        for table in DOMAIN_TABLES:
            cur.execute(f"SELECT to_jsonb(t)::text FROM {table} t ORDER BY 1")
            rows[table] = [r[0] for r in cur.fetchall()]
    db.commit()
    return rows


@pytest.fixture
def stored(shim_server, db) -> dict[str, list[tuple]]:
    """A record annotated and linked through the shim, and the rows that made: the state to keep."""
    record = make_record(db)
    task = task_of(record, hashlib.sha256(b"doc").hexdigest(), task_id=100)
    event = annotation_event(
        "ANNOTATION_CREATED", annotation(11, task, [span(record.text, "Alice", "PERSON")]), task
    )
    assert post(shim_server, event).status_code == 200
    files = [bp.task(500, {"text": "s3://inbox/in/a.pdf"})]
    assert post(shim_server, bp.tasks_created(files)).status_code == 200
    state = snapshot(db)
    assert all(
        state[t] for t in ("records", "ls_task_links", "record_versions", "webhook_events", "ls_source_tasks")
    )
    return state


def deep(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


HOSTILE = {
    # name: (body, extra headers, expected status, expected error prefix)
    "900-deep array in an event": (
        '{"action": "PROJECT_UPDATED", "project": {"id": 7, "x": ' + deep(900) + "}}",
        None,
        400,
        "body nests JSON too deep",
    ),
    "100,000-deep array": (deep(100_000), None, 400, "body nests JSON too deep"),
    "900-deep objects": ('{"a":' * 900 + "1" + "}" * 900, None, 400, "body nests JSON too deep"),
    f"{MAX_JSON_DEPTH + 1}-deep, one past the limit": (
        '{"action": "PROJECT_UPDATED", "x": ' + deep(MAX_JSON_DEPTH) + "}",
        None,
        400,
        "body nests JSON too deep",
    ),
    "900-deep in UTF-16": (
        ('{"action": "X", "x": ' + deep(900) + "}").encode("utf-16"),
        None,
        400,
        "body nests JSON too deep",
    ),
    "deep and holding a NUL": (
        '{"action": "X", "x": ' + deep(900, '"\\u0000"') + "}",
        None,
        400,
        "body nests JSON too deep",
    ),
    "not JSON": (b"{'action': 'X'", None, 400, "body is not JSON"),
    "invalid UTF-8": (b'{"action": "\xff\xfe"}', None, 400, "body is not JSON"),
    "a JSON list": ("[1, 2, 3]", None, 422, "payload does not match its action"),
    "wrong secret": ('{"action": "X"}', {"X-Webhook-Secret": "nope"}, 401, "missing or wrong webhook secret"),
    "NUL in a task's text": (
        json.dumps(bp.tasks_created([bp.task(1, {"text": "a\u0000b"})])),
        None,
        422,
        "a value cannot be stored",
    ),
    "task id past bigint": (
        json.dumps(bp.tasks_created([bp.task(2**63, {"text": "x"})])),
        None,
        422,
        "payload does not match its action",
    ),
    "body over the 16 MB limit": (b" " * 16_000_001, None, 413, "payload too large"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_body_is_a_4xx_with_a_json_reason_and_nothing_stored_is_lost(
    shim_server, db, stored, name
) -> None:
    body, headers, status, error = HOSTILE[name]
    resp = post(shim_server, body, headers)
    assert resp.status_code == status, resp.text[:300]
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.json()["error"].startswith(error), resp.json()
    if status == 400 and "deep" in error:
        assert resp.json()["limit_depth"] == MAX_JSON_DEPTH
    if status == 413:
        assert resp.json()["limit_bytes"] == 16_000_000
    assert snapshot(db) == stored, f"{name}: stored rows changed"
    assert requests.get(f"{shim_server.url}/healthz", timeout=10).status_code == 200


def test_brackets_inside_strings_do_not_count_and_the_limit_itself_is_accepted(shim_server, db) -> None:
    text = "[" * 5000 + '\\" {{{{ \\\\' + "]" * 10
    at_limit = (
        '{"action": "PROJECT_UPDATED", "x": ' + deep(MAX_JSON_DEPTH - 1) + ', "t": ' + json.dumps(text) + "}"
    )
    resp = post(shim_server, at_limit)
    assert resp.status_code == 200 and resp.json()["outcome"] == "ignored", resp.text[:300]


def test_a_task_id_twice_in_one_event_is_applied_not_a_500(shim_server, db) -> None:
    bp.seed_records(db, 2)
    # A storage sync naming one task twice (two links): the last link is noted.
    sync = bp.tasks_created(
        [bp.task(7, {"text": "s3://inbox/a.pdf"}), bp.task(7, {"text": "s3://inbox/b.pdf"})]
    )
    resp = post(shim_server, sync)
    assert resp.status_code == 200, resp.text[:300]
    with db.cursor() as cur:
        cur.execute("SELECT ls_task_id, source_link FROM ls_source_tasks")
        assert cur.fetchall() == [(7, "s3://inbox/b.pdf")]
    db.commit()
    # Two records claiming one task: applied item by item, in order, as before; the second keeps it.
    both = bp.tasks_created([bp.pipeline_task(8, 0), bp.pipeline_task(8, 1)])
    resp = post(shim_server, both)
    assert resp.status_code == 200 and resp.json()["counts"] == {"applied": 2}, resp.text[:300]
    with db.cursor() as cur:
        cur.execute("SELECT record_key FROM records WHERE ls_task_id = 8")
        assert cur.fetchall() == [("para=1",)]
        cur.execute("SELECT count(*) FILTER (WHERE unlinked_at IS NULL), count(*) FROM ls_task_links")
        assert cur.fetchone() == (1, 2)
    db.commit()


def _with_secrets(value: dict) -> dict:
    return {**value, **SECRETS}


def test_only_allow_listed_fields_are_stored_and_what_replay_reads_is_kept(shim_server, db) -> None:
    record = make_record(db)
    sha = hashlib.sha256(b"doc").hexdigest()
    task = task_of(record, sha, task_id=100)
    task["data"] = _with_secrets(task["data"])
    ann = annotation(11, task, [_with_secrets(span(record.text, "Alice", "PERSON"))])
    ann["result"][0]["value"] = _with_secrets(ann["result"][0]["value"])
    ann["completed_by"] = _with_secrets({"id": 1, "email": "sme@example.com"})
    event = _with_secrets(annotation_event("ANNOTATION_CREATED", _with_secrets(ann), _with_secrets(task)))
    event["project"] = _with_secrets({**PROJECT, "s3_storage": {"bucket": "b", **SECRETS}})
    event["delivered_by"] = "reconcile"
    resp = post(shim_server, event)
    assert resp.status_code == 200 and resp.json()["outcome"] == "applied", resp.text[:300]

    with db.cursor() as cur:
        cur.execute("SELECT payload, payload::text FROM webhook_events")
        payload, text = cur.fetchone()
    db.commit()
    for key, value in SECRETS.items():
        assert value not in text, f"{key} reached webhook_events"
        assert f'"{key}"' not in text
    assert "sme@example.com" not in text and "s3_storage" not in text
    # What reconciliation, redelivery and an audit read: all there.
    assert payload["action"] == "ANNOTATION_CREATED" and payload["delivered_by"] == "reconcile"
    assert payload["project"] == {"id": PROJECT["id"], "title": PROJECT["title"]}
    assert payload["task"]["id"] == 100 and payload["task"]["project"] == PROJECT["id"]
    assert {k: payload["task"]["data"][k] for k in ("text", "document_sha256", "record_key")} == {
        "text": record.text,
        "document_sha256": sha,
        "record_key": record.record_key,
    }
    stored_ann = payload["annotation"]
    assert stored_ann["id"] == 11 and stored_ann["task"] == 100 and stored_ann["completed_by"] == {"id": 1}
    assert stored_ann["updated_at"] == ann["updated_at"] and stored_ann["was_cancelled"] is False
    value = stored_ann["result"][0]["value"]
    assert value == {"start": 0, "end": 5, "text": "Alice", "labels": ["PERSON"]}
    assert stored_ann["result"][0]["type"] == "labels"
    # The event stored the same outcome as any other: the record's version is there.
    with db.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM record_versions WHERE source = 'annotation' AND ls_annotation_id = 11"
        )
        assert cur.fetchone()[0] == 1
    db.commit()


def test_the_allow_list_covers_every_field_the_payload_models_know() -> None:
    from include.adapters.label_studio import payloads as p

    def fields(model: type) -> set[str]:
        return set(model.model_fields)

    assert fields(p.Annotation) <= set(STORED_FIELDS["annotation"])  # type: ignore[arg-type]
    assert fields(p.Task) <= set(STORED_FIELDS["task"])  # type: ignore[arg-type]
    assert fields(p.ResultItem) <= set(STORED_FIELDS["annotation"]["result"])  # type: ignore[index]
    assert fields(p.ResultValue) <= set(STORED_FIELDS["annotation"]["result"]["value"])  # type: ignore[index]
    for model in p.EVENT_MODELS.values():
        assert fields(model) <= set(STORED_FIELDS), model
    assert {"text", "document_sha256", "record_key", "model_version", "$undefined$"} <= set(TASK_DATA_KEYS)
    # Walks follow the allow-list, not the payload: nested lists, odd types and unknown keys drop out.
    weird = {"action": "X", "tasks": [[{"id": 1}], {"id": 2, "data": {"text": {"nested": "secret"}}}, 5]}
    assert stored_fields(weird) == {"action": "X", "tasks": [{"id": 2, "data": {}}, 5]}
    assert stored_fields([1]) == {}

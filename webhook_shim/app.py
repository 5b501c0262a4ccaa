"""Flask app factory of the webhook shim: `POST /webhooks/label-studio`, health, metrics, `/openapi.json`.

The shim serves webhooks and health only: Label Studio's ML backend is its own app (`ml_backend/`, its own
gunicorn and port), and the quality gauges on /metrics read on their own connection (`quality_metrics`).

Bounded input: a body over WEBHOOK_MAX_BODY_BYTES (16 MB by default: LS 1.23 sends a 10,000-task import
as one ~7 MB TASKS_CREATED unless WEBHOOK_BATCH_SIZE splits it) is a 413, JSON nested deeper than
`MAX_JSON_DEPTH` a 400 before it is parsed; every refusal is a JSON `{"error", ...}` and stores nothing.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from typing import Any

import psycopg2
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from include.adapters.db.connection import database_url, ping
from include.adapters.label_studio.payloads import MAX_JSON_DEPTH, contains_nul, json_depth_exceeds
from include.core import canonical
from include.core.settings import get_settings
from include.workflows.annotations import ApplyConfig, EventOutcome, apply_event, parse_event
from webhook_shim import metrics
from webhook_shim.openapi import Health, WebhookOutcome, openapi_document
from webhook_shim.pool import ConnectionPool, DatabaseUnavailable
from webhook_shim.quality_metrics import QualityCollector
from webhook_shim.triton_batches import TritonBatchCollector

log = logging.getLogger("webhook_shim")
# An event of this many items (or KB of body) or more gets a statement budget in proportion (`_apply`),
# up to BULK_BUDGET_MAX_MS: below gunicorn's 30 s worker timeout, so a bulk event is a 503, never a kill.
BULK_UNITS = 250
BULK_BUDGET_MAX_MS = 20_000
bp = Blueprint("webhooks", __name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment's settings, overridden by `test_config`."""
    s = get_settings()
    app = Flask(__name__)
    app.config.update(
        DATABASE_URL=database_url(s),
        WEBHOOK_SECRET=s.shim.webhook_secret.get_secret_value() if s.shim.webhook_secret else None,
        WEBHOOK_SECRET_HEADER=s.shim.webhook_secret_header,
        MAX_CONTENT_LENGTH=s.shim.webhook_max_body_bytes,
        DB_TIMEOUT_MS=s.shim.webhook_db_timeout_ms,
        DB_TIMEOUT_PER_ITEM_MS=s.shim.webhook_db_timeout_per_item_ms,
        SYNCHRONOUS_COMMIT=s.shim.webhook_synchronous_commit,
        FIELD_MAP=dict(s.canonical.canonical_field_map),
        PHONE_REGION=s.canonical.default_phone_region,
        ENABLE_BARE_ENDPOINT=s.shim.shim_enable_bare_endpoint,
        TRITON_METRICS_URL=s.shim.triton_metrics_url,
        METRICS_MULTIPROC_DIR=s.shim.prometheus_multiproc_dir,
    )
    if test_config:
        app.config.update(test_config)
    if not app.config["WEBHOOK_SECRET"]:
        raise RuntimeError("WEBHOOK_SECRET is not set: the shim refuses to start without a webhook secret")
    app.extensions["db_pool"] = ConnectionPool(
        app.config["DATABASE_URL"],
        statement_timeout_ms=app.config["DB_TIMEOUT_MS"],
        connect_timeout_s=1,
        synchronous_commit=app.config["SYNCHRONOUS_COMMIT"],
        autocommit=True,
    )
    # The quality gauges read on their own connection and timeout: never on the webhooks' pool and budget.
    app.extensions["scraped"] = [QualityCollector(app.config["DATABASE_URL"])]
    if app.config["TRITON_METRICS_URL"]:
        app.extensions["scraped"].append(TritonBatchCollector(app.config["TRITON_METRICS_URL"]))
    app.extensions["apply_config"] = ApplyConfig(
        field_map=app.config["FIELD_MAP"], phone_region=app.config["PHONE_REGION"]
    )
    canonical.warm_up()
    app.register_blueprint(bp)
    if app.config["ENABLE_BARE_ENDPOINT"]:
        app.add_url_rule("/webhooks/bare", "bare", _bare, methods=["POST"])
    app.register_error_handler(HTTPException, _http_error)
    app.extensions["openapi"] = openapi_document(
        secret_header=app.config["WEBHOOK_SECRET_HEADER"],
        max_body_bytes=app.config["MAX_CONTENT_LENGTH"],
    )
    return app


def _error(status: int, error: str, **extra: Any) -> tuple[Response, int]:
    return jsonify({"error": error, **extra}), status


def _http_error(exc: HTTPException) -> tuple[Response, int]:
    if exc.code == 413:
        metrics.ERRORS.labels("too_large").inc()
        return _error(413, "payload too large", limit_bytes=request.max_content_length)
    return _error(exc.code or 500, exc.name.lower())


def _authorized() -> bool:
    sent = request.headers.get(current_app.config["WEBHOOK_SECRET_HEADER"], "")
    return hmac.compare_digest(sent.encode(), current_app.config["WEBHOOK_SECRET"].encode())


def _bare() -> tuple[str, int]:
    """Does no work: the benchmark's baseline for what Flask + gunicorn alone cost."""
    return "", 204


@bp.post("/webhooks/label-studio")
def label_studio_webhook() -> tuple[Response, int]:
    started = time.perf_counter()
    g.action = "unknown"
    response, status = _handle()
    metrics.REQUESTS.labels(g.action, str(status)).inc()
    metrics.LATENCY.labels(g.action).observe(time.perf_counter() - started)
    return response, status


def _handle() -> tuple[Response, int]:
    if not _authorized():
        metrics.ERRORS.labels("unauthorized").inc()
        return _error(401, "missing or wrong webhook secret")
    raw = request.get_data(cache=False)
    # Read from the text before anything parses or walks it: no recursion ever meets a deep payload.
    if json_depth_exceeds(raw):
        metrics.ERRORS.labels("too_deep").inc()
        return _error(400, "body nests JSON too deep", limit_depth=MAX_JSON_DEPTH)
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        metrics.ERRORS.labels("bad_json").inc()
        return _error(400, "body is not JSON", reason=str(exc)[:200])
    if isinstance(payload, dict) and isinstance(payload.get("action"), str):
        g.action = payload["action"][:64]
    # JSON carries NUL only as the escape \u0000, or inside a UTF-16/32 body (full of 0 bytes): only such
    # bodies are walked, the common UTF-8 webhook skips the walk.
    if (b"\\u0000" in raw or b"\x00" in raw) and contains_nul(payload):
        metrics.ERRORS.labels("invalid_value").inc()
        return _error(422, "a value cannot be stored", reason="a string holds NUL (\\u0000)")
    try:
        event = parse_event(payload)
    except ValidationError as exc:
        metrics.ERRORS.labels("invalid_payload").inc()
        fields = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "problem": e["msg"]}
            for e in exc.errors()[:20]
        ]
        return _error(422, "payload does not match its action", action=g.action, fields=fields)
    try:
        with current_app.extensions["db_pool"].connection() as conn:
            outcome = _apply(conn, event, payload, len(raw))
    except DatabaseUnavailable as exc:
        metrics.ERRORS.labels("database_unavailable").inc()
        log.warning("webhook %s: database unavailable: %s", g.action, exc)
        return _error(503, "database unavailable", reason=str(exc)[:200])
    except psycopg2.DataError as exc:
        metrics.ERRORS.labels("invalid_value").inc()
        return _error(422, "a value cannot be stored", reason=str(exc).strip().splitlines()[0][:200])
    for kind, count in outcome.counts.items():
        metrics.ITEMS.labels(g.action, kind).inc(count)
    if outcome.versions_written:
        metrics.VERSIONS_WRITTEN.labels("webhook").inc(outcome.versions_written)
    # Every event's outcome is stored with it (webhook_events); the log names only what needs a look.
    log.log(
        logging.DEBUG if outcome.outcome in ("applied", "duplicate") else logging.INFO,
        "webhook %s event=%s outcome=%s counts=%s",
        g.action,
        outcome.event_id,
        outcome.outcome,
        dict(outcome.counts),
    )
    # Through the model the document is generated from: an answer the document does not describe fails here.
    answer = WebhookOutcome.model_validate(outcome.as_json()).model_dump_json()
    return Response(answer, mimetype="application/json"), 200


def _apply(conn: Any, event: BaseModel, payload: dict[str, Any], body_bytes: int) -> EventOutcome:
    """Apply the event within its statement budget: DB_TIMEOUT_MS, and for a bulk event DB_TIMEOUT_PER_ITEM_MS
    more per item (a task, an annotation) or per KB of body, whichever count is larger (up to 20 s).

    The pool's connections autocommit: an event is one statement, so one round trip and no COMMIT. A
    bulk event (an import of thousands of tasks, whose statement parses and stores megabytes and links
    as many records) gets a budget in proportion, bounded as the body is, set for its own transaction
    only (SET LOCAL, two more round trips): every size LS sends is stored, while a stuck database still
    answers the common small event's 503 within DB_TIMEOUT_MS.
    """
    cfg, config = current_app.extensions["apply_config"], current_app.config
    items = max((len(v) for v in payload.values() if isinstance(v, list)), default=1)
    units = max(items, body_bytes // 1000)
    if units < BULK_UNITS:
        return apply_event(conn, event, payload, cfg)
    base_ms = config["DB_TIMEOUT_MS"]
    budget_ms = max(base_ms, min(base_ms + int(config["DB_TIMEOUT_PER_ITEM_MS"] * units), BULK_BUDGET_MAX_MS))
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            # A bulk event's locks wait as long as its statement may run, not the small event's budget.
            cur.execute(
                "SET LOCAL statement_timeout = %s; SET LOCAL lock_timeout = %s", (budget_ms, budget_ms)
            )
        outcome = apply_event(conn, event, payload, cfg)
        conn.commit()
        return outcome
    finally:
        if not conn.closed:
            conn.rollback()
            conn.autocommit = True


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    try:
        with current_app.extensions["db_pool"].connection() as conn:
            ping(conn)
    except DatabaseUnavailable as exc:
        return _error(503, "database unavailable", reason=str(exc)[:200])
    return jsonify(Health(status="ok", database="ok").model_dump()), 200


@bp.get("/metrics")
def metrics_page() -> Response:
    body, content_type = metrics.render(
        current_app.extensions["scraped"], multiprocess_dir=current_app.config["METRICS_MULTIPROC_DIR"]
    )
    return Response(body, content_type=content_type)


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(current_app.extensions["openapi"])

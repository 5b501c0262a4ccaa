"""Flask app factory of the ML backend: Label Studio's ML-backend protocol on /ml, and /openapi.json.

Its own process (gunicorn -c ml_backend/gunicorn.conf.py ml_backend.wsgi:app, ML_BACKEND_PORT, 8082 by
default), so the ONNX Runtime session and its CPU work stay out of the webhook shim's workers. It needs no
database: predictions come from the NER client the prelabel DAG uses (NER_BUNDLE_DIR, or NER_BACKEND=triton).
It refuses to start without ML_BACKEND_BASIC_AUTH_USER and ML_BACKEND_BASIC_AUTH_PASS, the pair LS sends as
`Authorization: Basic` when the model is attached with "Basic Auth".
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from include.core.settings import get_settings
from ml_backend import routes
from ml_backend.openapi import openapi_document


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment's settings, overridden by `test_config` (`NER_CLIENT`: a client
    to serve instead of the one built from the settings on the first call)."""
    s = get_settings()
    app = Flask(__name__)
    app.config.update(
        ML_BASIC_AUTH_USER=s.ml_backend.ml_backend_basic_auth_user,
        ML_BASIC_AUTH_PASS=(
            s.ml_backend.ml_backend_basic_auth_pass.get_secret_value()
            if s.ml_backend.ml_backend_basic_auth_pass
            else None
        ),
        ML_MAX_TASKS=s.ml_backend.ml_backend_max_tasks,
        ML_MAX_TEXT_CHARS=s.ml_backend.ml_backend_max_text_chars,
        ML_MAX_BODY_BYTES=s.ml_backend.ml_backend_max_body_bytes,
    )
    if test_config:
        app.config.update(test_config)
    if not (app.config["ML_BASIC_AUTH_USER"] and app.config["ML_BASIC_AUTH_PASS"]):
        raise RuntimeError(
            "the ML backend needs ML_BACKEND_BASIC_AUTH_USER and ML_BACKEND_BASIC_AUTH_PASS: the /ml "
            "endpoints run the model for whoever calls them (set the pair as the model's Basic Auth in LS)"
        )
    app.register_blueprint(routes.bp)
    app.register_error_handler(HTTPException, _http_error)
    app.extensions["openapi"] = openapi_document()
    app.add_url_rule("/openapi.json", "openapi", _openapi_json, methods=["GET"])
    return app


def _http_error(exc: HTTPException) -> tuple[Response, int]:
    if exc.code == 413:
        return jsonify({"error": "payload too large", "limit_bytes": request.max_content_length}), 413
    return jsonify({"error": (exc.name or "error").lower()}), exc.code or 500


def _openapi_json() -> Response:
    return jsonify(current_app.extensions["openapi"])

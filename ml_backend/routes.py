"""Label Studio's ML backend protocol (`/health`, `/setup`, `/predict`) over the same NER client and payloads.

Attach it to an LS project (Settings → Model → `http://<ml-backend>:8082/ml`, Authentication method
"Basic Auth") for interactive prelabels from the code the prelabel DAG uses: `NerClient.predict`, then
`prediction_result` and `task_score`, as the prelabel import builds its predictions. The model comes from
NER_BUNDLE_DIR (or NER_BACKEND=triton); the app (`ml_backend.app`) refuses to start without
ML_BACKEND_BASIC_AUTH_USER and ML_BACKEND_BASIC_AUTH_PASS, the pair LS then sends as `Authorization: Basic`
on every call. Answers are built through the protocol's models (`ml_backend.models`), the document's source.

Every call is bounded before the model runs: a body over ML_BACKEND_MAX_BODY_BYTES is a 413, more than
ML_BACKEND_MAX_TASKS tasks or a text over ML_BACKEND_MAX_TEXT_CHARS characters a 413, a body that is not
the protocol's JSON a 400 (422 for a task without a text), each with a JSON `{"error", ...}`.
"""

from __future__ import annotations

import hmac
import json
import threading
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from include.adapters.label_studio.payloads import MAX_JSON_DEPTH, json_depth_exceeds
from include.adapters.label_studio.tasks import prediction_result
from include.core.spans import task_score
from ml_backend.models import MlHealth, MlSetup, PredictResponse

bp = Blueprint("ml_backend", __name__, url_prefix="/ml")
_lock = threading.Lock()
REALM = "nerloop ml backend"


def _client() -> Any:
    client = current_app.extensions.get("ner_client")
    if client is None:
        with _lock:
            client = current_app.extensions.get("ner_client")
            if client is None:
                from include.adapters.ner.client import NerClient

                client = current_app.config.get("NER_CLIENT") or NerClient.from_settings()
                current_app.extensions["ner_client"] = client
    return client


def _error(status: int, error: str, **extra: Any) -> tuple[Response, int]:
    return jsonify({"error": error, **extra}), status


def _credentials_match() -> bool:
    auth = request.authorization
    if auth is None or auth.type != "basic" or auth.username is None or auth.password is None:
        return False
    # Both compared, always: how long the check takes does not tell which of the two was wrong.
    user_ok = hmac.compare_digest(auth.username.encode(), current_app.config["ML_BASIC_AUTH_USER"].encode())
    pass_ok = hmac.compare_digest(auth.password.encode(), current_app.config["ML_BASIC_AUTH_PASS"].encode())
    return user_ok and pass_ok


@bp.before_request
def _guard() -> tuple[Response, int] | None:
    """Credentials first, before any body is read; then the body limit of the /ml endpoints."""
    if not _credentials_match():
        response, status = _error(401, "missing or wrong ML backend credentials (HTTP Basic)")
        response.headers["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
        return response, status
    request.max_content_length = current_app.config["ML_MAX_BODY_BYTES"]
    return None


def _json_body() -> tuple[Any, tuple[Response, int] | None]:
    """The request's JSON, or the 400 that says why there is none."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None, None
    if json_depth_exceeds(raw):
        return None, _error(400, "body nests JSON too deep", limit_depth=MAX_JSON_DEPTH)
    try:
        return json.loads(raw), None
    except (ValueError, RecursionError) as exc:
        return None, _error(400, "body is not JSON", reason=str(exc)[:200])


@bp.get("/health")
def health() -> Response:
    return jsonify(
        MlHealth(status="UP", model_class="nerloop", model_version=_client().model_version).model_dump()
    )


@bp.post("/setup")
def setup() -> tuple[Response, int]:
    _body, refused = _json_body()
    if refused:
        return refused
    return jsonify(MlSetup(model_version=_client().model_version).model_dump()), 200


@bp.post("/predict")
def predict() -> tuple[Response, int]:
    body, refused = _json_body()
    if refused:
        return refused
    if not isinstance(body, dict) or not isinstance(body.get("tasks"), list):
        return _error(400, "expected a JSON object with a list `tasks`")
    max_tasks, max_chars = current_app.config["ML_MAX_TASKS"], current_app.config["ML_MAX_TEXT_CHARS"]
    if len(body["tasks"]) > max_tasks:
        return _error(413, "too many tasks in one request", tasks=len(body["tasks"]), limit_tasks=max_tasks)
    texts: list[str] = []
    for i, task in enumerate(body["tasks"]):
        data = task.get("data") if isinstance(task, dict) else None
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str):
            return _error(422, f"tasks[{i}].data.text must be a string")
        if len(text) > max_chars:
            return _error(413, f"tasks[{i}].data.text is too long", chars=len(text), limit_chars=max_chars)
        texts.append(text)
    client = _client()
    results = [
        {
            "result": prediction_result(spans),
            "score": task_score(spans),
            "model_version": client.model_version,
        }
        for spans in client.predict(texts)
    ]
    # Through the model the document is generated from: an answer the document does not describe fails here.
    answer = PredictResponse.model_validate({"results": results}).model_dump(mode="json", exclude_unset=True)
    return jsonify(answer), 200

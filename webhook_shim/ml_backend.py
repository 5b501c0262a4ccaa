"""Label Studio's ML backend protocol (`/health`, `/setup`, `/predict`) over the same NER client and payloads.

Attach it to an LS project (Settings → Model → `http://<shim>/ml`) for interactive prelabels from the
code the prelabel DAG uses. Enabled with ML_BACKEND_ENABLED=true and NER_BUNDLE_DIR (or NER_BACKEND=triton).
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from include.label_studio.tasks import prediction_result
from include.ner.tags import task_score

bp = Blueprint("ml_backend", __name__, url_prefix="/ml")
_lock = threading.Lock()


def _client() -> Any:
    client = current_app.extensions.get("ner_client")
    if client is None:
        with _lock:
            client = current_app.extensions.get("ner_client")
            if client is None:
                from include.ner.client import NerClient

                client = current_app.config.get("NER_CLIENT") or NerClient.from_settings()
                current_app.extensions["ner_client"] = client
    return client


@bp.get("/health")
def health() -> Response:
    return jsonify({"status": "UP", "model_class": "nerloop", "model_version": _client().model_version})


@bp.post("/setup")
def setup() -> Response:
    return jsonify({"model_version": _client().model_version})


@bp.post("/predict")
def predict() -> tuple[Response, int]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("tasks"), list):
        return jsonify({"error": "expected a JSON object with a list `tasks`"}), 400
    texts: list[str] = []
    for i, task in enumerate(body["tasks"]):
        data = task.get("data") if isinstance(task, dict) else None
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str):
            return jsonify({"error": f"tasks[{i}].data.text must be a string"}), 422
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
    return jsonify({"results": results}), 200

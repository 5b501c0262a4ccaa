"""LS's ML backend protocol on its own app (ml_backend/), over the tiny bundle: health, setup and exact-offset
predictions."""

from __future__ import annotations

import base64

from include.adapters.ner.backends import OnnxRuntimeBackend
from include.adapters.ner.client import NerClient
from include.core.bundle.read import read_bundle
from ml_backend.app import create_app
from tests.helpers.bundle import tiny_bundle


def _client():
    bundle = tiny_bundle()
    ner = NerClient(bundle, OnnxRuntimeBackend(read_bundle(bundle).model_path, 1), max_length=64, stride=16)
    app = create_app(
        {
            "NER_CLIENT": ner,
            "ML_BASIC_AUTH_USER": "label-studio",
            "ML_BASIC_AUTH_PASS": "ml-backend-password-123",
        }
    )
    client = app.test_client()
    # LS sends the backend's basic-auth pair on every call.
    client.environ_base["HTTP_AUTHORIZATION"] = (
        "Basic " + base64.b64encode(b"label-studio:ml-backend-password-123").decode()
    )
    return client


def test_health_setup_and_predict() -> None:
    client = _client()
    assert client.get("/ml/health").json == {
        "status": "UP",
        "model_class": "nerloop",
        "model_version": "tiny-0",
    }
    assert client.post("/ml/setup", json={"project": "1"}).json["model_version"] == "tiny-0"
    texts = ["Alice Smith flew to Paris on May 3.", "Acme Corp owes $1,200 to Bob."]
    resp = client.post(
        "/ml/predict", json={"tasks": [{"id": i, "data": {"text": t}} for i, t in enumerate(texts)]}
    )
    assert resp.status_code == 200
    results = resp.json["results"]
    assert len(results) == 2
    for text, result in zip(texts, results, strict=True):
        assert result["model_version"] == "tiny-0" and 0.0 <= result["score"] <= 1.0
        for item in result["result"]:
            v = item["value"]
            assert text[v["start"] : v["end"]] == v["text"]


def test_predict_rejects_bad_tasks() -> None:
    client = _client()
    assert client.post("/ml/predict", json={"nope": 1}).status_code == 400
    resp = client.post("/ml/predict", json={"tasks": [{"data": {"text": 5}}]})
    assert resp.status_code == 422 and "tasks[0].data.text" in resp.json["error"]
    resp = client.post("/ml/predict", json={"tasks": [{"data": {"text": "ok"}}, {"data": []}]})
    assert resp.status_code == 422 and "tasks[1].data.text" in resp.json["error"]

"""The shim's OpenAPI document is valid OpenAPI 3.1, is served at /openapi.json and covers every route."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from include.label_studio.payloads import EVENT_MODELS
from webhook_shim.app import create_app
from webhook_shim.openapi import openapi_document

# No request here touches the database: the pool connects lazily.
NO_DATABASE = "postgresql://nobody@127.0.0.1:1/none"


def _app(ml_backend: bool):
    return create_app(
        {
            "DATABASE_URL": NO_DATABASE,
            "WEBHOOK_SECRET": "s",
            "WEBHOOK_SECRET_HEADER": "X-Hook-Key",
            "ML_BACKEND_ENABLED": ml_backend,
            "ML_BASIC_AUTH_USER": "label-studio",
            "ML_BASIC_AUTH_PASS": "ml-backend-password-123",
        }
    )


@pytest.mark.parametrize("ml_backend", [False, True], ids=["shim", "shim+ml_backend"])
def test_the_document_is_valid_openapi(ml_backend: bool) -> None:
    validate(openapi_document(ml_backend=ml_backend))


@pytest.mark.parametrize("ml_backend", [False, True], ids=["shim", "shim+ml_backend"])
def test_the_served_document_lists_exactly_the_app_routes(ml_backend: bool) -> None:
    app = _app(ml_backend)
    served = app.test_client().get("/openapi.json")
    assert served.status_code == 200 and served.is_json
    document = served.json
    validate(document)
    routes = {
        (rule.rule, method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    assert described == routes
    scheme = document["components"]["securitySchemes"]["webhookSecret"]
    assert scheme == {"type": "apiKey", "in": "header", "name": "X-Hook-Key"}


def test_every_action_with_a_model_is_described_by_that_model() -> None:
    schemas = openapi_document()["components"]["schemas"]
    for action, model in EVENT_MODELS.items():
        assert action in schemas[model.__name__]["properties"]["action"]["enum"]
    other = schemas["AnyEvent"]["properties"]["action"]
    assert set(other["not"]["enum"]) == set(EVENT_MODELS)
    # The body schema is the validation-mode schema pydantic derives from the payload models.
    annotation = schemas["Annotation"]
    assert set(annotation["required"]) == {"id", "task"}
    assert annotation["properties"]["id"] == {
        "maximum": 2**63 - 1,
        "minimum": 0,
        "title": "Id",
        "type": "integer",
    }

"""The OpenAPI documents of the shim and of the ML backend: valid OpenAPI 3.1, served at /openapi.json,
covering every route, and generated from the pydantic models (each component schema is its model's own
schema)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from openapi_spec_validator import validate
from pydantic import BaseModel

from include.adapters.label_studio.payloads import EVENT_MODELS, AnyEvent
from ml_backend import openapi as ml_openapi
from ml_backend.app import create_app as create_ml_app
from webhook_shim import openapi as shim_openapi
from webhook_shim.app import create_app as create_shim_app

# No request here touches the database: the pool and the quality gauges connect lazily.
NO_DATABASE = "postgresql://nobody@127.0.0.1:1/none"


def _shim() -> Flask:
    return create_shim_app(
        {"DATABASE_URL": NO_DATABASE, "WEBHOOK_SECRET": "s", "WEBHOOK_SECRET_HEADER": "X-Hook-Key"}
    )


def _ml() -> Flask:
    return create_ml_app(
        {"ML_BASIC_AUTH_USER": "label-studio", "ML_BASIC_AUTH_PASS": "ml-backend-password-123"}
    )


APPS = {"shim": (_shim, shim_openapi), "ml_backend": (_ml, ml_openapi)}


@pytest.mark.parametrize("name", APPS)
def test_the_document_is_valid_openapi(name: str) -> None:
    validate(APPS[name][1].openapi_document())


@pytest.mark.parametrize("name", APPS)
def test_the_served_document_lists_exactly_the_app_routes(name: str) -> None:
    app = APPS[name][0]()
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


def test_the_shim_serves_webhooks_and_health_only() -> None:
    app = _shim()
    paths = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert paths == {"/webhooks/label-studio", "/healthz", "/metrics", "/openapi.json"}
    scheme = app.test_client().get("/openapi.json").json["components"]["securitySchemes"]
    assert scheme == {"webhookSecret": {"type": "apiKey", "in": "header", "name": "X-Hook-Key"}}


def _own_schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    """What pydantic alone says of each model, one at a time: `model_json_schema` (validation mode) with
    its `$defs` lifted beside it, as an OpenAPI document holds them."""
    out: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=shim_openapi.REF, mode="validation")
        defs = schema.pop("$defs", {})
        for name, one in [(model.__name__, schema), *defs.items()]:
            assert out.setdefault(name, one) == one, f"two models named {name} differ"
    return out


@pytest.mark.parametrize("name", APPS)
def test_the_document_schemas_are_the_models_schemas(name: str) -> None:
    module = APPS[name][1]
    schemas = module.openapi_document()["components"]["schemas"]
    assert schemas == _own_schemas(module.document_models())


def test_the_webhook_body_picks_each_events_model_by_its_actions() -> None:
    document = shim_openapi.openapi_document()
    body = document["paths"]["/webhooks/label-studio"]["post"]["requestBody"]["content"]["application/json"]
    branches = body["schema"]["anyOf"]
    by_model: dict[str, Any] = {}
    for branch in branches:
        model_ref, narrowing = branch["allOf"]
        by_model[model_ref["$ref"].rsplit("/", 1)[1]] = narrowing["properties"]["action"]
    for action, model in EVENT_MODELS.items():
        assert action in by_model[model.__name__]["enum"]
    assert set(by_model[AnyEvent.__name__]["not"]["enum"]) == set(EVENT_MODELS)
    # Every $ref resolves to a component.
    schemas = document["components"]["schemas"]
    assert set(by_model) <= set(schemas)
    annotation = schemas["Annotation"]
    assert set(annotation["required"]) == {"id", "task"}
    assert annotation["properties"]["id"] == {
        "maximum": 2**63 - 1,
        "minimum": 0,
        "title": "Id",
        "type": "integer",
    }

"""The shim's OpenAPI 3.1 document, generated from the pydantic models its routes validate and answer with.

Every component schema is the validation-mode JSON Schema pydantic derives from one model
(`model_json_schema`), unchanged: the webhook's request bodies come from
`include.adapters.label_studio.payloads` (the models `parse_event` applies), its answers from the models
below, which the routes build their answers through (`WebhookOutcome`, `Health`, `ErrorBody`). What the models
cannot say — which actions pick which model — is said beside them, in the `WebhookEvent` body: each branch is
`allOf` a model's `$ref` and the actions `EVENT_MODELS` maps to it; `AnyEvent` stands for every other action
(stored, then ignored).
`tests/unit/test_webhook_openapi.py` checks the document's schemas equal the models'.

The ML backend (`ml_backend/`) builds its own document with the helpers here.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from include.adapters.label_studio.payloads import EVENT_MODELS, AnyEvent
from include.core.settings import ShimSettings

REF = "#/components/schemas/{model}"
JSON = "application/json"


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: a reason, sometimes with details (`fields`, `reason`, `limit_bytes`)."""

    model_config = ConfigDict(extra="allow")
    error: str


class WebhookOutcome(BaseModel):
    """What one stored event did (`EventOutcome.as_json`, passed through this model on its way out)."""

    event_id: int
    action: str
    outcome: str = Field(description="applied, duplicate, stale, unmatched, ignored or partial")
    counts: dict[str, int]
    versions_written: int
    unmatched: list[str]


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]


def component_schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    """Validation-mode JSON Schemas of `models` and everything they reference, keyed by model name."""
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    return copy.deepcopy(top.get("$defs", {}))


def ref(model: type[BaseModel] | str) -> dict[str, str]:
    return {"$ref": REF.format(model=model if isinstance(model, str) else model.__name__)}


def json_response(description: str, model: type[BaseModel] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": ref(model) if model else {}}}}


def error_response(description: str) -> dict[str, Any]:
    return json_response(description, ErrorBody)


def event_models() -> list[type[BaseModel]]:
    """The webhook's body models: each event model once, then `AnyEvent`."""
    return [*{m.__name__: m for m in EVENT_MODELS.values()}.values(), AnyEvent]


def webhook_body() -> dict[str, Any]:
    """The webhook body schema: one branch per event model, narrowed to the actions that select it."""
    actions: dict[str, list[str]] = {}
    for action, model in EVENT_MODELS.items():
        actions.setdefault(model.__name__, []).append(action)
    branches: list[dict[str, Any]] = [
        {"allOf": [ref(name), {"properties": {"action": {"type": "string", "enum": names}}}]}
        for name, names in actions.items()
    ]
    branches.append(
        {
            "allOf": [
                ref(AnyEvent),
                {"properties": {"action": {"type": "string", "not": {"enum": list(EVENT_MODELS)}}}},
            ],
            "description": "Any other action: stored as received and answered with outcome `ignored`.",
        }
    )
    return {
        "anyOf": branches,
        "description": "A Label Studio webhook payload; the model is chosen by `action`.",
    }


def document_models() -> list[type[BaseModel]]:
    """Every model the document describes: the webhook's bodies and the shim's answers."""
    return [*event_models(), ErrorBody, WebhookOutcome, Health]


def _webhook_path(secret_header: str, max_body_bytes: int) -> dict[str, Any]:
    return {
        "post": {
            "operationId": "labelStudioWebhook",
            "summary": "Store one Label Studio webhook event; idempotent per delivery",
            "security": [{"webhookSecret": []}],
            "requestBody": {"required": True, "content": {JSON: {"schema": webhook_body()}}},
            "responses": {
                "200": json_response("stored; `outcome` says what it changed", WebhookOutcome),
                "400": error_response("the body is not JSON"),
                "401": error_response(f"missing or wrong `{secret_header}` header"),
                "413": error_response(f"the body is larger than {max_body_bytes} bytes"),
                "422": error_response("the body does not match its action, or a value cannot be stored"),
                "503": error_response("the database is unavailable; nothing was stored"),
            },
        }
    }


def openapi_document(
    *,
    secret_header: str = "X-Webhook-Secret",
    max_body_bytes: int = ShimSettings.model_fields["webhook_max_body_bytes"].default,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the routes a shim built with these settings serves."""
    paths: dict[str, Any] = {
        "/webhooks/label-studio": _webhook_path(secret_header, max_body_bytes),
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "Liveness with a database round trip",
                "responses": {
                    "200": json_response("the database answers", Health),
                    "503": error_response("the database is unavailable"),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics: requests, errors, latency, items, versions written, "
                "per-label quality gauges",
                "responses": {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": json_response("the OpenAPI 3.1 description of the shim")},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "nerloop webhook shim",
            "version": "1",
            "description": "Stores Label Studio annotations as versioned records in Postgres.",
        },
        "paths": paths,
        "components": {
            "schemas": component_schemas(document_models()),
            "securitySchemes": {"webhookSecret": {"type": "apiKey", "in": "header", "name": secret_header}},
        },
    }

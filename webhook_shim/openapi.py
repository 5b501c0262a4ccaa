"""The shim's OpenAPI 3.1 description, built from the pydantic models its routes validate with.

Request bodies of the webhook come from `include.label_studio.payloads` (the models `parse_event` applies):
each event model gets the actions `EVENT_MODELS` maps to it, and `AnyEvent` stands for every other action
(stored, then ignored). Responses are described by the small models below, so a fuzzer can check that
what the shim answers matches what this document promises.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from include.label_studio.payloads import EVENT_MODELS, AnyEvent
from include.settings import Settings

REF = "#/components/schemas/{model}"
JSON = "application/json"


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: a reason, sometimes with details (`fields`, `reason`, `limit_bytes`)."""

    model_config = ConfigDict(extra="allow")
    error: str


class WebhookOutcome(BaseModel):
    """What one stored event did (`EventOutcome.as_json`)."""

    event_id: int
    action: str
    outcome: str = Field(description="applied, duplicate, stale, unmatched, ignored or partial")
    counts: dict[str, int]
    versions_written: int
    unmatched: list[str]


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]


class PredictTaskData(BaseModel):
    model_config = ConfigDict(extra="allow")
    text: str


class PredictTask(BaseModel):
    model_config = ConfigDict(extra="allow")
    data: PredictTaskData


class PredictRequest(BaseModel):
    """What LS posts to an ML backend's /predict; only `tasks[*].data.text` is read."""

    model_config = ConfigDict(extra="allow")
    tasks: list[PredictTask]


class PredictionValue(BaseModel):
    start: int
    end: int
    text: str
    labels: list[str]


class PredictionItem(BaseModel):
    id: str
    from_name: str
    to_name: str
    type: Literal["labels"]
    value: PredictionValue
    score: float | None = None


class Prediction(BaseModel):
    result: list[PredictionItem]
    score: float
    model_version: str


class PredictResponse(BaseModel):
    results: list[Prediction]


class MlHealth(BaseModel):
    status: Literal["UP"]
    model_class: str
    model_version: str


class MlSetup(BaseModel):
    model_version: str


def _schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    """Validation-mode JSON Schemas of `models` and everything they reference, keyed by model name."""
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    return copy.deepcopy(top.get("$defs", {}))


def event_schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """(component schemas, the webhook body schema): one branch per event model, keyed by its actions."""
    actions: dict[str, list[str]] = {}
    for action, model in EVENT_MODELS.items():
        actions.setdefault(model.__name__, []).append(action)
    models: list[type[BaseModel]] = [*{m.__name__: m for m in EVENT_MODELS.values()}.values(), AnyEvent]
    schemas = _schemas(models)
    for name, names in actions.items():
        schemas[name]["properties"]["action"] = {"type": "string", "enum": names}
    other = schemas[AnyEvent.__name__]
    other["properties"]["action"] = {"type": "string", "minLength": 1, "not": {"enum": list(EVENT_MODELS)}}
    other["description"] = "Any other action: stored as received and answered with outcome `ignored`."
    body = {"anyOf": [{"$ref": REF.format(model=m.__name__)} for m in models]}
    return schemas, body


def _json(description: str, model: str | None = None) -> dict[str, Any]:
    schema = {"$ref": REF.format(model=model)} if model else {}
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(description, ErrorBody.__name__)


def _webhook_path(secret_header: str, max_body_bytes: int) -> dict[str, Any]:
    return {
        "post": {
            "operationId": "labelStudioWebhook",
            "summary": "Store one Label Studio webhook event; idempotent per delivery",
            "security": [{"webhookSecret": []}],
            "requestBody": {
                "required": True,
                "content": {JSON: {"schema": {"$ref": REF.format(model="WebhookEvent")}}},
            },
            "responses": {
                "200": _json("stored; `outcome` says what it changed", WebhookOutcome.__name__),
                "400": _error("the body is not JSON"),
                "401": _error(f"missing or wrong `{secret_header}` header"),
                "413": _error(f"the body is larger than {max_body_bytes} bytes"),
                "422": _error("the body does not match its action, or a value cannot be stored"),
                "503": _error("the database is unavailable; nothing was stored"),
            },
        }
    }


def _ml_paths() -> dict[str, Any]:
    unauthorized = _error("missing or wrong ML backend credentials (HTTP Basic, as LS sends them)")
    too_large = _error("the body, the number of tasks or a text is over its limit")
    auth: list[dict[str, list[str]]] = [{"mlBasicAuth": []}]
    return {
        "/ml/health": {
            "get": {
                "operationId": "mlHealth",
                "summary": "LS ML backend: health and served model version",
                "security": auth,
                "responses": {
                    "200": _json("the NER client is loaded", MlHealth.__name__),
                    "401": unauthorized,
                },
            }
        },
        "/ml/setup": {
            "post": {
                "operationId": "mlSetup",
                "summary": "LS ML backend: called when the backend is attached (body checked, not used)",
                "security": auth,
                "requestBody": {"required": False, "content": {JSON: {"schema": {"type": "object"}}}},
                "responses": {
                    "200": _json("the served model version", MlSetup.__name__),
                    "400": _error("the body is not JSON or nests too deep"),
                    "401": unauthorized,
                    "413": too_large,
                },
            }
        },
        "/ml/predict": {
            "post": {
                "operationId": "mlPredict",
                "summary": "LS ML backend: spans for each task's `data.text`, in task order",
                "security": auth,
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": {"$ref": REF.format(model=PredictRequest.__name__)}}},
                },
                "responses": {
                    "200": _json("one prediction per task", PredictResponse.__name__),
                    "400": _error("the body is not an object with a list `tasks`"),
                    "401": unauthorized,
                    "413": too_large,
                    "422": _error("a task has no string `data.text`"),
                },
            }
        },
    }


def openapi_document(
    *,
    secret_header: str = "X-Webhook-Secret",
    max_body_bytes: int = Settings.model_fields["webhook_max_body_bytes"].default,
    ml_backend: bool = False,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the routes a shim built with these settings serves."""
    schemas, webhook_body = event_schemas()
    responses: list[type[BaseModel]] = [ErrorBody, WebhookOutcome, Health]
    if ml_backend:
        responses += [PredictRequest, PredictResponse, MlHealth, MlSetup]
    schemas.update(_schemas(responses))
    schemas["WebhookEvent"] = {
        **webhook_body,
        "description": "A Label Studio webhook payload; the model is chosen by `action`.",
    }
    paths: dict[str, Any] = {
        "/webhooks/label-studio": _webhook_path(secret_header, max_body_bytes),
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "Liveness with a database round trip",
                "responses": {
                    "200": _json("the database answers", Health.__name__),
                    "503": _error("the database is unavailable"),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics: requests, errors, latency, items, versions written",
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
                "responses": {"200": _json("the OpenAPI 3.1 description of the shim")},
            }
        },
    }
    if ml_backend:
        paths.update(_ml_paths())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "nerloop webhook shim",
            "version": "1",
            "description": "Stores Label Studio annotations as versioned records in Postgres.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "webhookSecret": {"type": "apiKey", "in": "header", "name": secret_header},
                **({"mlBasicAuth": {"type": "http", "scheme": "basic"}} if ml_backend else {}),
            },
        },
    }

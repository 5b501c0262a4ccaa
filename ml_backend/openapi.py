"""The ML backend's OpenAPI 3.1 document, generated from the protocol's pydantic models
(`ml_backend.models`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ml_backend.models import MlHealth, MlSetup, PredictRequest, PredictResponse
from webhook_shim.openapi import JSON, ErrorBody, component_schemas, error_response, json_response, ref


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the ML backend's routes (LS's ML-backend protocol under /ml)."""
    unauthorized = error_response("missing or wrong ML backend credentials (HTTP Basic, as LS sends them)")
    too_large = error_response("the body, the number of tasks or a text is over its limit")
    auth: list[dict[str, list[str]]] = [{"mlBasicAuth": []}]
    paths: dict[str, Any] = {
        "/ml/health": {
            "get": {
                "operationId": "mlHealth",
                "summary": "LS ML backend: health and served model version",
                "security": auth,
                "responses": {
                    "200": json_response("the NER client is loaded", MlHealth),
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
                    "200": json_response("the served model version", MlSetup),
                    "400": error_response("the body is not JSON or nests too deep"),
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
                "requestBody": {"required": True, "content": {JSON: {"schema": ref(PredictRequest)}}},
                "responses": {
                    "200": json_response("one prediction per task", PredictResponse),
                    "400": error_response("the body is not an object with a list `tasks`"),
                    "401": unauthorized,
                    "413": too_large,
                    "422": error_response("a task has no string `data.text`"),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": json_response("the OpenAPI 3.1 description of the ML backend")},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "nerloop ML backend",
            "version": "1",
            "description": "Label Studio's ML backend protocol over the NER client the prelabel DAG uses.",
        },
        "paths": paths,
        "components": {
            "schemas": component_schemas(document_models()),
            "securitySchemes": {"mlBasicAuth": {"type": "http", "scheme": "basic"}},
        },
    }


def document_models() -> list[type[BaseModel]]:
    """Every model the document describes (bodies and answers)."""
    return [ErrorBody, PredictRequest, PredictResponse, MlHealth, MlSetup]

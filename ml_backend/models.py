"""The ML backend protocol's bodies as pydantic models: the routes answer through them, and the OpenAPI
document (`ml_backend.openapi`) is generated from them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


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
    """One span as an LS result item (`include.adapters.label_studio.tasks.prediction_result`)."""

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

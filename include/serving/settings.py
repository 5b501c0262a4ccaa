"""Serving settings (TRITON_*, MODEL_REPOSITORY*), read from the environment with defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from include.settings import PROJECT_ROOT


class ServingSettings(BaseSettings):
    """Where the model repository lives and how the local Triton server listens."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    state_dir: Path = Field(default=PROJECT_ROOT / ".state")
    model_repository: str | None = Field(default=None, description="local path or s3://bucket/prefix")
    model_repository_keep: int = Field(default=3, ge=1, description="version folders kept per model")
    triton_model_name: str = Field(default="ner")
    triton_flavour: Literal["onnxruntime", "python"] = Field(
        default="python", description="config.pbtxt kind"
    )
    triton_http_port: int = Field(default=8000)
    triton_grpc_port: int = Field(default=8001)
    triton_metrics_port: int = Field(default=8002)
    triton_intra_op_threads: int = Field(default=2, ge=1, description="ORT threads inside the python model")
    aws_endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint (tests, MinIO)")
    triton_repository_key: SecretStr | None = Field(
        default=None,
        description="x-nerloop-repository-key value for Triton's restricted model-control API",
    )

    @property
    def repository(self) -> str:
        return self.model_repository or str(self.state_dir / "model_repository")

    @property
    def triton_dir(self) -> Path:
        return self.state_dir / "triton"

"""NER client settings, read from the environment (NER_*, TRITON_*) with defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NerSettings(BaseSettings):
    """How the NER client finds its bundle and which backend it calls."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    ner_backend: Literal["onnxruntime", "triton"] = Field(default="onnxruntime")
    ner_bundle_dir: Path | None = Field(default=None, description="bundle folder: onnx/, tokenizer/")
    ner_batch_size: int = Field(default=16, ge=1, le=16, description="sequences per model call (8–16)")
    ner_max_length: int = Field(default=256, ge=8, description="tokens per window, specials included")
    ner_stride: int = Field(default=32, ge=0, description="tokens shared by neighbouring windows")
    ner_intra_op_threads: int = Field(default=2, ge=0, description="ONNX Runtime threads; 0 = ORT default")
    ner_warmup: bool = Field(default=True)
    ner_precision: Literal["auto", "int8", "fp32"] = Field(
        default="auto", description="auto: int8 on CPU when the bundle's int8 gate passed, fp32 on GPU"
    )

    triton_protocol: Literal["http", "grpc"] = Field(default="http", description="gRPC for bulk work")
    triton_url: str = Field(default="127.0.0.1:8000", description="Triton HTTP host:port")
    triton_grpc_url: str = Field(default="127.0.0.1:8001", description="Triton gRPC host:port")
    triton_concurrency: int = Field(default=1, ge=1, le=64, description="micro-batches in flight")
    triton_model_name: str = Field(default="ner", description="fp32 model; int8 is <name>_int8")
    triton_device: Literal["cpu", "gpu"] = Field(
        default="cpu", description="where Triton runs the model (NER_PRECISION=auto picks by it)"
    )
    triton_model_version: str = Field(default="", description="empty = the version Triton serves")
    triton_retries: int = Field(default=3, ge=0)
    triton_backoff_s: float = Field(default=0.25, gt=0)
    triton_timeout_s: float = Field(default=30.0, gt=0)

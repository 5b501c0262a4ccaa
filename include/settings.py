"""One settings module: every setting comes from the environment (prefix-free names), with defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Settings for every component. Each field reads the upper-case env var of its name."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    # Where local state lives (embedded Postgres data, logs, PIDs, model repository).
    state_dir: Path = Field(default=PROJECT_ROOT / ".state", description="project-local runtime folder")

    # Postgres: DATABASE_URL wins; otherwise the embedded server under state_dir.
    database_url: str | None = Field(default=None, description="postgresql:// URL of an external server")
    embedded_pg_port: int = Field(default=55432, description="port of the embedded Postgres on 127.0.0.1")
    db_name: str = Field(default="nerloop", description="database name on the embedded server")
    db_connect_timeout_s: int = Field(default=2, ge=1, description="libpq connect_timeout")
    db_statement_timeout_ms: int = Field(default=5000, ge=0, description="statement_timeout per session")

    # Webhook shim
    webhook_secret: SecretStr | None = Field(default=None, description="shared secret LS sends in a header")
    webhook_secret_header: str = Field(default="X-Webhook-Secret", description="header carrying the secret")
    webhook_max_body_bytes: int = Field(
        default=16_000_000,
        ge=1024,
        description="larger bodies get 413; LS 1.23 sends a 10,000-task import as one ~7 MB TASKS_CREATED",
    )
    webhook_db_timeout_ms: int = Field(default=200, ge=10, description="DB statement budget in the shim")
    webhook_db_timeout_per_item_ms: float = Field(
        default=2.0,
        ge=0,
        description="added to that budget, for a bulk event, per task/annotation or KB of body (the larger)",
    )
    webhook_synchronous_commit: Literal["on", "off"] = Field(
        default="on",
        description="off: no WAL flush wait per webhook; a Postgres crash may drop the last ~0.6 s of "
        "acknowledged webhooks, which the reconcile DAG restores from Label Studio",
    )
    shim_enable_bare_endpoint: bool = Field(default=False, description="POST /webhooks/bare for benchmarks")
    ml_backend_enabled: bool = Field(
        default=False, description="the demo starts the ML backend app (ml_backend/, LS's protocol on /ml)"
    )
    ml_backend_host: str = Field(default="127.0.0.1", description="where the ML backend app listens")
    ml_backend_port: int = Field(default=8082, description="its port; LS attaches http://<host>:<port>/ml")
    ml_backend_basic_auth_user: str | None = Field(
        default=None, description="HTTP Basic user LS sends to /ml (the model's Basic Auth in LS); required"
    )
    ml_backend_basic_auth_pass: SecretStr | None = Field(default=None, description="its password; required")
    ml_backend_max_tasks: int = Field(default=1000, ge=1, description="more tasks in one /ml/predict: 413")
    ml_backend_max_text_chars: int = Field(default=100_000, ge=1, description="a longer task text: 413")
    ml_backend_max_body_bytes: int = Field(default=4_000_000, ge=1024, description="larger /ml bodies: 413")
    triton_metrics_url: str | None = Field(
        default=None,
        description="host:port of Triton's metrics endpoint; the shim's /metrics then shows Triton's batches",
    )
    shim_host: str = Field(default="127.0.0.1")
    shim_port: int = Field(default=8081)
    canonical_field_map: dict[str, str] = Field(
        default={
            "DATE": "date",
            "MONEY": "money",
            "PHONE": "phone",
            "EMAIL": "email",
            "PERSON": "name",
            "ORG": "organisation",
            "LOCATION": "name",
        },
        description="NER label → canonical field kind (JSON in CANONICAL_FIELD_MAP)",
    )
    default_phone_region: str = Field(default="US", description="region for phones without a + prefix")

    # Label Studio
    label_studio_url: str = Field(default="http://127.0.0.1:8089")
    label_studio_token: SecretStr | None = Field(default=None, description="generated into .state if unset")
    label_studio_project: str = Field(default="NER prelabel", description="LS project title")
    ls_venv: Path = Field(default=PROJECT_ROOT / ".venv-ls", description="Label Studio's own virtualenv")
    ls_port: int = Field(default=8089)
    ls_username: str = Field(default="admin@example.com")
    label_studio_files_root: Path | None = Field(
        default=None,
        description="LS's LOCAL_FILES_DOCUMENT_ROOT as this host sees it: local inbox files link into LS",
    )
    ls_import_chunk_size: int = Field(default=100, ge=1, le=1000)
    ls_target_storage_uri: str | None = Field(
        default=None,
        description="folder, file:// or s3://bucket/prefix where LS writes each submitted task (its target "
        "storage); reconcile reads that copy when the LS API is unreachable",
    )

    # Airflow (the one-machine stack)
    airflow_port: int = Field(default=8080)

    # Object storage
    inbox_uri: str = Field(default=(PROJECT_ROOT / "samples").as_uri(), description="file:// or s3:// source")
    aws_endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint (tests, MinIO)")

    # Bulk tables on Spark (apps/spark-jobs): an Airflow Spark connection id turns it on; empty = pandas.
    spark_conn_id: str = Field(
        default="",
        validation_alias=AliasChoices("nerloop_spark_conn_id", "spark_conn_id"),
        description="Airflow connection of the Spark master (NERLOOP_SPARK_CONN_ID); empty = pandas",
    )
    spark_output_uri: str | None = Field(
        default=None, description="folder or s3a:// prefix for the job's Parquet, one subfolder per run"
    )
    spark_properties_file: Path = Field(
        default=PROJECT_ROOT / "apps" / "spark-jobs" / "conf" / "cpu.conf",
        description="spark-submit --properties-file (conf/rapids.conf on a GPU cluster)",
    )

    # Extraction limits per document (include/extract/limits.py): a breach fails that document alone.
    extract_max_file_bytes: int = Field(default=100 * 2**20, ge=1, description="larger files are not read")
    extract_max_pdf_pages: int = Field(default=500, ge=1, description="pages per PDF")
    extract_max_page_pixels: int = Field(
        default=20_000_000,
        ge=1_000_000,
        description="pixels of a PDF page at 72 dpi or of an image frame; renders scale down to fit",
    )
    extract_max_image_frames: int = Field(default=100, ge=1, description="frames (pages) per image file")
    extract_max_sheet_cells: int = Field(
        default=500_000, ge=1, description="cells a worksheet spans, merged and hyperlinked ranges included"
    )
    extract_max_records: int = Field(default=100_000, ge=1, description="records per document")
    extract_timeout_s: float = Field(default=300.0, gt=0, description="seconds per extraction (child killed)")
    extract_max_memory_bytes: int = Field(
        default=6 * 2**30, ge=256 * 2**20, description="address space (RLIMIT_AS) of the extraction process"
    )

    @property
    def spark_output_root(self) -> str:
        return self.spark_output_uri or str(self.state_dir / "spark-tables")

    @property
    def embedded_pg_dir(self) -> Path:
        return self.state_dir / "postgres"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()

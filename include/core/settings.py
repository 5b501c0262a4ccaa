"""The one settings object: `Settings`, in sections, every knob read from the environment.

Each section is a `BaseSettings` that reads the upper-case environment variable of each field's name (no
prefix: `DATABASE_URL`, `NER_BACKEND`, `EXTRACT_TIMEOUT_S`, ... as docker-compose.yaml, .env and the docs
name them; a few fields name their variable with a `validation_alias`). `Settings` itself reads nothing:
it builds its sections. Entry points (a DAG file or task, the shim's and the ML backend's `create_app`, the
CLI, a bench script) call `get_settings()` once and pass the object, or the section a callee needs, down.
Nothing else reads or writes `os.environ`; a child process gets its environment from `child_environment`.
docs/architecture.md ("Settings") says how to add a knob; tests/unit/test_settings.py fails for a knob
nothing reads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class _Section(BaseSettings):
    """A section: its fields read the environment variables of their names (case-insensitive)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)


class PathSettings(_Section):
    """Where local state lives (embedded Postgres data, logs, PIDs, bundles, the model repository)."""

    state_dir: Path = Field(default=PROJECT_ROOT / ".state", description="project-local runtime folder")


class DbSettings(_Section):
    """The Intelligence DB. DATABASE_URL wins; otherwise the embedded server under the state folder."""

    database_url: str | None = Field(default=None, description="postgresql:// URL of an external server")
    embedded_pg_port: int = Field(default=55432, description="port of the embedded Postgres on 127.0.0.1")
    db_name: str = Field(default="nerloop", description="database name on the embedded server")
    db_connect_timeout_s: int = Field(default=2, ge=1, description="libpq connect_timeout")
    db_statement_timeout_ms: int = Field(default=5000, ge=0, description="statement_timeout per session")
    nerloop_db_conn_id: str = Field(
        default="nerloop_db", description="Airflow connection of the DB for tasks; undefined = DATABASE_URL"
    )


class ShimSettings(_Section):
    """The webhook shim (webhook_shim/)."""

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
    triton_metrics_url: str | None = Field(
        default=None,
        description="host:port of Triton's metrics endpoint; the shim's /metrics then shows Triton's batches",
    )
    shim_host: str = Field(default="127.0.0.1")
    shim_port: int = Field(default=8081)
    # prometheus-client's own variable (its multiprocess mode reads it too); gunicorn.conf.py sets it.
    prometheus_multiproc_dir: Path | None = Field(
        default=None, description="gunicorn workers' shared metrics folder: /metrics sums the workers"
    )


class CanonicalSettings(_Section):
    """How annotated spans become canonical field values (the shim and reconcile apply the same rules)."""

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


class MlBackendSettings(_Section):
    """The ML backend app (ml_backend/, Label Studio's protocol on /ml)."""

    ml_backend_enabled: bool = Field(default=False, description="the demo starts the ML backend app")
    ml_backend_host: str = Field(default="127.0.0.1", description="where the ML backend app listens")
    ml_backend_port: int = Field(default=8082, description="its port; LS attaches http://<host>:<port>/ml")
    ml_backend_basic_auth_user: str | None = Field(
        default=None, description="HTTP Basic user LS sends to /ml (the model's Basic Auth in LS); required"
    )
    ml_backend_basic_auth_pass: SecretStr | None = Field(default=None, description="its password; required")
    ml_backend_max_tasks: int = Field(default=1000, ge=1, description="more tasks in one /ml/predict: 413")
    ml_backend_max_text_chars: int = Field(default=100_000, ge=1, description="a longer task text: 413")
    ml_backend_max_body_bytes: int = Field(default=4_000_000, ge=1024, description="larger /ml bodies: 413")


class LabelStudioSettings(_Section):
    """The Label Studio the pipeline talks to."""

    label_studio_url: str = Field(default="http://127.0.0.1:8089")
    label_studio_token: SecretStr | None = Field(default=None, description="generated into .state if unset")
    label_studio_project: str = Field(default="NER prelabel", description="LS project title")
    label_studio_files_root: Path | None = Field(
        default=None,
        description="LS's LOCAL_FILES_DOCUMENT_ROOT as this host sees it: local inbox files link into LS",
    )
    ls_import_chunk_size: int = Field(
        default=100, ge=1, le=1000, description="tasks per LS import call (the DAGs' chunk_size default)"
    )
    ls_target_storage_uri: str | None = Field(
        default=None,
        description="folder, file:// or s3://bucket/prefix where LS writes each submitted task (its target "
        "storage); reconcile reads that copy when the LS API is unreachable",
    )


class StoreSettings(_Section):
    """Object storage: the inbox, and S3 (endpoint, region, keys for Label Studio's S3 storages)."""

    inbox_uri: str = Field(default=(PROJECT_ROOT / "samples").as_uri(), description="file:// or s3:// source")
    aws_endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint (tests, MinIO)")
    aws_default_region: str | None = Field(default=None, description="region handed to LS's S3 storages")
    aws_access_key_id: SecretStr | None = Field(default=None, description="key handed to LS's S3 storages")
    aws_secret_access_key: SecretStr | None = Field(default=None, description="its secret")
    nerloop_aws_conn_id: str = Field(default="aws_default", description="Airflow connection of S3 for tasks")


class ExtractSettings(_Section):
    """Extraction limits per document (include/adapters/extract/limits.py): a breach fails that document
    alone."""

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
    docling_artifacts_path: Path | None = Field(
        default=None, description="Docling's model weights folder: PDFs get its full pipeline when it exists"
    )


class SparkSettings(_Section):
    """Bulk tables on Spark (apps/spark-jobs): an Airflow Spark connection id turns it on; empty = pandas."""

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


class NerSettings(_Section):
    """How the NER client finds its bundle and which backend (and Triton model) it calls."""

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
    # The one home of the model's name: the client calls it, releases publish under it (serving).
    triton_model_name: str = Field(default="ner", description="fp32 model; int8 is <name>_int8")
    triton_device: Literal["cpu", "gpu"] = Field(
        default="cpu", description="where Triton runs the model (NER_PRECISION=auto picks by it)"
    )
    triton_model_version: str = Field(default="", description="empty = the version Triton serves")
    triton_retries: int = Field(default=3, ge=0)
    triton_backoff_s: float = Field(default=0.25, gt=0)
    triton_timeout_s: float = Field(default=30.0, gt=0)


class ServingSettings(_Section):
    """Where the model repository lives and how the local Triton server listens."""

    model_repository: str | None = Field(
        default=None, description="local path or s3://bucket/prefix; unset = <state>/model_repository"
    )
    model_repository_keep: int = Field(default=3, ge=1, description="version folders kept per model")
    triton_flavour: Literal["onnxruntime", "python"] = Field(
        default="python", description="config.pbtxt kind"
    )
    triton_http_port: int = Field(default=8000)
    triton_grpc_port: int = Field(default=8001)
    triton_metrics_port: int = Field(default=8002)
    triton_intra_op_threads: int = Field(
        default=2,
        ge=1,
        description="ORT threads inside the python model (its config's intra_op_thread_count)",
    )
    triton_repository_key: SecretStr | None = Field(
        default=None,
        description="x-nerloop-repository-key value for Triton's restricted model-control API",
    )


class TrainingSettings(_Section):
    """Training inputs."""

    wnut17_dir: Path | None = Field(default=None, description="WNUT-17 files; unset = include/data/wnut17")


class StackSettings(_Section):
    """The one-machine dev stack (`make demo`): its own servers, and secrets it otherwise generates."""

    ls_venv: Path = Field(default=PROJECT_ROOT / ".venv-ls", description="Label Studio's own virtualenv")
    ls_port: int = Field(default=8089)
    ls_username: str = Field(default="admin@example.com")
    airflow_port: int = Field(default=8080)
    airflow_home: Path | None = Field(default=None, description="unset = <state>/airflow")
    airflow_config: Path | None = Field(default=None, description="unset = the project's airflow.cfg")
    airflow_sql_alchemy_conn: str | None = Field(
        default=None,
        validation_alias="airflow__database__sql_alchemy_conn",
        description="Airflow's metadata DB; unset = the embedded server's `airflow` database",
    )
    airflow_users: str | None = Field(
        default=None,
        validation_alias="airflow__core__simple_auth_manager_users",
        description="an operator's own Airflow users (then also their passwords file); unset = admin",
    )
    airflow_passwords_file: Path | None = Field(
        default=None,
        validation_alias="airflow__core__simple_auth_manager_passwords_file",
        description="an operator's own Airflow passwords file",
    )
    # Secrets: from the environment, else generated once into <state>/secrets.json (devstack/stack.py).
    label_studio_password: SecretStr | None = Field(default=None)
    airflow_jwt_secret: SecretStr | None = Field(
        default=None, validation_alias="airflow__api_auth__jwt_secret", description="Airflow's JWT secret"
    )
    airflow_admin_password: SecretStr | None = Field(default=None)
    embedded_pg_password: SecretStr | None = Field(default=None)


class Settings(BaseModel):
    """Settings for every component, one section each. Reads nothing itself: each section reads its own
    variables when `Settings()` builds it; a test passes its own (`Settings(ner=NerSettings(...))`)."""

    model_config = ConfigDict(frozen=True)

    paths: PathSettings = Field(default_factory=PathSettings)
    db: DbSettings = Field(default_factory=DbSettings)
    shim: ShimSettings = Field(default_factory=ShimSettings)
    canonical: CanonicalSettings = Field(default_factory=CanonicalSettings)
    ml_backend: MlBackendSettings = Field(default_factory=MlBackendSettings)
    label_studio: LabelStudioSettings = Field(default_factory=LabelStudioSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    extract: ExtractSettings = Field(default_factory=ExtractSettings)
    spark: SparkSettings = Field(default_factory=SparkSettings)
    ner: NerSettings = Field(default_factory=NerSettings)
    serving: ServingSettings = Field(default_factory=ServingSettings)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    stack: StackSettings = Field(default_factory=StackSettings)

    # Derived from the state folder and a section's knob.
    @property
    def embedded_pg_dir(self) -> Path:
        return self.paths.state_dir / "postgres"

    @property
    def spark_output_root(self) -> str:
        return self.spark.spark_output_uri or str(self.paths.state_dir / "spark-tables")

    @property
    def model_repository_root(self) -> str:
        """MODEL_REPOSITORY, else `<state>/model_repository`."""
        return self.serving.model_repository or str(self.paths.state_dir / "model_repository")

    @property
    def triton_dir(self) -> Path:
        return self.paths.state_dir / "triton"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()


def child_environment(
    overrides: Mapping[str, str] | None = None, *, drop_prefixes: tuple[str, ...] = ()
) -> dict[str, str]:
    """The environment a child process starts with: this process's (less the variables starting with
    `drop_prefixes`), then `overrides`. The one place besides the sections that reads `os.environ`."""
    env = {k: v for k, v in os.environ.items() if not (drop_prefixes and k.startswith(drop_prefixes))}
    env.update(overrides or {})
    return env


def env_names() -> set[str]:
    """Every environment variable a section reads (upper case): field names, or their aliases."""
    from pydantic import AliasChoices

    names: set[str] = set()
    for info in Settings.model_fields.values():
        assert info.default_factory is not None
        for name, field in info.default_factory.model_fields.items():  # type: ignore[union-attr]
            alias = field.validation_alias
            if isinstance(alias, AliasChoices):
                names.update(str(choice).upper() for choice in alias.choices)
            else:
                names.add(str(alias or name).upper())
    return names

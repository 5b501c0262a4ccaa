"""The one-machine stack behind `make demo` / `make down` / `make status`: each part started once, by PID.

Everything listens on 127.0.0.1 and lives under the state folder; secrets are generated once into
`<state>/secrets.json` (mode 600) unless the environment provides them — among them the embedded Postgres's
superuser password (DATABASE_URL carries it) and the Airflow admin's (the UI and the quality pages need a
login).

Label Studio serves local files from `<state>/files` only (the inbox and its pages, LS's target copies),
never from the state folder.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from include.bundle.layout import BundleLayout
from include.ner.settings import NerSettings
from include.services.airflow import AirflowServer
from include.services.airflow_users import PASSWORDS_FILE_ENV, USERS_ENV, parse_users, write_passwords_file
from include.services.embedded_postgres import EmbeddedPostgres
from include.services.label_studio import LabelStudioServer
from include.services.ml_backend import MlBackendServer
from include.services.process import ManagedProcess, ServiceError
from include.services.shim import ShimServer
from include.services.triton import TritonServer
from include.serving.settings import ServingSettings
from include.settings import PROJECT_ROOT, Settings, get_settings

DEMO_AIRFLOW_USERS = "admin:admin"


def stack_secrets(s: Settings) -> dict[str, str]:
    """Webhook secret, LS password and token, Airflow's JWT secret and admin password, the embedded
    Postgres's password: from the environment, else generated once and kept."""
    path = s.state_dir / "secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    values = {
        "webhook_secret": s.webhook_secret.get_secret_value() if s.webhook_secret else None,
        "label_studio_token": s.label_studio_token.get_secret_value() if s.label_studio_token else None,
        "label_studio_password": os.environ.get("LABEL_STUDIO_PASSWORD"),
        "airflow_secret": os.environ.get("AIRFLOW__API_AUTH__JWT_SECRET"),
        "airflow_admin_password": os.environ.get("AIRFLOW_ADMIN_PASSWORD"),
        "postgres_password": os.environ.get("EMBEDDED_PG_PASSWORD"),
        "ml_backend_password": (
            s.ml_backend_basic_auth_pass.get_secret_value() if s.ml_backend_basic_auth_pass else None
        ),
    }
    generated = {
        "webhook_secret": secrets.token_urlsafe(24),
        "label_studio_token": secrets.token_hex(20),
        "label_studio_password": secrets.token_urlsafe(12),
        "airflow_secret": secrets.token_urlsafe(32),
        "airflow_admin_password": secrets.token_urlsafe(18),
        "postgres_password": secrets.token_urlsafe(24),
        "ml_backend_password": secrets.token_urlsafe(24),
    }
    out = {k: v or stored.get(k) or generated[k] for k, v in values.items()}
    if out != stored:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created 600, not chmod-ed after writing: never readable by others, not even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(json.dumps(out, indent=2))
        path.chmod(0o600)
    return out


@dataclass(frozen=True)
class Stack:
    settings: Settings
    secrets: dict[str, str]

    @classmethod
    def from_env(cls) -> Stack:
        s = get_settings()
        return cls(settings=s, secrets=stack_secrets(s))

    @property
    def run_dir(self) -> Path:
        return self.settings.state_dir / "run"

    @property
    def postgres(self) -> EmbeddedPostgres:
        return EmbeddedPostgres(
            root=self.settings.embedded_pg_dir,
            port=self.settings.embedded_pg_port,
            password=self.secrets["postgres_password"],
        )

    def database_url(self) -> str:
        return self.settings.database_url or self.postgres.url(self.settings.db_name)

    @property
    def label_studio(self) -> LabelStudioServer:
        s = self.settings
        return LabelStudioServer(
            venv=s.ls_venv,
            root=s.state_dir / "label-studio",
            port=s.ls_port,
            username=s.ls_username,
            password=self.secrets["label_studio_password"],
            token=self.secrets["label_studio_token"],
            files_root=self.ls_files_root,
        )

    @property
    def ls_files_root(self) -> Path:
        """LS's LOCAL_FILES_DOCUMENT_ROOT: `<state>/files`, holding the inbox (its files and their rendered
        pages, served to SMEs) and LS's target copies — never the state folder itself, whose secrets,
        Postgres data and LS database any LS user could otherwise reach through a local storage."""
        return self.settings.label_studio_files_root or self.settings.state_dir / "files"

    def check_ls_files_root(self) -> None:
        """Refuse a document root that holds the state folder (secrets.json, Postgres, LS's database)."""
        root, state = self.ls_files_root.resolve(), self.settings.state_dir.resolve()
        if state.is_relative_to(root):
            raise ServiceError(
                f"label-studio: LABEL_STUDIO_FILES_ROOT {root} holds the state folder {state} (secrets, "
                "databases): LS would serve them; point it at a folder that holds only the inbox"
            )

    @property
    def ls_target_dir(self) -> Path:
        """Where LS writes each submitted task (its target storage): under its document root, as LS needs."""
        return self.ls_files_root / "label-studio-target"

    @property
    def shim(self) -> ShimServer:
        s = self.settings
        return ShimServer(
            run_dir=self.run_dir,
            port=s.shim_port,
            database_url=self.database_url(),
            secret=self.secrets["webhook_secret"],
            host=s.shim_host,
        )

    @property
    def ml_backend(self) -> MlBackendServer:
        """LS's ML backend, its own process on its own port (started by the demo with ML_BACKEND_ENABLED)."""
        s = self.settings
        return MlBackendServer(
            run_dir=self.run_dir,
            port=s.ml_backend_port,
            basic_auth_user=s.ml_backend_basic_auth_user or "label-studio",
            basic_auth_pass=self.secrets["ml_backend_password"],
            host=s.ml_backend_host,
        )

    @property
    def bundles_root(self) -> Path:
        return BundleLayout.from_state_dir(self.settings.state_dir).root

    @property
    def inbox(self) -> Path:
        """The demo's inbox: LS's local storage of the project, inside LS's document root."""
        return self.ls_files_root / "inbox"

    @property
    def triton(self) -> TritonServer:
        return TritonServer.from_settings(ServingSettings(state_dir=self.settings.state_dir))

    def airflow_database_url(self) -> str:
        explicit = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
        if explicit:
            return explicit
        if self.settings.database_url:
            return f"sqlite:///{self.settings.state_dir / 'airflow' / 'airflow.db'}"
        return self.postgres.url("airflow").replace("postgresql://", "postgresql+psycopg2://")

    @property
    def airflow_passwords_file(self) -> Path:
        """Airflow's passwords file for the demo's login (mode 600, beside its metadata)."""
        return self.settings.state_dir / "airflow" / "passwords.json"

    def write_airflow_passwords(self) -> None:
        """The demo's login: `admin`, its password kept in secrets.json (unless the environment names its
        own users or passwords file, which it then manages)."""
        if USERS_ENV in os.environ or PASSWORDS_FILE_ENV in os.environ:
            return
        users = parse_users(DEMO_AIRFLOW_USERS)
        write_passwords_file(
            self.airflow_passwords_file, users, {"admin": self.secrets["airflow_admin_password"]}
        )

    def airflow_env(self) -> dict[str, str]:
        """What every Airflow process and `airflow dags test` of the demo needs, on top of os.environ."""
        s, ner = self.settings, NerSettings()
        triton = self.triton
        return {
            **os.environ,
            "NERLOOP_HOME": str(PROJECT_ROOT),
            "PYTHONPATH": str(PROJECT_ROOT),
            "STATE_DIR": str(s.state_dir),
            "AIRFLOW_HOME": os.environ.get("AIRFLOW_HOME", str(s.state_dir / "airflow")),
            "AIRFLOW_CONFIG": os.environ.get("AIRFLOW_CONFIG", str(PROJECT_ROOT / "airflow.cfg")),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.airflow_database_url(),
            "AIRFLOW__API_AUTH__JWT_SECRET": self.secrets["airflow_secret"],
            "AIRFLOW__API__SECRET_KEY": self.secrets["airflow_secret"],
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{s.airflow_port}/execution/",
            # Logins, as in production: the UI and the quality pages answer 401 without one.
            USERS_ENV: os.environ.get(USERS_ENV, DEMO_AIRFLOW_USERS),
            PASSWORDS_FILE_ENV: os.environ.get(PASSWORDS_FILE_ENV, str(self.airflow_passwords_file)),
            "AIRFLOW_CONN_NERLOOP_DB": self.database_url(),
            "DATABASE_URL": self.database_url(),
            "LABEL_STUDIO_URL": self.label_studio.url,
            "LABEL_STUDIO_TOKEN": self.secrets["label_studio_token"],
            "LABEL_STUDIO_PROJECT": s.label_studio_project,
            "LABEL_STUDIO_FILES_ROOT": str(self.ls_files_root),
            "INBOX_URI": os.environ.get("INBOX_URI", self.inbox.as_uri()),
            "LS_TARGET_STORAGE_URI": os.environ.get("LS_TARGET_STORAGE_URI", self.ls_target_dir.as_uri()),
            "NER_BACKEND": ner.ner_backend,
            "NER_BUNDLE_DIR": str(ner.ner_bundle_dir or BundleLayout(self.bundles_root).current_link),
            "TRITON_URL": f"{triton.host}:{triton.http_port}",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }

    @property
    def airflow(self) -> AirflowServer:
        return AirflowServer(run_dir=self.run_dir, env=self.airflow_env(), port=self.settings.airflow_port)

    def processes(self) -> dict[str, ManagedProcess]:
        """Every background process of the stack, in start order (stopped in reverse)."""
        return {
            "webhook-shim": self.shim.process,
            "ml-backend": self.ml_backend.process,
            "label-studio": self.label_studio.process,
            "triton": self.triton.process,
            **self.airflow.processes(),
        }

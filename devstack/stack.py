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
from dataclasses import dataclass, replace
from pathlib import Path

from pydantic import SecretStr

from devstack.services.airflow import AirflowServer
from devstack.services.embedded_postgres import EmbeddedPostgres
from devstack.services.label_studio import LabelStudioServer
from devstack.services.ml_backend import MlBackendServer
from devstack.services.process import ManagedProcess, ServiceError
from devstack.services.shim import ShimServer
from devstack.services.triton import TritonServer
from include.adapters.airflow_users import PASSWORDS_FILE_ENV, USERS_ENV, parse_users, write_passwords_file
from include.core.bundle.layout import BundleLayout
from include.core.settings import PROJECT_ROOT, Settings, child_environment, get_settings

DEMO_AIRFLOW_USERS = "admin:admin"


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


def stack_secrets(s: Settings) -> dict[str, str]:
    """Webhook secret, LS password and token, Airflow's JWT secret and admin password, the embedded
    Postgres's password: from the environment, else generated once and kept."""
    path = s.paths.state_dir / "secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    values = {
        "webhook_secret": _secret(s.shim.webhook_secret),
        "label_studio_token": _secret(s.label_studio.label_studio_token),
        "label_studio_password": _secret(s.stack.label_studio_password),
        "airflow_secret": _secret(s.stack.airflow_jwt_secret),
        "airflow_admin_password": _secret(s.stack.airflow_admin_password),
        "postgres_password": _secret(s.stack.embedded_pg_password),
        "ml_backend_password": _secret(s.ml_backend.ml_backend_basic_auth_pass),
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

    def serving_through_triton(self) -> Stack:
        """This stack with NER_BACKEND=triton unless the environment names a backend (the demo's way)."""
        ner = self.settings.ner
        if "ner_backend" in ner.model_fields_set:
            return self
        triton = ner.model_copy(update={"ner_backend": "triton"})
        return replace(self, settings=self.settings.model_copy(update={"ner": triton}))

    @property
    def run_dir(self) -> Path:
        return self.settings.paths.state_dir / "run"

    @property
    def postgres(self) -> EmbeddedPostgres:
        return EmbeddedPostgres(
            root=self.settings.embedded_pg_dir,
            port=self.settings.db.embedded_pg_port,
            password=self.secrets["postgres_password"],
        )

    def database_url(self) -> str:
        return self.settings.db.database_url or self.postgres.url(self.settings.db.db_name)

    @property
    def label_studio(self) -> LabelStudioServer:
        s = self.settings
        return LabelStudioServer(
            venv=s.stack.ls_venv,
            root=s.paths.state_dir / "label-studio",
            port=s.stack.ls_port,
            username=s.stack.ls_username,
            password=self.secrets["label_studio_password"],
            token=self.secrets["label_studio_token"],
            files_root=self.ls_files_root,
        )

    @property
    def ls_files_root(self) -> Path:
        """LS's LOCAL_FILES_DOCUMENT_ROOT: `<state>/files`, holding the inbox (its files and their rendered
        pages, served to SMEs) and LS's target copies — never the state folder itself, whose secrets,
        Postgres data and LS database any LS user could otherwise reach through a local storage."""
        return self.settings.label_studio.label_studio_files_root or self.settings.paths.state_dir / "files"

    def check_ls_files_root(self) -> None:
        """Refuse a document root that holds the state folder (secrets.json, Postgres, LS's database)."""
        root, state = self.ls_files_root.resolve(), self.settings.paths.state_dir.resolve()
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
            port=s.shim.shim_port,
            database_url=self.database_url(),
            secret=self.secrets["webhook_secret"],
            host=s.shim.shim_host,
        )

    @property
    def ml_backend(self) -> MlBackendServer:
        """LS's ML backend, its own process on its own port (started by the demo with ML_BACKEND_ENABLED)."""
        s = self.settings
        return MlBackendServer(
            run_dir=self.run_dir,
            port=s.ml_backend.ml_backend_port,
            basic_auth_user=s.ml_backend.ml_backend_basic_auth_user or "label-studio",
            basic_auth_pass=self.secrets["ml_backend_password"],
            host=s.ml_backend.ml_backend_host,
        )

    @property
    def bundles_root(self) -> Path:
        return BundleLayout.from_state_dir(self.settings.paths.state_dir).root

    @property
    def inbox(self) -> Path:
        """The demo's inbox: LS's local storage of the project, inside LS's document root."""
        return self.ls_files_root / "inbox"

    @property
    def triton(self) -> TritonServer:
        return TritonServer.from_settings(self.settings)

    def airflow_database_url(self) -> str:
        explicit = self.settings.stack.airflow_sql_alchemy_conn
        if explicit:
            return explicit
        if self.settings.db.database_url:
            return f"sqlite:///{self.settings.paths.state_dir / 'airflow' / 'airflow.db'}"
        return self.postgres.url("airflow").replace("postgresql://", "postgresql+psycopg2://")

    @property
    def airflow_passwords_file(self) -> Path:
        """Airflow's passwords file for the demo's login (mode 600, beside its metadata)."""
        return self.settings.paths.state_dir / "airflow" / "passwords.json"

    def write_airflow_passwords(self) -> None:
        """The demo's login: `admin`, its password kept in secrets.json (unless the environment names its
        own users or passwords file, which it then manages)."""
        if (
            self.settings.stack.airflow_users is not None
            or self.settings.stack.airflow_passwords_file is not None
        ):
            return
        users = parse_users(DEMO_AIRFLOW_USERS)
        write_passwords_file(
            self.airflow_passwords_file, users, {"admin": self.secrets["airflow_admin_password"]}
        )

    def airflow_env(self) -> dict[str, str]:
        """What every Airflow process and `airflow dags test` of the demo needs, on top of ours."""
        s = self.settings
        triton = self.triton
        # INBOX_URI when the environment names one, else the demo's inbox.
        inbox = s.store.inbox_uri if "inbox_uri" in s.store.model_fields_set else self.inbox.as_uri()
        return child_environment(
            {
                "NERLOOP_HOME": str(PROJECT_ROOT),
                "PYTHONPATH": str(PROJECT_ROOT),
                "STATE_DIR": str(s.paths.state_dir),
                "AIRFLOW_HOME": str(s.stack.airflow_home or s.paths.state_dir / "airflow"),
                "AIRFLOW_CONFIG": str(s.stack.airflow_config or PROJECT_ROOT / "airflow.cfg"),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.airflow_database_url(),
                "AIRFLOW__API_AUTH__JWT_SECRET": self.secrets["airflow_secret"],
                "AIRFLOW__API__SECRET_KEY": self.secrets["airflow_secret"],
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{s.stack.airflow_port}/execution/",
                # Logins, as in production: the UI and the quality pages answer 401 without one.
                USERS_ENV: s.stack.airflow_users or DEMO_AIRFLOW_USERS,
                PASSWORDS_FILE_ENV: str(s.stack.airflow_passwords_file or self.airflow_passwords_file),
                "AIRFLOW_CONN_NERLOOP_DB": self.database_url(),
                "DATABASE_URL": self.database_url(),
                "LABEL_STUDIO_URL": self.label_studio.url,
                "LABEL_STUDIO_TOKEN": self.secrets["label_studio_token"],
                "LABEL_STUDIO_PROJECT": s.label_studio.label_studio_project,
                "LABEL_STUDIO_FILES_ROOT": str(self.ls_files_root),
                "INBOX_URI": inbox,
                "LS_TARGET_STORAGE_URI": s.label_studio.ls_target_storage_uri or self.ls_target_dir.as_uri(),
                "NER_BACKEND": s.ner.ner_backend,
                "NER_BUNDLE_DIR": str(s.ner.ner_bundle_dir or BundleLayout(self.bundles_root).current_link),
                "TRITON_URL": f"{triton.host}:{triton.http_port}",
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
            }
        )

    @property
    def airflow(self) -> AirflowServer:
        return AirflowServer(
            run_dir=self.run_dir, env=self.airflow_env(), port=self.settings.stack.airflow_port
        )

    def processes(self) -> dict[str, ManagedProcess]:
        """Every background process of the stack, in start order (stopped in reverse)."""
        return {
            "webhook-shim": self.shim.process,
            "ml-backend": self.ml_backend.process,
            "label-studio": self.label_studio.process,
            "triton": self.triton.process,
            **self.airflow.processes(),
        }

"""The one-machine stack behind `make demo` / `make down` / `make status`: each part started once, by PID.

Everything listens on 127.0.0.1 and lives under the state folder; secrets are generated once into
`<state>/secrets.json` (mode 600) unless the environment provides them.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from include.services.embedded_postgres import EmbeddedPostgres
from include.services.label_studio import LabelStudioServer
from include.services.process import ManagedProcess
from include.services.shim import ShimServer
from include.settings import Settings, get_settings


def stack_secrets(s: Settings) -> dict[str, str]:
    """Webhook secret, LS password and token: from the environment, else generated once and kept."""
    path = s.state_dir / "secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    values = {
        "webhook_secret": s.webhook_secret.get_secret_value() if s.webhook_secret else None,
        "label_studio_token": s.label_studio_token.get_secret_value() if s.label_studio_token else None,
        "label_studio_password": os.environ.get("LABEL_STUDIO_PASSWORD"),
    }
    generated = {
        "webhook_secret": secrets.token_urlsafe(24),
        "label_studio_token": secrets.token_hex(20),
        "label_studio_password": secrets.token_urlsafe(12),
    }
    out = {k: v or stored.get(k) or generated[k] for k, v in values.items()}
    if out != stored:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=2))
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
        return EmbeddedPostgres(root=self.settings.embedded_pg_dir, port=self.settings.embedded_pg_port)

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
        )

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

    def processes(self) -> dict[str, ManagedProcess]:
        return {"label-studio": self.label_studio.process, "webhook-shim": self.shim.process}

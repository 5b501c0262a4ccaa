"""The ML backend (Label Studio's ML-backend protocol, `ml_backend/`) under its own gunicorn, as a managed
background process beside the webhook shim."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from devstack.services.process import ManagedProcess, ServiceError, port_in_use, wait_http_ok
from include.core.settings import PROJECT_ROOT, child_environment


@dataclass(frozen=True)
class MlBackendServer:
    run_dir: Path
    port: int
    basic_auth_user: str
    basic_auth_pass: str
    host: str = "127.0.0.1"
    workers: int = 1

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ml_url(self) -> str:
        """What LS attaches as the project's model (Settings → Model), with Basic Auth."""
        return f"{self.url}/ml"

    @property
    def process(self) -> ManagedProcess:
        return ManagedProcess("ml-backend", self.run_dir)

    def start(self, extra_env: dict[str, str] | None = None, timeout_s: float = 30) -> None:
        if self.process.pid() is None and port_in_use(self.port, self.host):
            raise ServiceError(
                f"ml-backend: port {self.host}:{self.port} is already taken; set ML_BACKEND_PORT"
            )
        env = child_environment(
            {
                "PYTHONPATH": str(PROJECT_ROOT),
                "ML_BACKEND_HOST": self.host,
                "ML_BACKEND_PORT": str(self.port),
                "ML_BACKEND_WORKERS": str(self.workers),
                "ML_BACKEND_BASIC_AUTH_USER": self.basic_auth_user,
                "ML_BACKEND_BASIC_AUTH_PASS": self.basic_auth_pass,
                **(extra_env or {}),
            }
        )
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.process.start(
            [
                str(gunicorn),
                "-c",
                str(PROJECT_ROOT / "ml_backend" / "gunicorn.conf.py"),
                "ml_backend.wsgi:app",
            ],
            env=env,
            cwd=PROJECT_ROOT,
        )
        # /openapi.json needs no credentials and loads no model: the process is up and serving.
        wait_http_ok(f"{self.url}/openapi.json", timeout_s=timeout_s, process=self.process)

    def stop(self) -> bool:
        return self.process.stop()

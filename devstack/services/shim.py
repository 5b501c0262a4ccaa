"""The webhook shim under gunicorn, as a managed background process."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from devstack.services.process import ManagedProcess, ServiceError, port_in_use, wait_http_ok
from include.core.settings import PROJECT_ROOT, child_environment


@dataclass(frozen=True)
class ShimServer:
    run_dir: Path
    port: int
    database_url: str
    secret: str
    host: str = "127.0.0.1"
    workers: int = 2

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/webhooks/label-studio"

    @property
    def process(self) -> ManagedProcess:
        return ManagedProcess("webhook-shim", self.run_dir)

    def start(self, extra_env: dict[str, str] | None = None, timeout_s: float = 30) -> None:
        if self.process.pid() is None and port_in_use(self.port, self.host):
            raise ServiceError(f"webhook-shim: port {self.host}:{self.port} is already taken; set SHIM_PORT")
        metrics_dir = self.run_dir / "shim-metrics"
        metrics_dir.mkdir(parents=True, exist_ok=True)
        env = child_environment(
            {
                "PYTHONPATH": str(PROJECT_ROOT),
                "DATABASE_URL": self.database_url,
                "WEBHOOK_SECRET": self.secret,
                "SHIM_HOST": self.host,
                "SHIM_PORT": str(self.port),
                "SHIM_WORKERS": str(self.workers),
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
                **(extra_env or {}),
            }
        )
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.process.start(
            [
                str(gunicorn),
                "-c",
                str(PROJECT_ROOT / "webhook_shim" / "gunicorn.conf.py"),
                "webhook_shim.wsgi:app",
            ],
            env=env,
            cwd=PROJECT_ROOT,
        )
        wait_http_ok(f"{self.url}/healthz", timeout_s=timeout_s, process=self.process)

    def stop(self) -> bool:
        return self.process.stop()

"""Airflow 3 on one machine: api-server (UI), scheduler, dag-processor and triggerer as managed processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from devstack.services.process import ManagedProcess, ServiceError, port_in_use, wait_http_ok

COMPONENTS = ("dag-processor", "scheduler", "triggerer", "api-server")


@dataclass(frozen=True)
class AirflowServer:
    run_dir: Path
    env: Mapping[str, str]
    port: int = 8080
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def binary(self) -> str:
        return str(Path(sys.executable).parent / "airflow")

    def processes(self) -> dict[str, ManagedProcess]:
        return {name: ManagedProcess(f"airflow-{name}", self.run_dir) for name in COMPONENTS}

    def cli(self, *args: str, timeout_s: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.binary, *args],
            env=dict(self.env),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def migrate(self) -> None:
        res = self.cli("db", "migrate", timeout_s=300)
        if res.returncode != 0:
            raise ServiceError(f"airflow: db migrate failed:\n{(res.stdout + res.stderr)[-2000:]}")

    def unpause(self, dag_ids: Sequence[str]) -> dict[str, str]:
        """Unpause DAGs so their schedules run (parsing the DAG folder into the metadata DB first);
        per DAG, "unpaused" or why not."""
        parsed = self.cli("dags", "reserialize", timeout_s=600)
        if parsed.returncode != 0:
            reason = (parsed.stdout + parsed.stderr).strip().splitlines()[-1:] or ["dags reserialize failed"]
            return {dag_id: reason[0][:300] for dag_id in dag_ids}
        out = {}
        for dag_id in dag_ids:
            res = self.cli("dags", "unpause", dag_id, "-y", timeout_s=120)
            lines = (res.stdout + res.stderr).strip().splitlines()
            out[dag_id] = "unpaused" if res.returncode == 0 else (lines[-1] if lines else "failed")[:300]
        return out

    def start(self, timeout_s: float = 120) -> None:
        """Migrate the metadata DB, then start each component once; wait for the UI's health."""
        procs = self.processes()
        if procs["api-server"].pid() is None and port_in_use(self.port, self.host):
            raise ServiceError(f"airflow: port {self.host}:{self.port} is already taken; set AIRFLOW_PORT")
        self.migrate()
        for name, process in procs.items():
            argv = [self.binary, name]
            if name == "api-server":
                argv += ["--host", self.host, "--port", str(self.port)]
            process.start(argv, env=self.env)
        wait_http_ok(f"{self.url}/api/v2/monitor/health", timeout_s=timeout_s, process=procs["api-server"])

    def stop(self) -> list[str]:
        return [name for name, process in reversed(list(self.processes().items())) if process.stop()]

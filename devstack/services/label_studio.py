"""The real Label Studio, from its own virtualenv, on 127.0.0.1 with SQLite under the state folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devstack.services.process import ManagedProcess, ServiceError, port_in_use, wait_http_ok
from include.core.settings import child_environment


@dataclass(frozen=True)
class LabelStudioServer:
    venv: Path
    root: Path
    port: int
    username: str
    password: str
    token: str
    host: str = "127.0.0.1"
    # LS's LOCAL_FILES_DOCUMENT_ROOT: local storages (the inbox, target copies) must lie under it, and
    # any LS user who may add a storage can read what it holds: source files only, never state or secrets.
    files_root: Path | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def document_root(self) -> Path:
        return (self.files_root or self.root / "files").absolute()

    @property
    def process(self) -> ManagedProcess:
        return ManagedProcess("label-studio", self.root)

    def env(self) -> dict[str, str]:
        env = child_environment(drop_prefixes=("DJANGO", "LABEL_STUDIO"))
        env.update(
            HOME=str(self.root / "home"),
            LABEL_STUDIO_BASE_DATA_DIR=str(self.root / "data"),
            LABEL_STUDIO_USERNAME=self.username,
            LABEL_STUDIO_PASSWORD=self.password,
            LABEL_STUDIO_USER_TOKEN=self.token,
            LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
            LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true",
            LOCAL_FILES_SERVING_ENABLED="true",
            LOCAL_FILES_DOCUMENT_ROOT=str(self.document_root),
            # Target storages get each task with its annotations (what reconcile reads), not bare annotations.
            FUTURE_SAVE_TASK_TO_STORAGE="true",
            # Webhooks go to the shim on loopback, which LS's SSRF guard refuses by default.
            SSRF_PROTECTION_ENABLED="false",
            # So does the ML backend (127.0.0.1:8082/ml), which LS refuses on loopback by default.
            ML_BLOCK_LOCAL_IP="false",
            PYTHONPATH="",
        )
        return env

    def start(self, timeout_s: float = 180) -> None:
        """Start LS (first start runs migrations, ~35 s) and wait for /health. Idempotent."""
        binary = (self.venv / "bin" / "label-studio").absolute()
        if not binary.exists():
            raise ServiceError(f"label-studio: {binary} is missing; run `make ls-venv`")
        if self.process.pid() is None and port_in_use(self.port, self.host):
            raise ServiceError(f"label-studio: port {self.host}:{self.port} is already taken; set LS_PORT")
        if (self.root / "data").absolute().resolve().is_relative_to(self.document_root.resolve()):
            raise ServiceError(
                f"label-studio: LOCAL_FILES_DOCUMENT_ROOT {self.document_root} holds LS's own database "
                f"({self.root / 'data'}); give it a folder of source files only"
            )
        for sub in ("home", "data"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.document_root.mkdir(parents=True, exist_ok=True)
        self.process.start(
            [
                str(binary),
                "start",
                "--no-browser",
                "--internal-host",
                self.host,
                "--port",
                str(self.port),
                "--data-dir",
                str(self.root / "data"),
            ],
            env=self.env(),
            cwd=self.root,
        )
        wait_http_ok(f"{self.url}/health", timeout_s=timeout_s, process=self.process)

    def stop(self) -> bool:
        return self.process.stop()

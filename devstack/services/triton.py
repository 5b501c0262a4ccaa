"""The local Triton server: the real `tritonserver` shipped in the nvidia-pytriton wheel, on 127.0.0.1.

The wheel's server tree is copied once into a state folder with the python 3.11 backend stub in place. The
server runs with explicit model control; python-backend models find numpy and onnxruntime because this
interpreter's bin folder leads PATH and its site-packages are on PYTHONPATH. The process is a
`ManagedProcess` like every other part of the stack (PID file and log under the state folder, detached in its
own session); stop sends SIGTERM (Triton shuts down cleanly on it, not on SIGINT), then SIGKILL after the
timeout.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from devstack.services.process import ManagedProcess, port_in_use
from include.core.settings import Settings, child_environment, get_settings

log = logging.getLogger(__name__)

STUB_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


class TritonStartError(RuntimeError):
    """Triton could not start; the message names the missing part, the taken port or the log file."""


def wheel_server_dir() -> Path:
    """The server tree inside the installed nvidia-pytriton wheel."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("pytriton")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise TritonStartError(
            "tritonserver: the nvidia-pytriton wheel is not installed (requirements-triton.txt)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "tritonserver"


@dataclass(frozen=True)
class TritonServer:
    root: Path
    model_repository: Path | str
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    host: str = "127.0.0.1"
    load_models: tuple[str, ...] = ()
    exit_timeout_s: int = 5
    extra_args: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> TritonServer:
        """The server under STATE_DIR/triton on the TRITON_*_PORTs, loading the model once it is published
        (and its int8 flavour, `<name>_int8`, when a local repository holds one)."""
        from include.adapters.ner.precision import triton_model_name

        settings = settings or get_settings()
        repository, serving, model = (
            settings.model_repository_root,
            settings.serving,
            settings.ner.triton_model_name,
        )
        published = repository.startswith("s3://") or (Path(repository) / model).is_dir()
        int8 = triton_model_name(model, "int8")
        with_int8 = not repository.startswith("s3://") and (Path(repository) / int8).is_dir()
        return cls(
            root=settings.triton_dir,
            model_repository=repository,
            http_port=serving.triton_http_port,
            grpc_port=serving.triton_grpc_port,
            metrics_port=serving.triton_metrics_port,
            load_models=((model,) if published else ()) + ((int8,) if with_int8 else ()),
        )

    @property
    def server_dir(self) -> Path:
        return self.root / "tritonserver"

    @property
    def binary(self) -> Path:
        return self.server_dir / "bin" / "tritonserver"

    @property
    def process(self) -> ManagedProcess:
        """The server's process: PID file and log under `root` (what `cli status` and `down` use too)."""
        return ManagedProcess("tritonserver", self.root)

    @property
    def pid_file(self) -> Path:
        return self.process.pid_file

    @property
    def log_file(self) -> Path:
        return self.process.log_file

    @property
    def url(self) -> str:
        """host:port of the HTTP endpoint, as tritonclient.http wants it."""
        return f"{self.host}:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        """host:port of the gRPC endpoint, as tritonclient.grpc wants it."""
        return f"{self.host}:{self.grpc_port}"

    def install(self) -> Path:
        """Copy the wheel's server tree into `root` once, with this interpreter's python backend stub."""
        stub_target = self.server_dir / "backends" / "python" / "triton_python_backend_stub"
        if self.binary.is_file() and stub_target.is_file():
            return self.server_dir
        source = wheel_server_dir()
        if not (source / "bin" / "tritonserver").is_file():
            raise TritonStartError(f"tritonserver: binary missing at {source / 'bin' / 'tritonserver'}")
        stub = source / "python_backend_stubs" / STUB_PYTHON / "triton_python_backend_stub"
        if not stub.is_file():
            raise TritonStartError(f"tritonserver: no python backend stub for Python {STUB_PYTHON} at {stub}")
        staging = self.root / f".tritonserver.{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(source, staging, ignore=shutil.ignore_patterns("python_backend_stubs"), symlinks=True)
        shutil.copy2(stub, staging / "backends" / "python" / "triton_python_backend_stub")
        shutil.rmtree(self.server_dir, ignore_errors=True)
        os.rename(staging, self.server_dir)
        return self.server_dir

    def environment(self) -> dict[str, str]:
        env = child_environment()
        libs = [
            str(wheel_server_dir().parent.parent / "nvidia_pytriton.libs"),
            sysconfig.get_config_var("LIBDIR"),
        ]
        env["LD_LIBRARY_PATH"] = os.pathsep.join([*libs, env.get("LD_LIBRARY_PATH", "")]).rstrip(os.pathsep)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env["PYTHONPATH"] = os.pathsep.join(
            [sysconfig.get_paths()["purelib"], env.get("PYTHONPATH", "")]
        ).rstrip(os.pathsep)
        return env

    def command(self) -> list[str]:
        args = [
            str(self.binary),
            f"--model-repository={self.model_repository}",
            "--model-control-mode=explicit",
            f"--backend-directory={self.server_dir / 'backends'}",
            f"--cache-directory={self.server_dir / 'caches'}",
            f"--http-address={self.host}",
            f"--grpc-address={self.host}",
            f"--metrics-address={self.host}",
            f"--http-port={self.http_port}",
            f"--grpc-port={self.grpc_port}",
            f"--metrics-port={self.metrics_port}",
            "--allow-gpu-metrics=false",
            "--strict-readiness=true",
            f"--exit-timeout-secs={self.exit_timeout_s}",
        ]
        args += [f"--load-model={name}" for name in self.load_models]
        return args + list(self.extra_args)

    def pid(self) -> int | None:
        """PID of the server this PID file names, when that process is alive."""
        return self.process.pid()

    def is_ready(self) -> bool:
        try:
            response = requests.get(
                f"http://{self.url}/v2/health/ready", timeout=1, headers={"Connection": "close"}
            )
            return response.status_code == 200
        except requests.RequestException:
            return False

    def start(self, timeout_s: float = 60.0) -> str:
        """Start the server (installing it first) and wait until ready; returns the HTTP host:port."""
        if self.pid() is not None:
            self.wait_ready(timeout_s)
            return self.url
        for name, port in (
            ("http", self.http_port),
            ("grpc", self.grpc_port),
            ("metrics", self.metrics_port),
        ):
            if port_in_use(port, self.host):
                raise TritonStartError(
                    f"tritonserver: {name} port {self.host}:{port} is already taken by another process; "
                    f"set TRITON_{name.upper()}_PORT to a free port"
                )
        self.root.mkdir(parents=True, exist_ok=True)
        self.install()
        log.info("starting tritonserver on %s (repository %s)", self.url, self.model_repository)
        self.process.start(self.command(), env=self.environment(), cwd=self.root)
        try:
            self.wait_ready(timeout_s, started=True)
        except BaseException:
            self.stop()
            raise
        return self.url

    def wait_ready(self, timeout_s: float, started: bool = False) -> None:
        """Poll readiness until `timeout_s`; with `started`, fail as soon as the process is gone."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if started and self.process.pid() is None:
                raise TritonStartError(
                    f"tritonserver exited during start; log {self.log_file}:\n{self.process.log_tail(3000)}"
                )
            if self.is_ready():
                return
            time.sleep(0.2)
        raise TritonStartError(
            f"tritonserver not ready on {self.url} after {timeout_s:.0f}s; "
            f"log {self.log_file}:\n{self.process.log_tail(3000)}"
        )

    def stop(self, timeout_s: float = 30.0) -> bool:
        """SIGTERM the server (its process group), wait for it to exit (SIGKILL after `timeout_s`); True
        when it was running."""
        return self.process.stop(timeout_s)

"""A real tritonserver for tests on free ports, always stopped with SIGTERM (also when a test fails)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

from devstack.services.triton import TritonServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_triton(root: Path, repository: Path, load_models: tuple[str, ...] = ()) -> Iterator[TritonServer]:
    """Start tritonserver from the nvidia-pytriton wheel under `root`; stop it on exit."""
    server = TritonServer(
        root=root,
        model_repository=repository,
        http_port=free_port(),
        grpc_port=free_port(),
        metrics_port=free_port(),
        load_models=load_models,
    )
    try:
        server.start(timeout_s=90)
        yield server
    finally:
        server.stop()

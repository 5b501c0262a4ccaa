"""The stack's process handling: starting twice starts one process; a taken port names the part."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devstack.services.process import ServiceError
from devstack.services.shim import ShimServer
from tests.conftest import free_port


def test_starting_twice_starts_one_and_down_leaves_nothing(database_url: str, tmp_path: Path) -> None:
    shim = ShimServer(run_dir=tmp_path, port=free_port(), database_url=database_url, secret="s", workers=1)
    shim.start()
    try:
        first = shim.process.pid()
        shim.start()
        assert shim.process.pid() == first
    finally:
        assert shim.stop()
    assert shim.process.pid() is None and not shim.stop()


def test_taken_port_is_a_clear_error_naming_the_part(database_url: str, tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        shim = ShimServer(run_dir=tmp_path, port=port, database_url=database_url, secret="s")
        with pytest.raises(ServiceError, match=r"webhook-shim: port 127.0.0.1:\d+ is already taken"):
            shim.start()
    assert shim.process.pid() is None

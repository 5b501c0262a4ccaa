"""The one sha256 helper: streams (with bytes already read from them) and files, hashed in chunks."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from include.core.hashing import sha256_file, sha256_stream


def test_sha256_stream_hashes_in_chunks() -> None:
    data = bytes(range(256)) * 1000
    assert sha256_stream(io.BytesIO(data), chunk=4096) == (hashlib.sha256(data).hexdigest(), len(data))
    assert sha256_stream(io.BytesIO(b"")) == (hashlib.sha256(b"").hexdigest(), 0)


def test_sha256_stream_counts_the_head_already_read() -> None:
    data = b"%PDF-1.7\n" + bytes(range(256)) * 100
    stream = io.BytesIO(data)
    head = stream.read(8)
    assert sha256_stream(stream, head=head, chunk=1000) == (hashlib.sha256(data).hexdigest(), len(data))


def test_sha256_file(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x00" * (3 << 20) + b"tail")
    assert sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()

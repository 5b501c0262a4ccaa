"""sha256 of streams and files, read in chunks: the one hashing helper (documents, bundle files)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20


def sha256_stream(fileobj: BinaryIO, *, head: bytes = b"", chunk: int = CHUNK) -> tuple[str, int]:
    """(hex sha256, size in bytes) of `head` followed by the rest of a binary stream, read in chunks from
    its current position (`head`: bytes already read from it, e.g. to sniff its type)."""
    digest = hashlib.sha256(head)
    size = len(head)
    while block := fileobj.read(chunk):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    with open(path, "rb") as fh:
        return sha256_stream(fh)[0]

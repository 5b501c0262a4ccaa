"""Ingest: list a source (local folder or s3://bucket/prefix), hash each file, register it as a document."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlparse

from include.db import repository as repo
from include.db.connection import transaction
from include.extract.detect import HEAD_BYTES, detect_type
from include.extract.records import ExtractionError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceObject:
    """One file found in a source: where it is (`uri`), its name, and its S3 key when it is in S3."""

    uri: str
    name: str
    size: int
    s3_key: str | None = None


@dataclass(frozen=True)
class IngestedDocument:
    document_id: int
    sha256: str
    uri: str
    doc_type: str
    created: bool
    status: str
    error: str | None = None


def _is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def _local_root(uri: str) -> Path:
    if uri.startswith("file://"):
        return Path(unquote(urlparse(uri).path))
    return Path(uri)


def _hidden(relative: str) -> bool:
    """A hidden file or a file in a hidden folder (rendered pages live in `.nerloop/`): not a document."""
    return any(part.startswith(".") for part in relative.split("/") if part)


def _symlinked(root: Path, path: Path) -> bool:
    """A symlink at `path` or at any folder between `root` and it: never followed out of the inbox."""
    while path != root and path != path.parent:
        if path.is_symlink():
            return True
        path = path.parent
    return False


def list_source(uri: str, s3_client: Any = None) -> list[SourceObject]:
    """Every file under a local folder (file:// or a path) or an s3://bucket/prefix, sorted by URI; hidden
    files and folders are skipped, and so are symlinks (a link in the inbox could name any file here)."""
    if _is_s3(uri):
        parsed = urlparse(uri)
        bucket, prefix = parsed.netloc, parsed.path.lstrip("/")
        client = s3_client or default_s3_client()
        out = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith("/") or _hidden(obj["Key"][len(prefix) :]):
                    continue
                out.append(
                    SourceObject(
                        uri=f"s3://{bucket}/{obj['Key']}",
                        name=obj["Key"].rsplit("/", 1)[-1],
                        size=int(obj["Size"]),
                        s3_key=obj["Key"],
                    )
                )
        return sorted(out, key=lambda o: o.uri)
    root = _local_root(uri)
    if not root.is_dir():
        raise FileNotFoundError(f"source folder {root} does not exist")
    found = []
    for p in root.rglob("*"):
        if _hidden(p.relative_to(root).as_posix()) or not p.is_file():
            continue
        if _symlinked(root, p):
            log.warning("skipped %s: a symlink in the source folder is not followed", p)
            continue
        found.append(SourceObject(uri=p.resolve().as_uri(), name=p.name, size=p.stat().st_size))
    return sorted(found, key=lambda o: o.uri)


def open_object(obj: SourceObject, s3_client: Any = None) -> BinaryIO:
    """A binary stream of the object's bytes (streamed from S3, not loaded whole)."""
    if _is_s3(obj.uri):
        parsed = urlparse(obj.uri)
        client = s3_client or default_s3_client()
        return client.get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"]
    return open_local(_local_root(obj.uri))


def open_local(path: Path) -> BinaryIO:
    """A regular file opened for reading without following a symlink at its name (O_NOFOLLOW)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_object(uri: str, s3_client: Any = None) -> bytes:
    """All bytes of a document by URI."""
    name = uri.rsplit("/", 1)[-1]
    with open_object(SourceObject(uri=uri, name=name, size=0), s3_client) as stream:
        return stream.read()


def register(conn: repo.Connection, obj: SourceObject, s3_client: Any = None) -> IngestedDocument:
    """Hash (streamed) and type one object and add its document row; same bytes → same document."""
    with open_object(obj, s3_client) as stream:
        head = stream.read(HEAD_BYTES)
        sha256, size = _hash_rest(head, stream)
    error = None
    try:
        doc_type = detect_type(head, obj.name)
    except ExtractionError as exc:
        doc_type, error = "unknown", exc.reason
    if size == 0:
        error = "empty file"
    with transaction(conn):
        doc = repo.add_document(
            conn, sha256=sha256, uri=obj.uri, doc_type=doc_type, size_bytes=size, s3_key=obj.s3_key
        )
        if doc.created and error:
            repo.set_document_status(conn, doc.id, "failed", f"{obj.name}: {error}")
    status = "failed" if (doc.created and error) else doc.status
    return IngestedDocument(
        doc.id,
        sha256,
        doc.uri,
        doc.doc_type,
        doc.created,
        status,
        f"{obj.name}: {error}" if error else doc.error,
    )


def _hash_rest(head: bytes, stream: BinaryIO) -> tuple[str, int]:
    """sha256 and size of `head` followed by the rest of `stream`, read in chunks."""
    rest_digest = hashlib.sha256(head)
    size = len(head)
    while block := stream.read(1 << 20):
        rest_digest.update(block)
        size += len(block)
    return rest_digest.hexdigest(), size


def ingest_source(conn: repo.Connection, uri: str, s3_client: Any = None) -> Iterator[IngestedDocument]:
    """Register every file of a source, logging counts and rate as it goes."""
    objects = list_source(uri, s3_client)
    started = time.perf_counter()
    for i, obj in enumerate(objects, start=1):
        yield register(conn, obj, s3_client)
        if i % 50 == 0 or i == len(objects):
            rate = i / max(time.perf_counter() - started, 1e-9)
            log.info("ingested %d/%d files from %s (%.1f files/s)", i, len(objects), uri, rate)


def default_s3_client() -> Any:
    import boto3

    from include.settings import get_settings

    return boto3.client("s3", endpoint_url=get_settings().aws_endpoint_url)

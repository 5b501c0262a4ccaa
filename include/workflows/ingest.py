"""Ingest: list a source (local folder or s3://bucket/prefix), hash each file, register it as a document."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from include.adapters.db import repository as repo
from include.adapters.db.connection import transaction
from include.adapters.extract.detect import HEAD_BYTES, detect_type
from include.adapters.extract.records import ExtractionError
from include.adapters.objectstore import ObjectStore, default_store
from include.core.hashing import sha256_stream
from include.core.locations import StoredObject

log = logging.getLogger(__name__)


# One file found in a source: where it is (`uri`), its name, and its S3 key when it is in S3.
SourceObject = StoredObject


@dataclass(frozen=True)
class IngestedDocument:
    document_id: int
    sha256: str
    uri: str
    doc_type: str
    created: bool
    status: str
    error: str | None = None


def list_source(uri: str, store: ObjectStore | None = None) -> list[SourceObject]:
    """Every file under a local folder (file:// or a path) or an s3://bucket/prefix, sorted by URI; hidden
    files and folders are skipped, and so are symlinks (a link in the inbox could name any file here)."""
    return (store or default_store()).list(uri)


def open_object(obj: SourceObject, store: ObjectStore | None = None) -> BinaryIO:
    """A binary stream of the object's bytes (streamed from S3, not loaded whole; a local file opened
    without following a symlink at its name)."""
    return (store or default_store()).open(obj.uri)


def read_object(uri: str, store: ObjectStore | None = None) -> bytes:
    """All bytes of a document by URI."""
    return (store or default_store()).read(uri)


def register(conn: repo.Connection, obj: SourceObject, store: ObjectStore | None = None) -> IngestedDocument:
    """Hash (streamed) and type one object and add its document row; same bytes → same document."""
    with open_object(obj, store) as stream:
        head = stream.read(HEAD_BYTES)
        sha256, size = sha256_stream(stream, head=head)
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


def ingest_source(
    conn: repo.Connection, uri: str, store: ObjectStore | None = None
) -> Iterator[IngestedDocument]:
    """Register every file of a source, logging counts and rate as it goes."""
    store = store or default_store()
    objects = list_source(uri, store)
    started = time.perf_counter()
    for i, obj in enumerate(objects, start=1):
        yield register(conn, obj, store)
        if i % 50 == 0 or i == len(objects):
            rate = i / max(time.perf_counter() - started, 1e-9)
            log.info("ingested %d/%d files from %s (%.1f files/s)", i, len(objects), uri, rate)

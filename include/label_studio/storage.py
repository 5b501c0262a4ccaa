"""Label Studio source storage: connect the project to the inbox, and map file URIs to the links LS serves.

LS opens a local file through `/data/local-files/?d=<path under its LOCAL_FILES_DOCUMENT_ROOT>` (allowed
when a local storage of the project covers the path) and an S3 object through `s3://bucket/key`, which it
resolves to a presigned URL when an S3 storage of the project names that bucket. A storage sync makes one
task per file whose `text` is such a link (`source_uri` turns it back into the file's URI).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlparse

from include.label_studio.payloads import TASK_DOCUMENT_SHA256, TASK_TEXT

log = logging.getLogger(__name__)

LOCAL_FILES_PATH = "/data/local-files/"
# A storage sync writes the link under LS's placeholder key when it cannot tell which field to use.
UNDEFINED_KEY = "$undefined$"
STORAGE_TITLE = "nerloop inbox"


class StorageError(ValueError):
    """The inbox cannot be connected as a Label Studio storage (the message says why)."""


def local_path(uri: str) -> Path:
    """The path of a file:// URI or a plain path."""
    return Path(unquote(urlparse(uri).path)) if uri.startswith("file://") else Path(uri)


def ls_link(uri: str, files_root: Path | None) -> str | None:
    """The link LS opens for a document or page URI; None for a local file outside LS's document root."""
    if uri.startswith("s3://"):
        return uri
    if files_root is None:
        return None
    try:
        relative = local_path(uri).resolve().relative_to(files_root.resolve())
    except ValueError:
        return None
    return f"{LOCAL_FILES_PATH}?d={quote(relative.as_posix())}"


def source_uri(link: object, files_root: Path | None) -> str | None:
    """The file URI behind a link a storage sync put in a task (s3://… or …/data/local-files/?d=…)."""
    if not isinstance(link, str):
        return None
    link = link.strip()
    if link.startswith("s3://") and "/" in link[5:]:
        return link
    parsed = urlparse(link)
    if files_root is None or not parsed.path.rstrip("/").endswith(LOCAL_FILES_PATH.rstrip("/")):
        return None
    relative = parse_qs(parsed.query).get("d", [""])[0]
    if not relative:
        return None
    path = (files_root / relative).resolve()
    if not path.is_relative_to(files_root.resolve()):
        return None
    return path.as_uri()


@dataclass(frozen=True)
class S3Access:
    """What LS needs to list and presign an S3 inbox (a MinIO/moto endpoint too)."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    presign_ttl_minutes: int = 60

    @classmethod
    def from_env(cls, endpoint_url: str | None = None) -> S3Access:
        return cls(
            endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL"),
            region=os.environ.get("AWS_DEFAULT_REGION"),
            access_key_id=os.environ.get("AWS_ACCESS_KEY_ID"),
            secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
        )


@dataclass(frozen=True)
class SourceStorage:
    kind: str  # "local" | "s3"
    id: int
    created: bool


def ensure_source_storage(
    ls: Any, project_id: int, inbox_uri: str, *, files_root: Path | None, s3: S3Access | None = None
) -> SourceStorage:
    """The project's import storage for the inbox, created if missing (files as links: one task per file).

    Idempotent: an existing storage of the project for the same folder or bucket/prefix is reused.
    The scan is not recursive, so the rendered pages under `<inbox>/.nerloop/` never become tasks.
    """
    if inbox_uri.startswith("s3://"):
        parsed = urlparse(inbox_uri)
        bucket, prefix = parsed.netloc, parsed.path.strip("/")
        for storage in ls.import_storage.s3.list(project=project_id):
            if storage.bucket == bucket and (storage.prefix or "").strip("/") == prefix:
                return SourceStorage("s3", int(storage.id), created=False)
        access = s3 or S3Access.from_env()
        created = ls.import_storage.s3.create(
            project=project_id,
            title=STORAGE_TITLE,
            bucket=bucket,
            prefix=prefix or None,
            use_blob_urls=True,
            presign=True,
            presign_ttl=access.presign_ttl_minutes,
            s3endpoint=access.endpoint_url,
            region_name=access.region,
            aws_access_key_id=access.access_key_id,
            aws_secret_access_key=access.secret_access_key,
        )
        log.info("LS project %d: S3 storage %s for %s (presigned links)", project_id, created.id, inbox_uri)
        return SourceStorage("s3", int(created.id), created=True)
    folder = local_path(inbox_uri).resolve()
    if files_root is None or not folder.is_relative_to(files_root.resolve()):
        raise StorageError(
            f"inbox {folder} is not under Label Studio's LOCAL_FILES_DOCUMENT_ROOT ({files_root}); "
            "set LABEL_STUDIO_FILES_ROOT to a folder that holds the inbox"
        )
    for storage in ls.import_storage.local.list(project=project_id):
        if storage.path and Path(storage.path).resolve() == folder:
            return SourceStorage("local", int(storage.id), created=False)
    created = ls.import_storage.local.create(
        project=project_id, title=STORAGE_TITLE, path=str(folder), use_blob_urls=True
    )
    log.info("LS project %d: local files storage %s for %s", project_id, created.id, folder)
    return SourceStorage("local", int(created.id), created=True)


def sync_source_storage(ls: Any, storage: SourceStorage) -> None:
    """Ask LS to scan the storage now: one task per new file (LS sends TASKS_CREATED for them)."""
    client = ls.import_storage.s3 if storage.kind == "s3" else ls.import_storage.local
    client.sync(id=storage.id)


def storage_link(data: dict[str, Any]) -> str | None:
    """The file link of a task a storage sync created; None for the pipeline's own tasks and typed ones."""
    if TASK_DOCUMENT_SHA256 in data or data.get("nerloop_state"):
        return None
    for key in (TASK_TEXT, UNDEFINED_KEY):
        value = data.get(key)
        if isinstance(value, str) and (value.startswith("s3://") or "/data/local-files/?" in value):
            return value.strip() if _storable(value) else None
    return None


def _storable(value: str) -> bool:
    """Text Postgres can hold: no NUL, no lone surrogate (a webhook body may carry either)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value and len(value) <= 4096

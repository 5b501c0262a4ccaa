"""Label Studio source storage: connect the project to the inbox, and map file URIs to the links LS serves.

LS opens a local file through `/data/local-files/?d=<path under its LOCAL_FILES_DOCUMENT_ROOT>` (allowed
when a local storage of the project covers the path) and an S3 object through `s3://bucket/key`, which it
resolves to a presigned URL when an S3 storage of the project names that bucket. A storage sync makes one
task per file whose `text` is such a link (`source_uri` turns it back into the file's URI).

Anyone who may import tasks into LS can type such a link, so a link alone is never trusted: which tasks
the pipeline takes in, and which file it reads for one, is decided by `include.workflows.intake` (`note`,
`register`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

from include.core.locations import Location, S3Config

log = logging.getLogger(__name__)

LOCAL_FILES_PATH = "/data/local-files/"
STORAGE_TITLE = "nerloop inbox"


class StorageError(ValueError):
    """The inbox cannot be connected as a Label Studio storage (the message says why)."""


def ls_link(uri: str, files_root: Path | None) -> str | None:
    """The link LS opens for a document or page URI; None for a local file outside LS's document root."""
    where = Location.parse(uri)
    if where.is_s3:
        return uri
    relative = where.under(files_root)
    return None if relative is None else f"{LOCAL_FILES_PATH}?d={quote(relative.as_posix())}"


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
class S3Access(S3Config):
    """What LS needs to list and presign an S3 inbox (a MinIO/moto endpoint too): the object store's S3
    settings (`include.core.locations.S3Config`) and how long a presigned link lives."""

    presign_ttl_minutes: int = 60

    @classmethod
    def from_config(cls, config: S3Config) -> S3Access:
        return cls(config.endpoint_url, config.region, config.access_key_id, config.secret_access_key)

    @classmethod
    def from_env(cls, endpoint_url: str | None = None) -> S3Access:
        """The S3 settings of the object store built from settings (`endpoint_url` overrides)."""
        config = S3Config.from_settings()
        access = cls.from_config(config)
        return access if endpoint_url is None else cls.from_config(replace(config, endpoint_url=endpoint_url))


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
    inbox = Location.parse(inbox_uri)
    if inbox.is_s3:
        bucket, prefix = inbox.bucket, inbox.key
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
    folder = inbox.local.resolve()
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

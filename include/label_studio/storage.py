"""Label Studio source storage: connect the project to the inbox, and map file URIs to the links LS serves.

LS opens a local file through `/data/local-files/?d=<path under its LOCAL_FILES_DOCUMENT_ROOT>` (allowed
when a local storage of the project covers the path) and an S3 object through `s3://bucket/key`, which it
resolves to a presigned URL when an S3 storage of the project names that bucket. A storage sync makes one
task per file whose `text` is such a link (`source_uri` turns it back into the file's URI).

Anyone who may import tasks into LS can type such a link, so a link alone is never trusted: `inbox_file`
takes a task's file only when LS itself tied the task to a file of the project's own source storage (the
task's `storage_filename`, which LS sets from its storage link and an import cannot set) and that file lies
inside the inbox folder (no `..`, no absolute path, no symlink) or the inbox bucket and prefix.
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

from include.label_studio.payloads import TASK_DOCUMENT_SHA256, TASK_TEXT
from include.objectstore import Location, S3Config

log = logging.getLogger(__name__)

LOCAL_FILES_PATH = "/data/local-files/"
# A storage sync writes the link under LS's placeholder key when it cannot tell which field to use.
UNDEFINED_KEY = "$undefined$"
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
    settings (`include.objectstore.S3Config`) and how long a presigned link lives."""

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


class NotOurFile(ValueError):
    """A task's link is not a file of the project's own inbox: it is not read (the message says why)."""


@dataclass(frozen=True)
class OwnStorage:
    """The project's import storage for the inbox, as LS sees it: a local folder, or a bucket and prefix."""

    kind: str  # "local" | "s3"
    id: int
    path: str = ""  # local: the folder as LS names it (LS's own view of the file system)
    bucket: str = ""
    prefix: str = ""


@dataclass(frozen=True)
class InboxFile:
    """A file of the inbox that a storage task stands for, as this host reads it."""

    uri: str
    name: str
    s3_key: str | None = None


def own_storages(ls: Any, project_id: int, inbox_uri: str, files_root: Path | None) -> list[OwnStorage]:
    """The project's import storages that are the inbox: same bucket and prefix, or the inbox folder.

    LS may see the folder under another absolute path (its own mount of the document root), so a local
    storage is the inbox when its path ends with the inbox's path under the document root.
    """
    inbox = Location.parse(inbox_uri)
    if inbox.is_s3:
        bucket, prefix = inbox.bucket, inbox.key
        return [
            OwnStorage("s3", int(s.id), bucket=bucket, prefix=prefix)
            for s in ls.import_storage.s3.list(project=project_id)
            if s.bucket == bucket and (s.prefix or "").strip("/") == prefix
        ]
    inbox_rel = _inbox_under_root(inbox_uri, files_root)
    if inbox_rel is None:
        return []
    out = []
    for s in ls.import_storage.local.list(project=project_id):
        parts = PurePosixPath(s.path or "/").parts
        if len(parts) > len(inbox_rel.parts) and parts[-len(inbox_rel.parts) :] == inbox_rel.parts:
            out.append(OwnStorage("local", int(s.id), path=str(PurePosixPath(s.path))))
    return out


def inbox_file(
    link: str,
    storage_filename: str | None,
    *,
    inbox_uri: str,
    files_root: Path | None,
    storages: Sequence[OwnStorage],
) -> InboxFile:
    """The inbox file a storage task stands for, or NotOurFile saying why it is not taken in.

    `storage_filename` is the key LS recorded when its storage sync made the task (None for a task
    imported or typed in); the task's link must be exactly the one that storage made for that key, the
    key must lie under one of the project's own storages of the inbox, and the file must lie inside the
    inbox (resolved; no `..`, no absolute path, no hidden part, no symlink anywhere below the inbox).
    """
    if not storage_filename:
        raise NotOurFile(
            "LS did not make this task from a storage sync (it was imported or typed in): "
            "only files of the project's own source storage are taken in"
        )
    if not storages:
        raise NotOurFile(f"the project has no source storage for the inbox {inbox_uri}")
    if Location.parse(inbox_uri).is_s3:
        return _s3_file(link, storage_filename, inbox_uri, storages)
    return _local_file(link, storage_filename, inbox_uri, files_root, storages)


def _s3_file(link: str, key: str, inbox_uri: str, storages: Sequence[OwnStorage]) -> InboxFile:
    inbox = Location.parse(inbox_uri)
    bucket, prefix = inbox.bucket, inbox.key
    if not link.startswith("s3://"):
        raise NotOurFile(f"{link!r} is not an object of the inbox bucket {bucket}")
    link_bucket, _, link_key = link[5:].partition("/")
    if link_bucket != bucket:
        raise NotOurFile(f"bucket {link_bucket!r} is not the inbox bucket {bucket!r}")
    if link_key != key:
        raise NotOurFile(f"the link {link!r} is not the object LS's storage made this task for ({key!r})")
    rest = key[len(prefix) + 1 :] if prefix else key
    if prefix and not key.startswith(prefix + "/"):
        raise NotOurFile(f"key {key!r} is not under the inbox prefix {prefix!r}/")
    if not rest or _bad_parts(rest):
        raise NotOurFile(f"key {key!r} names no document of the inbox (empty, hidden or '..' part)")
    if not any(s.kind == "s3" and s.bucket == bucket and s.prefix == prefix for s in storages):
        raise NotOurFile(f"the project has no source storage for {inbox_uri}")
    return InboxFile(uri=f"s3://{bucket}/{key}", name=key.rsplit("/", 1)[-1], s3_key=key)


def _local_file(
    link: str,
    storage_filename: str,
    inbox_uri: str,
    files_root: Path | None,
    storages: Sequence[OwnStorage],
) -> InboxFile:
    if files_root is None:
        raise NotOurFile(
            f"{link!r}: local files need LABEL_STUDIO_FILES_ROOT = LS's LOCAL_FILES_DOCUMENT_ROOT (unset)"
        )
    relative = _local_files_param(link)
    if relative is None:
        raise NotOurFile(f"{link!r} is not a link to LS's local files")
    if relative.startswith("/") or "\\" in relative or "\x00" in relative:
        raise NotOurFile(f"{relative!r} is an absolute or malformed path, not a file of the inbox")
    if any(part in ("", ".", "..") for part in relative.split("/")):
        raise NotOurFile(f"{relative!r} has a '..', '.' or empty part: not a file of the inbox")
    inbox_rel = _inbox_under_root(inbox_uri, files_root)
    if inbox_rel is None:
        raise NotOurFile(f"the inbox {inbox_uri} is not under LABEL_STUDIO_FILES_ROOT ({files_root})")
    rel = PurePosixPath(relative)
    if rel.parts[: len(inbox_rel.parts)] != inbox_rel.parts or len(rel.parts) <= len(inbox_rel.parts):
        raise NotOurFile(f"{relative!r} is not inside the inbox ({inbox_rel.as_posix()}/)")
    in_inbox = PurePosixPath(*rel.parts[len(inbox_rel.parts) :])
    if _bad_parts(in_inbox.as_posix()):
        raise NotOurFile(f"{relative!r} is hidden in the inbox (rendered pages, not a document)")
    key = PurePosixPath(storage_filename)
    if not any(s.kind == "local" and key == PurePosixPath(s.path) / in_inbox for s in storages):
        raise NotOurFile(
            f"the link {link!r} is not the file LS's storage made this task for ({storage_filename!r})"
        )
    inbox = (files_root / inbox_rel).resolve()
    path = inbox
    for part in in_inbox.parts:  # no symlink anywhere below the inbox: checked before, refused at open
        path = path / part
        try:
            mode = path.lstat().st_mode
        except OSError as error:
            raise NotOurFile(f"{relative!r}: {error.strerror or error}") from None
        if stat.S_ISLNK(mode):
            raise NotOurFile(f"{relative!r} is a symlink in the inbox: symlinks are not followed")
    if not stat.S_ISREG(mode) or not path.resolve().is_relative_to(inbox):
        raise NotOurFile(f"{relative!r} is not a regular file inside the inbox")
    return InboxFile(uri=path.as_uri(), name=path.name)


def _inbox_under_root(inbox_uri: str, files_root: Path | None) -> PurePosixPath | None:
    """The inbox folder's path under LS's document root; None when it lies elsewhere (or is the root)."""
    rel = Location.parse(inbox_uri).under(files_root)
    return rel if rel is not None and rel.parts else None


def _local_files_param(link: str) -> str | None:
    """The `d` of a `…/data/local-files/?d=…` link, decoded; None for any other link."""
    parsed = urlparse(link.strip())
    if not parsed.path.rstrip("/").endswith(LOCAL_FILES_PATH.rstrip("/")):
        return None
    values = parse_qs(parsed.query).get("d", [])
    return values[0] if len(values) == 1 and values[0] else None


def _bad_parts(relative: str) -> bool:
    """A '.', '..', empty-named or hidden part (the rendered pages live in `.nerloop/`)."""
    parts = relative.split("/")
    return any(not part or part.startswith(".") for part in parts)

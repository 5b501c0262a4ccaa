"""Register: take in the file behind each noted storage task, only when it is the project's, as a document.

Anyone who may import tasks into LS can type a link (`/data/local-files/?d=…`, `s3://…`), so a link alone is
never trusted: `inbox_file` takes a task's file only when LS itself tied the task to a file of the project's
own source storage (the task's `storage_filename`, which LS sets from its storage link and an import cannot
set) and that file lies inside the inbox folder (no `..`, no absolute path, no symlink) or the inbox bucket
and prefix. `register_source_tasks` asks LS about each noted task, then hashes each file and registers it as
a document — the same bytes dropped in the inbox are the same document, never a second one — so the prelabel
steps (extract, infer) treat it like any other. Any other task is settled `failed` with the reason
(`include.workflows.intake.settle`) and nothing is read.
"""

from __future__ import annotations

import logging
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, urlparse

from include.adapters.db import source_tasks as stored
from include.adapters.db.common import Connection
from include.adapters.db.connection import transaction
from include.adapters.label_studio.reads import task_origin
from include.adapters.label_studio.storage import LOCAL_FILES_PATH
from include.adapters.objectstore import ObjectStore
from include.core.locations import Location
from include.workflows.ingest import SourceObject, register
from include.workflows.intake.scan import scan_source_tasks
from include.workflows.intake.settle import settle_failed

log = logging.getLogger(__name__)


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


@dataclass
class IntakeSummary:
    noted: int = 0  # storage tasks the scan noted (`take_in` with scan)
    registered: int = 0
    new_documents: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    deferred: list[dict[str, Any]] = field(default_factory=list)  # LS could not be asked: left pending
    document_ids: list[int] = field(default_factory=list)


def take_in(
    conn: Connection,
    ls: Any,
    ls_project_id: int,
    *,
    inbox_uri: str,
    files_root: Path | None,
    store: ObjectStore | None = None,
    scan: bool = False,
) -> IntakeSummary:
    """The intake DAG's step: with `scan`, first list the project's tasks for storage tasks the webhook
    missed (`include.workflows.intake.scan`); then register the file behind every noted task."""
    noted = scan_source_tasks(conn, ls, ls_project_id) if scan else 0
    summary = register_source_tasks(
        conn, ls_project_id, ls=ls, inbox_uri=inbox_uri, files_root=files_root, store=store
    )
    summary.noted = noted
    return summary


def register_source_tasks(
    conn: Connection,
    ls_project_id: int,
    *,
    ls: Any,
    inbox_uri: str,
    files_root: Path | None,
    store: ObjectStore | None = None,
) -> IntakeSummary:
    """Register the file behind every noted task as a document (sha256: one document per content).

    Only what is the project's is read: LS must have made the task from the project's own source storage
    of `inbox_uri` (asked of LS, task by task), and its file must lie inside the inbox folder or under the
    inbox bucket and prefix (`inbox_file`). Any other task is settled
    `failed` with the reason — in Postgres and, for a task of this project, in the task itself
    (`nerloop_state: failed`, `nerloop_detail`) — and nothing is read for it. A task LS could not be asked
    about (LS unreachable, 5xx) stays pending for the next run; one bad task never stops the others.
    """
    summary = IntakeSummary()
    with transaction(conn):
        pending = stored.pending_source_tasks(conn, ls_project_id)
    if not pending:
        return summary
    storages = own_storages(ls, ls_project_id, inbox_uri, files_root)
    started = time.perf_counter()
    for n, task in enumerate(pending, start=1):
        try:
            shown = task_origin(ls, task.ls_task_id)
        except Exception as error:  # LS unreachable or failing: ask again next run, read nothing now
            log.warning("storage task %d: LS could not be asked about it: %s", task.ls_task_id, error)
            summary.deferred.append({"task": task.ls_task_id, "error": str(error)})
            continue
        ours = shown is not None and shown[0] == ls_project_id
        try:
            if not ours:
                _check_link_only(task.source_link, inbox_uri, files_root)
                raise NotOurFile(f"LS has no task {task.ls_task_id} in project {ls_project_id}")
            assert shown is not None
            file = inbox_file(
                task.source_link,
                shown[1],
                inbox_uri=inbox_uri,
                files_root=files_root,
                storages=storages,
            )
        except NotOurFile as refused:
            reason = f"task {task.ls_task_id}: {task.source_link!r} not taken in: {refused}"
            _refuse(conn, ls if ours else None, ls_project_id, task, reason, summary)
            continue
        try:
            doc = register(
                conn, SourceObject(uri=file.uri, name=file.name, size=0, s3_key=file.s3_key), store
            )
        except (
            Exception
        ) as error:  # OSError for a local file (ELOOP: swapped for a symlink), ClientError for S3
            reason = f"task {task.ls_task_id}: cannot read {file.uri}: {error}"
            _refuse(conn, ls, ls_project_id, task, reason, summary)
            continue
        with transaction(conn):
            stored.register_source_task(conn, ls_project_id, task.ls_task_id, doc.document_id)
        summary.registered += 1
        summary.new_documents += int(doc.created)
        summary.document_ids.append(doc.document_id)
        if n % 50 == 0 or n == len(pending):
            log.info(
                "registered %d/%d storage tasks' files (%.1f files/s)",
                n,
                len(pending),
                n / max(time.perf_counter() - started, 1e-9),
            )
    summary.document_ids = sorted(set(summary.document_ids))
    return summary


def _check_link_only(link: str, inbox_uri: str, files_root: Path | None) -> None:
    """Say first what the link alone already rules out (no storage needed to tell)."""
    if not Location.parse(inbox_uri).is_s3 and files_root is None and not link.startswith("s3://"):
        raise NotOurFile(
            f"{link!r}: local files need LABEL_STUDIO_FILES_ROOT = LS's LOCAL_FILES_DOCUMENT_ROOT (unset)"
        )


def _refuse(
    conn: Connection,
    ls: Any,
    ls_project_id: int,
    task: stored.SourceTask,
    reason: str,
    summary: IntakeSummary,
) -> None:
    settle_failed(conn, ls, ls_project_id, task, reason)
    summary.failed.append({"task": task.ls_task_id, "error": reason})

"""The object store: files in a local folder or objects in S3, named by one parsed location type.

Everything that reads or writes "a local path or an s3:// URI" goes through here: ingest (list, open),
rendered source pages (exists, write), Label Studio source and target storage (the location LS is pointed
at, the S3 settings it is given, reading the target copy back), storage-task intake (open), the Triton
model repository on S3 (list, read, write, upload, copy, delete, download) and the Spark tables job's Parquet
output (list, read, exists). `s3_client` is the one place an
S3 client is built; `ObjectStore.from_settings` is the one place the store is configured.

Why boto3 and not fsspec/universal-pathlib: both are installed (Airflow's ObjectStoragePath is built on
them), but their S3 filesystem is s3fs, which needs aiobotocore, and every aiobotocore release pins
botocore to a narrow range that excludes the stack's botocore 1.44.8 (pinned with boto3 and
apache-airflow-providers-amazon in constraints.txt); pip resolves `s3fs` to 0.4.2 (2020) or fails. fsspec's
local filesystem alone would not give what ingest needs either: a file opened without following a
symlink at its name (O_NOFOLLOW) and listings that never follow a symlink out of the inbox. So this module
is a small store over boto3 and the local file system, and a location is our own `Location`.

The values a store is addressed and configured with (`Location`, `StoredObject`, `S3Config`) and the
`Store` protocol adapters take are in `include.core.locations`, so an adapter (Label Studio's storages, the
Triton model repository) never imports this one: the caller hands it a store.
"""

from __future__ import annotations

import builtins
import errno
import logging
import os
import shutil
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from include.core.locations import Location, S3Config, StoredObject, Where, hidden

if TYPE_CHECKING:
    from include.core.settings import Settings

log = logging.getLogger(__name__)


def s3_client(s3_config: S3Config, session: Any = None, /, **client_kwargs: Any) -> Any:
    """The one S3 client factory: a boto3 S3 client of `session` (a default session if None) for
    `s3_config`'s endpoint. `client_kwargs` (botocore `config`, `verify`, `endpoint_url`) come from an
    Airflow connection when a task has one."""
    import boto3

    client_kwargs.setdefault("endpoint_url", s3_config.endpoint_url)
    return (session or boto3.session.Session()).client("s3", **client_kwargs)


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


def _symlinked(root: Path, path: Path) -> bool:
    """A symlink at `path` or at any folder between `root` and it."""
    while path != root and path != path.parent:
        if path.is_symlink():
            return True
        path = path.parent
    return False


@dataclass
class ObjectStore:
    """Open, read, write, test, list and copy files of a local folder or an S3 bucket, by location.

    Built once per entry point (`from_settings`; an Airflow task passes its AWS connection's session) and
    handed down; the S3 client is made on first use, so a store of a local inbox never needs AWS.
    """

    config: S3Config = field(default_factory=S3Config)
    client: Any = None
    connect: Callable[[S3Config], Any] | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, session: Any = None, **client_kwargs: Any
    ) -> ObjectStore:
        config = S3Config.from_settings(settings)
        if session is None and not client_kwargs:
            return cls(config)
        return cls(config, connect=lambda c: s3_client(c, session, **client_kwargs))

    @property
    def s3(self) -> Any:
        """The S3 client (made once, on first use)."""
        if self.client is None:
            self.client = (self.connect or s3_client)(self.config)
        return self.client

    # -- reading -------------------------------------------------------------------------------------

    def list(self, where: Where, *, recursive: bool = True) -> list[StoredObject]:
        """The files under a folder or prefix, sorted by URI. Hidden files and folders are skipped, and so
        are symlinks (a link in a folder could name any file of this host). FileNotFoundError for a local
        folder that does not exist."""
        loc = Location.parse(where)
        if loc.path is None:
            return self._list_s3(loc, recursive)
        root = loc.path
        if not root.is_dir():
            raise FileNotFoundError(f"folder {root} does not exist")
        found = []
        for p in root.rglob("*") if recursive else root.iterdir():
            if hidden(p.relative_to(root).as_posix()) or not p.is_file():
                continue
            if _symlinked(root, p):
                log.warning("skipped %s: a symlink in the folder is not followed", p)
                continue
            found.append(StoredObject(uri=p.resolve().as_uri(), name=p.name, size=p.stat().st_size))
        return sorted(found, key=lambda o: o.uri)

    def _list_s3(self, loc: Location, recursive: bool) -> builtins.list[StoredObject]:
        prefix = f"{loc.key}/" if loc.key else ""
        out = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=loc.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                key, rest = obj["Key"], obj["Key"][len(prefix) :]
                if key.endswith("/") or hidden(rest) or (not recursive and "/" in rest):
                    continue
                out.append(
                    StoredObject(
                        uri=f"s3://{loc.bucket}/{key}",
                        name=key.rsplit("/", 1)[-1],
                        size=int(obj["Size"]),
                        s3_key=key,
                    )
                )
        return sorted(out, key=lambda o: o.uri)

    def folders(self, where: Where) -> builtins.list[str]:
        """The names of the folders (S3: common prefixes) right under a folder or prefix, sorted."""
        loc = Location.parse(where)
        if loc.path is not None:
            return sorted(p.name for p in loc.path.iterdir() if p.is_dir()) if loc.path.is_dir() else []
        prefix = f"{loc.key}/" if loc.key else ""
        names = set()
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=loc.bucket, Prefix=prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                names.add(common["Prefix"].rstrip("/").rsplit("/", 1)[-1])
        return sorted(names)

    def keys(self, where: Where) -> builtins.list[Location]:
        """Every object under an S3 prefix, hidden ones included (for copying and deleting whole trees)."""
        loc = Location.parse(where)
        paginator = self.s3.get_paginator("list_objects_v2")
        return [
            Location(bucket=loc.bucket, key=obj["Key"])
            for page in paginator.paginate(Bucket=loc.bucket, Prefix=f"{loc.key}/" if loc.key else "")
            for obj in page.get("Contents", [])
        ]

    def open(self, where: Where) -> BinaryIO:
        """A binary stream of the file's bytes (streamed from S3, not loaded whole). A local file is
        opened without following a symlink at its name and must be a regular file. FileNotFoundError
        when there is no such file or object."""
        loc = Location.parse(where)
        if loc.path is not None:
            return open_local(loc.path)
        try:
            body: BinaryIO = self.s3.get_object(Bucket=loc.bucket, Key=loc.key)["Body"]
        except self.s3.exceptions.NoSuchKey:
            raise FileNotFoundError(errno.ENOENT, "no such object", loc.uri) from None
        return body

    def read(self, where: Where) -> bytes:
        """All bytes of a file or object (FileNotFoundError when missing)."""
        with self.open(where) as stream:
            return stream.read()

    def exists(self, where: Where) -> bool:
        """Whether a file (following links, as a reader would) or an object is there."""
        loc = Location.parse(where)
        if loc.path is not None:
            return loc.path.is_file()
        from botocore.exceptions import ClientError

        try:
            self.s3.head_object(Bucket=loc.bucket, Key=loc.key)
            return True
        except ClientError:  # 404 (and 403 without ListBucket)
            return False

    # -- writing -------------------------------------------------------------------------------------

    def write(self, where: Where, data: bytes, content_type: str | None = None) -> None:
        """Write a whole file or object, replacing it in one step (local: a `.partial` file renamed into
        place; S3: one PUT). Missing local folders are made."""
        loc = Location.parse(where)
        if loc.path is None:
            extra = {"ContentType": content_type} if content_type else {}
            self.s3.put_object(Bucket=loc.bucket, Key=loc.key, Body=data, **extra)
            return
        loc.path.parent.mkdir(parents=True, exist_ok=True)
        partial = loc.path.with_name(loc.path.name + ".partial")
        partial.write_bytes(data)
        partial.replace(loc.path)

    def upload(self, source: Path, where: Where) -> None:
        """Copy a local file to the location (S3: a managed, multipart-capable upload)."""
        loc = Location.parse(where)
        if loc.path is None:
            self.s3.upload_file(str(source), loc.bucket, loc.key)
            return
        loc.path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, loc.path)

    def download(self, where: Where, dest: Path) -> Path:
        """Copy the file or object to the local file `dest`."""
        loc = Location.parse(where)
        if loc.path is None:
            self.s3.download_file(loc.bucket, loc.key, str(dest))
        else:
            shutil.copyfile(loc.path, dest)
        return dest

    def copy(self, source: Where, dest: Where) -> None:
        """Copy one file or object to another location of the same kind (S3: server-side)."""
        src, dst = Location.parse(source), Location.parse(dest)
        if src.path is None and dst.path is None:
            self.s3.copy({"Bucket": src.bucket, "Key": src.key}, dst.bucket, dst.key)
        elif src.path is not None and dst.path is not None:
            dst.path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src.path, dst.path)
        else:
            raise ValueError(f"copy {src} to {dst}: both must be local or both in S3")

    def delete(self, locations: Iterable[Where]) -> None:
        """Delete files or objects (missing ones are not an error; S3: 1000 keys per request)."""
        by_bucket: dict[str, builtins.list[str]] = {}
        for where in locations:
            loc = Location.parse(where)
            if loc.path is None:
                by_bucket.setdefault(loc.bucket, []).append(loc.key)
            else:
                loc.path.unlink(missing_ok=True)
        for bucket, keys in by_bucket.items():
            for i in range(0, len(keys), 1000):
                chunk = [{"Key": key} for key in keys[i : i + 1000]]
                self.s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})


_default: tuple[object, ObjectStore] | None = None


def default_store() -> ObjectStore:
    """The store built from the process settings (rebuilt only when the settings are reloaded)."""
    global _default
    from include.core.settings import get_settings

    settings = get_settings()
    if _default is None or _default[0] is not settings:
        _default = (settings, ObjectStore.from_settings(settings))
    return _default[1]


__all__ = ["ObjectStore", "default_store", "open_local", "s3_client"]

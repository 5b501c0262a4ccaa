"""Where files live: the one parsed location type, what a listing finds, the S3 settings, and the `Store`
protocol (the operations of `include.adapters.objectstore.ObjectStore`).

These are values, not I/O: adapters that name files or objects (Label Studio's source and target
storage, the Triton model repository on S3) import them from here and take a `Store` from their caller;
only a workflow or an entry point builds the store (`include.adapters.objectstore.default_store`, or
`nerloop_airflow.hooks.object_store` in an Airflow task).
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO, Protocol
from urllib.parse import unquote, urlparse

if TYPE_CHECKING:
    from include.core.settings import Settings

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


@dataclass(frozen=True)
class Location:
    """A local file or folder (`path`), or an S3 object or prefix (`bucket`, `key`: no slash around it)."""

    path: Path | None = None
    bucket: str = ""
    key: str = ""

    @classmethod
    def parse(cls, uri: str | Path | Location) -> Location:
        """A plain path, a file:// URI or s3://bucket/key; any other scheme, or a `..` part, is refused."""
        if isinstance(uri, Location):
            return uri
        if isinstance(uri, Path):
            return cls._local(uri, str(uri))
        text = uri.strip()
        if not text:
            raise ValueError("an empty location")
        scheme = _SCHEME.match(text)
        if scheme is None:
            return cls._local(Path(text), uri)
        if scheme.group(1) == "file":
            return cls._local(Path(unquote(urlparse(text).path)), uri)
        if scheme.group(1) != "s3":
            raise ValueError(f"{uri!r}: expected a local path, file:// or s3://bucket/prefix")
        bucket, _, key = text[5:].partition("/")
        if not bucket:
            raise ValueError(f"{uri!r}: expected s3://bucket/prefix (no bucket named)")
        key = key.strip("/")
        if ".." in key.split("/"):
            raise ValueError(f"{uri!r}: a '..' part is not allowed in an object key")
        return cls(bucket=bucket, key=key)

    @classmethod
    def _local(cls, path: Path, uri: object) -> Location:
        if ".." in path.parts:
            raise ValueError(f"{uri!r}: a '..' part is not allowed in a path")
        return cls(path=path)

    @property
    def is_s3(self) -> bool:
        return self.path is None

    @property
    def local(self) -> Path:
        """The local path; ValueError for an S3 location."""
        if self.path is None:
            raise ValueError(f"{self.uri} is not a local path")
        return self.path

    @property
    def uri(self) -> str:
        """s3://bucket/key, or the file:// URI of the (absolute) local path."""
        if self.path is None:
            return f"s3://{self.bucket}/{self.key}".rstrip("/") if self.key else f"s3://{self.bucket}"
        return self.path.absolute().as_uri()

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1] if self.path is None else self.path.name

    @property
    def parent(self) -> Location:
        if self.path is None:
            return Location(bucket=self.bucket, key=self.key.rpartition("/")[0])
        return Location(path=self.path.parent)

    def child(self, relative: str) -> Location:
        """The location `relative` (a /-separated path, no `..`) below this one."""
        parts = [p for p in relative.split("/") if p]
        if ".." in parts:
            raise ValueError(f"{relative!r}: a '..' part is not allowed")
        if self.path is None:
            return Location(bucket=self.bucket, key="/".join([self.key, *parts]).strip("/"))
        return Location(path=self.path.joinpath(*parts))

    def resolved(self) -> Location:
        """A local location with its path resolved (absolute, links followed); an S3 one as it is."""
        return self if self.path is None else Location(path=self.path.resolve())

    def under(self, root: Path | None) -> PurePosixPath | None:
        """The local path relative to folder `root`, both resolved; None for S3 or outside `root`."""
        if self.path is None or root is None:
            return None
        try:
            return PurePosixPath(self.path.resolve().relative_to(root.resolve()).as_posix())
        except ValueError:
            return None

    def __str__(self) -> str:
        return self.uri


@dataclass(frozen=True)
class StoredObject:
    """One file or object found by `ObjectStore.list`: its URI, name, size, and S3 key when in S3."""

    uri: str
    name: str
    size: int
    s3_key: str | None = None

    @property
    def location(self) -> Location:
        return Location.parse(self.uri)


@dataclass(frozen=True)
class S3Config:
    """Where S3 is and who we are there. The client gets only the endpoint (credentials and region come
    from its boto3 session: environment, profile, or an Airflow connection's); Label Studio, which cannot
    read this host's credential chain, is given the keys and region as well."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> S3Config:
        from include.core.settings import get_settings

        store = (settings or get_settings()).store
        return cls(
            endpoint_url=store.aws_endpoint_url,
            region=store.aws_default_region,
            access_key_id=store.aws_access_key_id.get_secret_value() if store.aws_access_key_id else None,
            secret_access_key=(
                store.aws_secret_access_key.get_secret_value() if store.aws_secret_access_key else None
            ),
        )


def hidden(relative: str) -> bool:
    """A hidden file or a file in a hidden folder (rendered pages live in `.nerloop/`): not a document."""
    return any(part.startswith(".") for part in relative.split("/") if part)


Where = Location | str | Path


class Store(Protocol):
    """The object store's operations (`include.adapters.objectstore.ObjectStore` implements them)."""

    def list(self, where: Where, *, recursive: bool = True) -> builtins.list[StoredObject]: ...

    def folders(self, where: Where) -> builtins.list[str]: ...

    def keys(self, where: Where) -> builtins.list[Location]: ...

    def open(self, where: Where) -> BinaryIO: ...

    def read(self, where: Where) -> bytes: ...

    def exists(self, where: Where) -> bool: ...

    def write(self, where: Where, data: bytes, content_type: str | None = None) -> None: ...

    def upload(self, source: Path, where: Where) -> None: ...

    def download(self, where: Where, dest: Path) -> Path: ...

    def copy(self, source: Where, dest: Where) -> None: ...

    def delete(self, locations: Iterable[Where]) -> None: ...


__all__ = ["Location", "S3Config", "Store", "StoredObject", "Where", "hidden"]

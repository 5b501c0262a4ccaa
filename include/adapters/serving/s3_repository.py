"""A Triton model repository on S3 (the object store): versions staged under a temp prefix, then copied
into place.

S3 has no rename, so "atomic" here means: every file of a version is uploaded under
`<prefix>/<model>/.staging/<id>/` first, copied to `<prefix>/<model>/<n>/` only once all uploads succeeded,
and config.pbtxt (a single PUT, which S3 replaces atomically) is written last to pin n. Triton loads only
the pinned version, so it never reads a version whose copy is still running. Version numbers are claimed
without a lock: run one publisher per model at a time (the training DAG has max_active_runs=1).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from include.core.locations import Location, Store

STAGING = ".staging"


@dataclass(frozen=True)
class S3Repository:
    root: Location
    store: Store

    @classmethod
    def from_uri(cls, uri: str, store: Store) -> S3Repository:
        root = Location.parse(uri)
        if not root.is_s3:
            raise ValueError(f"{uri!r}: expected s3://bucket/prefix")
        return cls(root, store)

    @property
    def uri(self) -> str:
        return self.root.uri

    def _at(self, model: str, name: str = "") -> Location:
        return self.root.child(f"{model}/{name}")

    def versions(self, model: str) -> list[int]:
        return sorted(int(name) for name in self.store.folders(self._at(model)) if name.isdigit())

    def read_text(self, model: str, name: str) -> str | None:
        try:
            return self.store.read(self._at(model, name)).decode()
        except FileNotFoundError:
            return None

    def write_text(self, model: str, name: str, text: str) -> None:
        self.store.write(self._at(model, name), text.encode())

    def add_version(self, model: str, files: dict[str, Path], first: int) -> int:
        staging = self._at(model, f"{STAGING}/{uuid.uuid4().hex}")
        try:
            for name, source in files.items():
                self.store.upload(source, staging.child(name))
            version = max([first - 1, *self.versions(model)]) + 1
            for name in files:
                self.store.copy(staging.child(name), self._at(model, f"{version}/{name}"))
            return version
        finally:
            self.store.delete(self.store.keys(staging))

    def remove_version(self, model: str, version: int) -> None:
        self.store.delete(self.store.keys(self._at(model, str(version))))

    def fetch(self, model: str, name: str, dest: Path) -> Path:
        return self.store.download(self._at(model, name), dest)

"""Publish bundles to a Triton model repository (local folder or s3://) as new numbered versions, atomically.

Layout: `<repo>/<model>/config.pbtxt` (the bundle's own, pinned to one version: `version_policy:
specific`), and `<repo>/<model>/<n>/` holding model.onnx, VERSION.json, exporter_mode.txt (and model.py
for the python flavour, where Triton's python backend looks for it). A version folder is assembled in a
staging folder beside it and renamed into place; config.pbtxt is replaced in one rename, so Triton never
reads half a version.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, cast

from include.core.bundle.config import (
    Flavour,
    as_published,
    flavour_of,
    parse_config,
    pinned_version,
    with_pinned_version,
)
from include.core.bundle.format import Bundle, BundleError
from include.core.bundle.read import read_bundle
from include.core.locations import Location, Store

log = logging.getLogger(__name__)

PYTHON_MODEL = Path(__file__).parent / "python_backend" / "model.py"
STAGING = ".staging"
STALE_STAGING_S = 3600.0


class ModelRepository(Protocol):
    """The storage operations publishing needs; `LocalRepository` and `S3Repository` implement them."""

    @property
    def uri(self) -> str: ...

    def versions(self, model: str) -> list[int]: ...

    def read_text(self, model: str, name: str) -> str | None: ...

    def write_text(self, model: str, name: str, text: str) -> None: ...

    def add_version(self, model: str, files: dict[str, Path], first: int) -> int: ...

    def remove_version(self, model: str, version: int) -> None: ...

    def fetch(self, model: str, name: str, dest: Path) -> Path: ...


@dataclass(frozen=True)
class LocalRepository:
    """A model repository in a local folder; every change is a rename on the same filesystem."""

    root: Path

    @property
    def uri(self) -> str:
        return str(self.root)

    def _model_dir(self, model: str) -> Path:
        return self.root / model

    def versions(self, model: str) -> list[int]:
        folder = self._model_dir(model)
        if not folder.is_dir():
            return []
        return sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit())

    def read_text(self, model: str, name: str) -> str | None:
        path = self._model_dir(model) / name
        return path.read_text() if path.is_file() else None

    def write_text(self, model: str, name: str, text: str) -> None:
        target = self._model_dir(model) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        with open(tmp, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)

    def _staging(self, model: str) -> Path:
        self._sweep_staging(model)
        path = self._model_dir(model) / STAGING / uuid.uuid4().hex
        path.mkdir(parents=True)
        return path

    def _sweep_staging(self, model: str) -> None:
        """Remove staging folders a crashed publisher left; an hour-old one cannot belong to a live one."""
        folder = self._model_dir(model) / STAGING
        if not folder.is_dir():
            return
        now = time.time()
        for leftover in folder.iterdir():
            with contextlib.suppress(OSError):
                if now - leftover.stat().st_mtime > STALE_STAGING_S:
                    log.warning("removing %s left by an interrupted publish", leftover)
                    shutil.rmtree(leftover)

    def _drop_staging(self, model: str) -> None:
        with contextlib.suppress(OSError):
            (self._model_dir(model) / STAGING).rmdir()

    def add_version(self, model: str, files: dict[str, Path], first: int) -> int:
        staging = self._staging(model)
        try:
            for name, source in files.items():
                shutil.copyfile(source, staging / name)
            version = first
            while True:
                try:
                    os.rename(staging, self._model_dir(model) / str(version))
                    return version
                except OSError as error:
                    if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                        raise
                    version += 1
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            self._drop_staging(model)

    def remove_version(self, model: str, version: int) -> None:
        folder = self._model_dir(model) / str(version)
        if not folder.is_dir():
            return
        trash = self._model_dir(model) / STAGING / f"removed-{version}-{uuid.uuid4().hex}"
        trash.parent.mkdir(parents=True, exist_ok=True)
        os.rename(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)
        self._drop_staging(model)

    def fetch(self, model: str, name: str, dest: Path) -> Path:
        shutil.copyfile(self._model_dir(model) / name, dest)
        return dest


def open_repository(uri: str | Path, store: Store | None = None) -> ModelRepository:
    """The repository at a local path / file:// URI, or at s3://bucket/prefix through `store` (the
    caller's object store: required for S3)."""
    where = Location.parse(uri)
    if where.is_s3:
        from include.adapters.serving.s3_repository import S3Repository

        if store is None:
            raise ValueError(f"{where.uri}: a model repository in S3 is opened with an object store")

        return S3Repository.from_uri(where.uri, store)
    return LocalRepository(where.local)


def as_repository(repo: ModelRepository | str | Path) -> ModelRepository:
    """`repo` itself when it is a repository object, else the repository at that path or URI."""
    if hasattr(repo, "add_version"):
        return cast(ModelRepository, repo)
    return open_repository(repo)


@dataclass(frozen=True)
class PublishedVersion:
    repository: str
    model: str
    version: int
    model_version: str
    previous: int | None
    removed: list[int] = field(default_factory=list)


def served_versions(repo: ModelRepository | str | Path, model: str) -> list[int]:
    """Version numbers present in the repository for `model`, ascending."""
    return as_repository(repo).versions(model)


def pinned(repo: ModelRepository | str | Path, model: str) -> int | None:
    """The version config.pbtxt pins (the one Triton serves after a load), or None without a config."""
    text = as_repository(repo).read_text(model, "config.pbtxt")
    return pinned_version(parse_config(text)) if text else None


def version_info(repo: ModelRepository | str | Path, model: str, version: int) -> dict:
    """VERSION.json of a published version."""
    text = as_repository(repo).read_text(model, f"{version}/VERSION.json")
    if text is None:
        raise FileNotFoundError(f"{as_repository(repo).uri}/{model}/{version}/VERSION.json: missing")
    return json.loads(text)


def pin_version(repo: ModelRepository | str | Path, model: str, version: int) -> None:
    """Rewrite config.pbtxt to serve `version` (its model_version parameter follows); Triton needs a load."""
    repository = as_repository(repo)
    text = repository.read_text(model, "config.pbtxt")
    if text is None:
        raise FileNotFoundError(f"{repository.uri}/{model}/config.pbtxt: missing; publish a bundle first")
    if version not in repository.versions(model):
        raise FileNotFoundError(f"{repository.uri}/{model}/{version}: no such version")
    model_version = version_info(repository, model, version)["model_version"]
    repository.write_text(
        model, "config.pbtxt", with_pinned_version(text, version, {"model_version": model_version})
    )


def publish_bundle(
    bundle: Bundle | Path,
    repo: ModelRepository | str | Path,
    model: str = "ner",
    flavour: Flavour | None = None,
    keep: int = 3,
    intra_op_threads: int = 2,
    precision: str = "fp32",
) -> PublishedVersion:
    """Add the bundle as version n = latest + 1, pin config.pbtxt to it, keep the newest `keep` versions.

    `precision` "int8" publishes the bundle's int8 flavour (its model.int8.onnx as the version's
    model.onnx, `precision: int8` in the config's parameters) to its own model, by convention
    `<model>_int8` (include/adapters/ner/precision.triton_model_name); a bundle whose int8 gate failed is
    refused.

    `bundle` is a Bundle already read (release reads it once and passes it on) or a folder, read strictly
    first: a file whose sha256 differs from VERSION.json stops the publish before anything is written.
    The config published is the bundle's config.pbtxt, named `model`, pinned to n and switched to
    `flavour` when given (see `include.core.bundle.config.as_published`). The version pinned before (the one
    Triton serves until the new one is loaded and verified) is never removed, so a rollback always has
    somewhere to go.
    """
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    repository = as_repository(repo)
    bundle = bundle if isinstance(bundle, Bundle) else read_bundle(bundle)
    if precision == "int8" and not bundle.int8_gate_passed:
        gate = (bundle.int8 or {}).get("gate", {}).get("reason", "the bundle has no int8 flavour")
        raise BundleError(f"{bundle.root}: int8 flavour not publishable: {gate}")
    bundle_config = bundle.config_path.read_text()
    flavour = flavour or flavour_of(parse_config(bundle_config))
    files = {
        "model.onnx": bundle.flavour_path(precision),
        "VERSION.json": bundle.version_path,
        "exporter_mode.txt": bundle.exporter_mode_path,
    }
    parameters = {"model_version": bundle.model_version}
    if precision != "fp32":
        parameters["precision"] = precision
    if flavour == "python":
        files["model.py"] = PYTHON_MODEL
        parameters |= {"intra_op_thread_count": str(intra_op_threads), "inter_op_thread_count": "1"}
    previous = pinned(repository, model)
    existing = repository.versions(model)
    version = repository.add_version(model, files, first=(existing[-1] + 1) if existing else 1)
    config = as_published(bundle_config, name=model, version=version, flavour=flavour, parameters=parameters)
    repository.write_text(model, "config.pbtxt", config)
    removed = []
    for old in repository.versions(model)[:-keep]:
        if old not in (previous, version):
            repository.remove_version(model, old)
            removed.append(old)
    log.info(
        "published %s as %s/%s/%d (previous %s, removed %s)",
        bundle.model_version,
        repository.uri,
        model,
        version,
        previous,
        removed,
    )
    return PublishedVersion(repository.uri, model, version, bundle.model_version, previous, removed)

"""The model bundle: where bundles live, how one is written, and the one strict reader.

A bundle is a folder::

    onnx/model.onnx  onnx/config.pbtxt  onnx/VERSION.json  onnx/exporter_mode.txt
    tokenizer/tokenizer.json  tokenizer/tokenizer_config.json  (+ vocab.txt, special_tokens_map.json)
    labels.json
    model/config.json  model/model.safetensors  (+ the tokenizer files): the trained weights, a standard
        transformers folder, so the next training run continues from the model in service
    (optional) onnx/model.int8.onnx: the int8 flavour, described by VERSION.json's `int8` block

The int8 flavour is served only where its gate passed (VERSION.json `int8.gate.passed`; see
include/training/quantize.py): the block names its file (hashed in `files` like every other), the
quantization settings and the gate's figures or the reason it failed.

VERSION.json names the model version, its labels and tags, the data it learned from, and the sha256 of every
other file (`files`). Bundles live under one root (`<state_dir>/bundles`): one `run-YYYYmmddTHHMMSS` folder
per training run, and a `current` link to the one in service. Training writes bundles, release publishes
them and serving loads them, all through `write_bundle` and `read_bundle`. Plain Python: no torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from include.labels import bio_tags

MODEL = "onnx/model.onnx"
MODEL_INT8 = "onnx/model.int8.onnx"
PRECISIONS = ("fp32", "int8")
CONFIG = "onnx/config.pbtxt"
VERSION = "onnx/VERSION.json"
EXPORTER_MODE = "onnx/exporter_mode.txt"
LABELS = "labels.json"
TOKENIZER = "tokenizer"
WEIGHTS = "model"
WEIGHT_FILES = ("config.json", "model.safetensors")
REQUIRED_FILES = (
    MODEL,
    CONFIG,
    VERSION,
    EXPORTER_MODE,
    f"{TOKENIZER}/tokenizer.json",
    f"{TOKENIZER}/tokenizer_config.json",
    LABELS,
    *(f"{WEIGHTS}/{name}" for name in WEIGHT_FILES),
)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
VERSION_KEYS = (
    "model_version",
    "created_at",
    "base_model",
    "manifest",
    "metrics",
    "exporter_mode",
    "labels",
    "tags",
    "files",
    "code_revision",
)
EXPORTER_MODES = ("modern", "legacy_fallback")
TRITON_MODEL_NAME = "ner"
CURRENT = "current"
RUN_PREFIX = "run-"


class BundleError(ValueError):
    """A bundle folder is incomplete, inconsistent or altered; the message names the file."""


@dataclass(frozen=True)
class Bundle:
    """A bundle that passed `read_bundle`: its VERSION.json and where each part lies."""

    root: Path
    version: dict[str, Any]

    @property
    def model_version(self) -> str:
        return str(self.version["model_version"])

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.version["labels"])

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self.version["tags"])

    @property
    def exporter_mode(self) -> str:
        return str(self.version["exporter_mode"])

    @property
    def manifest(self) -> dict[str, Any]:
        return dict(self.version["manifest"])

    @property
    def model_path(self) -> Path:
        return self.root / MODEL

    @property
    def onnx_path(self) -> Path:
        """The same file as `model_path` (the name evaluation uses)."""
        return self.model_path

    @property
    def int8(self) -> dict[str, Any] | None:
        """VERSION.json's `int8` block (file, quantization, gate), or None when the bundle has none."""
        block = self.version.get("int8")
        return dict(block) if block else None

    @property
    def int8_path(self) -> Path | None:
        """The int8 model file when the bundle carries one (whatever its gate said), else None."""
        block = self.int8
        return self.root / MODEL_INT8 if block and block.get("file") else None

    @property
    def int8_gate_passed(self) -> bool:
        """True only when the bundle has an int8 file and its gate passed on the run's held-out split."""
        block = self.int8
        return bool(self.int8_path and block and block["gate"].get("passed") is True)

    def flavour_path(self, precision: str) -> Path:
        """The model file of `precision` ("fp32": model.onnx; "int8": model.int8.onnx, when present)."""
        if precision == "fp32":
            return self.model_path
        if precision == "int8" and self.int8_path is not None:
            return self.int8_path
        raise BundleError(f"{self.root}: no {precision!r} flavour (precisions: {PRECISIONS})")

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG

    @property
    def version_path(self) -> Path:
        return self.root / VERSION

    @property
    def exporter_mode_path(self) -> Path:
        return self.root / EXPORTER_MODE

    @property
    def tokenizer_dir(self) -> Path:
        return self.root / TOKENIZER

    @property
    def weights_dir(self) -> Path:
        """The trained model as a transformers folder (config, safetensors, tokenizer): training resumes."""
        return self.root / WEIGHTS


@dataclass(frozen=True)
class BundleLayout:
    """Where bundles live: `<root>/run-<UTC time>` per training run, `<root>/current` → the one in service."""

    root: Path

    @classmethod
    def from_state_dir(cls, state_dir: Path | None = None) -> BundleLayout:
        """`<state_dir>/bundles`, state_dir defaulting to the project settings' (STATE_DIR)."""
        if state_dir is None:
            from include.settings import get_settings

            state_dir = get_settings().state_dir
        return cls(Path(state_dir) / "bundles")

    @property
    def current_link(self) -> Path:
        """The link NER_BUNDLE_DIR names for in-process ONNX Runtime (it may not exist yet)."""
        return self.root / CURRENT

    def current(self) -> Path | None:
        """The `current` link when it points to a bundle, else None (nothing in service yet)."""
        link = self.current_link
        return link if (link / VERSION).is_file() else None

    def named(self, name: str) -> Path:
        """The folder of a bundle with a fixed name (e.g. the bootstrap model's)."""
        if not name or "/" in name or name in (CURRENT, ".", ".."):
            raise ValueError(f"{name!r}: not a bundle folder name")
        return self.root / name

    def new_run_dir(self, now: datetime | None = None) -> Path:
        """`<root>/run-YYYYmmddTHHMMSS` (UTC) for a training run's bundle; the folder is not created."""
        now = now or datetime.now(UTC)
        return self.root / f"{RUN_PREFIX}{now:%Y%m%dT%H%M%S}"

    def point_current(self, bundle_dir: Path) -> Path:
        """Atomically repoint `current` to `bundle_dir` (a symlink replaced by rename)."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{CURRENT}-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(Path(bundle_dir).resolve(), target_is_directory=True)
        os.replace(tmp, self.current_link)
        return self.current_link


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def new_model_version(manifest_sha256: str, now: datetime | None = None) -> str:
    """`ner-YYYYMMDD-HHMMSS-<manifest sha256[:8]>` (UTC)."""
    now = now or datetime.now(UTC)
    return f"ner-{now:%Y%m%d-%H%M%S}-{manifest_sha256[:8]}"


def code_revision() -> str:
    """git rev-parse HEAD of the project, or "unknown" outside a git checkout."""
    from include.settings import PROJECT_ROOT

    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def _refuse_existing(out_dir: Path) -> None:
    if (out_dir / VERSION).exists():
        raise BundleError(f"{out_dir}: already holds a bundle")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise BundleError(f"{out_dir}: exists and is not empty")


def write_bundle(
    out_dir: Path,
    *,
    onnx_path: Path,
    exporter_mode: str,
    tokenizer_dir: Path,
    weights_dir: Path,
    labels: Sequence[str],
    model_version: str,
    base_model: str,
    manifest: dict[str, Any],
    metrics: dict[str, Any],
    exporter: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    flavour: str = "onnxruntime",
    max_batch_size: int = 16,
    int8_onnx_path: Path | None = None,
    int8: dict[str, Any] | None = None,
) -> Bundle:
    """Write a bundle from an exported model.onnx and a tokenizer folder, and return it read back strictly.

    The folder is assembled beside `out_dir` and renamed into place, so `out_dir` holds a whole bundle or
    nothing. `manifest` is {"sha256": ..., "counts": {...}} plus anything worth keeping (sources, run id).
    `int8` ({"quantization": ..., "gate": {"passed": ..., "reason": ...}}) becomes VERSION.json's `int8`
    block; `int8_onnx_path`, when given, is copied to onnx/model.int8.onnx and hashed like the rest.
    `weights_dir` is the trained model's transformers folder: its config and safetensors, with the
    tokenizer's files, become model/, hashed like the rest.
    """
    from include.serving.triton_config import build_config

    out_dir = Path(out_dir)
    _refuse_existing(out_dir)
    if exporter_mode not in EXPORTER_MODES:
        raise BundleError(f"exporter_mode {exporter_mode!r}: expected one of {EXPORTER_MODES}")
    tokenizer_dir = Path(tokenizer_dir)
    names = [name for name in TOKENIZER_FILES if (tokenizer_dir / name).is_file()]
    for required in ("tokenizer.json", "tokenizer_config.json"):
        if required not in names:
            raise BundleError(f"{tokenizer_dir / required}: missing (a fast tokenizer is required)")
    weights_dir = Path(weights_dir)
    for required in WEIGHT_FILES:
        if not (weights_dir / required).is_file():
            raise BundleError(f"{weights_dir / required}: missing (the bundle carries the trained weights)")
    weight_names = [*WEIGHT_FILES, *names]
    tags = bio_tags(tuple(labels))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        (staging / "onnx").mkdir()
        (staging / TOKENIZER).mkdir()
        (staging / WEIGHTS).mkdir()
        for name in WEIGHT_FILES:
            shutil.copyfile(weights_dir / name, staging / WEIGHTS / name)
        for name in names:  # the tokenizer the bundle serves with: model/ is a whole transformers folder
            shutil.copyfile(tokenizer_dir / name, staging / WEIGHTS / name)
        shutil.copyfile(onnx_path, staging / MODEL)
        if int8_onnx_path is not None:
            if not int8 or "gate" not in int8:
                raise BundleError(f"{int8_onnx_path}: an int8 model needs its quantization and gate record")
            shutil.copyfile(int8_onnx_path, staging / MODEL_INT8)
        for name in names:
            shutil.copyfile(tokenizer_dir / name, staging / TOKENIZER / name)
        (staging / LABELS).write_text(json.dumps({"labels": list(labels), "tags": tags}, indent=2) + "\n")
        (staging / EXPORTER_MODE).write_text(exporter_mode + "\n")
        (staging / CONFIG).write_text(
            build_config(
                TRITON_MODEL_NAME,
                len(tags),
                flavour,  # type: ignore[arg-type]
                max_batch_size,
                parameters={"model_version": model_version},
            )
        )
        hashed = [
            MODEL,
            CONFIG,
            EXPORTER_MODE,
            LABELS,
            *(f"{TOKENIZER}/{name}" for name in names),
            *(f"{WEIGHTS}/{name}" for name in weight_names),
        ]
        if int8_onnx_path is not None:
            hashed.append(MODEL_INT8)
        int8_block = {**(int8 or {}), "file": MODEL_INT8 if int8_onnx_path is not None else None}
        version = {
            "model_version": model_version,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "base_model": base_model,
            "manifest": manifest,
            "metrics": metrics,
            "exporter_mode": exporter_mode,
            "exporter": exporter or {},
            "labels": list(labels),
            "tags": tags,
            "files": {name: sha256_file(staging / name) for name in hashed},
            "code_revision": code_revision(),
            "precision": "fp32",
            **({"int8": int8_block} if int8 or int8_onnx_path is not None else {}),
            **(extra or {}),
        }
        (staging / VERSION).write_text(json.dumps(version, indent=2, default=str) + "\n")
        read_bundle(staging)
        _refuse_existing(out_dir)
        if out_dir.exists():
            out_dir.rmdir()
        os.rename(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return read_bundle(out_dir)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise BundleError(f"{path}: not valid JSON ({error})") from error


def _check_config(bundle: Bundle) -> None:
    from google.protobuf.text_format import ParseError

    from include.serving.triton_config import parse_config

    try:
        config = parse_config(bundle.config_path.read_text())
    except ParseError as error:
        raise BundleError(f"{bundle.config_path}: not a Triton model config ({error})") from error
    dims = [list(o.dims) for o in config.output if o.name == "logits"]
    if dims != [[-1, len(bundle.tags)]]:
        raise BundleError(f"{bundle.config_path}: logits dims {dims} do not fit {len(bundle.tags)} tags")
    said = config.parameters["model_version"].string_value if "model_version" in config.parameters else None
    if said != bundle.model_version:
        raise BundleError(
            f"{bundle.config_path}: model_version {said!r} (VERSION.json says {bundle.model_version!r})"
        )


def _check_hashes(root: Path, files: Any) -> None:
    version_path = root / VERSION
    if not isinstance(files, dict):
        raise BundleError(f"{version_path}: 'files' is not a map of path → sha256")
    unhashed = [name for name in REQUIRED_FILES if name != VERSION and name not in files]
    if unhashed:
        raise BundleError(f"{version_path}: no sha256 for {unhashed}")
    for name, digest in sorted(files.items()):
        path = root / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise BundleError(f"{version_path}: {name!r} is outside the bundle")
        if not path.is_file():
            raise BundleError(f"{path}: missing from the bundle")
        if sha256_file(path) != digest:
            raise BundleError(f"{path}: sha256 differs from VERSION.json (the file was changed)")


def _check_int8(root: Path, version: dict[str, Any]) -> None:
    """An `int8` block names model.int8.onnx (or no file), carries its gate, and its file is hashed."""
    block = version.get("int8")
    if block is None:
        return
    version_path = root / VERSION
    if not isinstance(block, dict) or not isinstance(block.get("gate"), dict):
        raise BundleError(f"{version_path}: 'int8' needs a 'gate' record")
    if block.get("file") not in (None, MODEL_INT8):
        raise BundleError(f"{version_path}: int8 file {block.get('file')!r} (expected {MODEL_INT8!r})")
    if block.get("file") and MODEL_INT8 not in version["files"]:
        raise BundleError(f"{version_path}: no sha256 for ['{MODEL_INT8}']")


def read_bundle(root: Path) -> Bundle:
    """The bundle at `root`, checked: every file present, VERSION.json complete, labels.json, tags,
    exporter_mode.txt and config.pbtxt consistent with it, and every file's sha256 as VERSION.json says
    (the int8 flavour's too, when the bundle has one)."""
    root = Path(root)
    if not root.is_dir():
        raise BundleError(f"{root}: bundle folder not found")
    for name in REQUIRED_FILES:
        if not (root / name).is_file():
            raise BundleError(f"{root / name}: missing from the bundle")
    version_path = root / VERSION
    version = _read_json(version_path)
    if not isinstance(version, dict):
        raise BundleError(f"{version_path}: not a JSON object")
    missing = [key for key in VERSION_KEYS if key not in version]
    if missing:
        raise BundleError(f"{version_path}: missing keys {missing}")
    mode = (root / EXPORTER_MODE).read_text().strip()
    if mode not in EXPORTER_MODES or mode != version["exporter_mode"]:
        said = version["exporter_mode"]
        raise BundleError(f"{root / EXPORTER_MODE}: {mode!r} (VERSION.json says {said!r})")
    labels = _read_json(root / LABELS)
    if not isinstance(labels, dict) or (labels.get("labels"), labels.get("tags")) != (
        version["labels"],
        version["tags"],
    ):
        raise BundleError(f"{root / LABELS}: labels/tags differ from VERSION.json")
    if version["tags"] != bio_tags(tuple(version["labels"])):
        raise BundleError(f"{version_path}: tags are not the BIO tags of its labels")
    _check_hashes(root, version["files"])
    _check_int8(root, version)
    bundle = Bundle(root, version)
    _check_config(bundle)
    return bundle

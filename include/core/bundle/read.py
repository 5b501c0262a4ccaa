"""`read_bundle`, the one strict reader: a bundle folder → `Bundle`, or BundleError naming the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from include.core.bundle.format import (
    EXPORTER_MODE,
    EXPORTER_MODES,
    LABELS,
    MODEL_INT8,
    REQUIRED_FILES,
    VERSION,
    VERSION_KEYS,
    Bundle,
    BundleError,
)
from include.core.hashing import sha256_file
from include.core.labels import bio_tags


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise BundleError(f"{path}: not valid JSON ({error})") from error


def _check_config(bundle: Bundle) -> None:
    from google.protobuf.text_format import ParseError  # protobuf and tritonclient only once a bundle is read

    from include.core.bundle.config import parse_config

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

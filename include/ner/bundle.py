"""A model bundle on disk: onnx/model.onnx, onnx/VERSION.json and tokenizer/, read into one typed value."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


class BundleError(ValueError):
    """A bundle folder is incomplete or inconsistent; the message names the file."""


@dataclass(frozen=True)
class Bundle:
    root: Path
    model_version: str
    labels: tuple[str, ...]
    tags: tuple[str, ...]

    @property
    def model_path(self) -> Path:
        return self.root / "onnx" / "model.onnx"

    @property
    def version_file(self) -> Path:
        return self.root / "onnx" / "VERSION.json"

    @property
    def tokenizer_dir(self) -> Path:
        return self.root / "tokenizer"


def read_version_file(path: Path) -> dict:
    """VERSION.json as a dict, checked for model_version, labels and tags."""
    try:
        info = json.loads(Path(path).read_text())
    except FileNotFoundError as error:
        raise BundleError(f"{path}: missing") from error
    except json.JSONDecodeError as error:
        raise BundleError(f"{path}: not valid JSON ({error})") from error
    missing = [key for key in ("model_version", "labels", "tags") if key not in info]
    if missing:
        raise BundleError(f"{path}: missing keys {missing}")
    return info


def read_bundle(root: Path) -> Bundle:
    """The bundle at `root`, with its files checked to exist."""
    root = Path(root)
    info = read_version_file(root / "onnx" / "VERSION.json")
    bundle = Bundle(root, str(info["model_version"]), tuple(info["labels"]), tuple(info["tags"]))
    if not bundle.model_path.is_file():
        raise BundleError(f"{bundle.model_path}: missing")
    if not (bundle.tokenizer_dir / "tokenizer.json").is_file():
        raise BundleError(
            f"{bundle.tokenizer_dir / 'tokenizer.json'}: missing (a fast tokenizer is required)"
        )
    return bundle

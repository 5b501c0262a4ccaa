"""Where tests keep what is slow to build and the same every run: `NERLOOP_TEST_CACHE`, else
.state/test-cache. Entries are keyed by what they are built from, so a stale one is never read; CI points
the variable at a folder outside the clone so it outlives the checkout."""

from __future__ import annotations

import os
from pathlib import Path

from include.core.settings import PROJECT_ROOT


def cache_dir(*parts: str) -> Path:
    """The cache folder (not created), or a folder under it."""
    root = os.environ.get("NERLOOP_TEST_CACHE") or str(PROJECT_ROOT / ".state" / "test-cache")
    return Path(root).joinpath(*parts)

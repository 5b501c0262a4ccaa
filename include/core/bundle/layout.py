"""Where bundles live: one root (`<state_dir>/bundles`), one `run-YYYYmmddTHHMMSS` folder per training run,
and a `current` link to the one in service."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from include.core.bundle.format import VERSION

CURRENT = "current"
RUN_PREFIX = "run-"


@dataclass(frozen=True)
class BundleLayout:
    """Where bundles live: `<root>/run-<UTC time>` per training run, `<root>/current` → the one in service."""

    root: Path

    @classmethod
    def from_state_dir(cls, state_dir: Path | None = None) -> BundleLayout:
        """`<state_dir>/bundles`, state_dir defaulting to the project settings' (STATE_DIR)."""
        if state_dir is None:
            from include.core.settings import get_settings

            state_dir = get_settings().paths.state_dir
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

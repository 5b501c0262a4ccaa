"""A clone has nothing beside it: no code, test, CI step or image build reads the development-only folder."""

from __future__ import annotations

import subprocess

from include.core.settings import PROJECT_ROOT
from include.workflows.training.sources import WNUT17_SHIPPED, wnut17_dir

CODE_SUFFIXES = (".py", ".sh", ".cfg", ".toml", ".yaml", ".yml", ".txt")
CODE_NAMES = ("Makefile", "Dockerfile", "run")
OUTSIDE = "/".join(("..", "shared"))


def tracked_code() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return [
        p for p in out.stdout.splitlines() if p.endswith(CODE_SUFFIXES) or p.rsplit("/", 1)[-1] in CODE_NAMES
    ]


def test_no_tracked_code_points_outside_the_clone() -> None:
    files = tracked_code()
    assert len(files) > 100
    offenders = [p for p in files if OUTSIDE in (PROJECT_ROOT / p).read_text(errors="replace")]
    assert offenders == []


def test_wnut17_ships_inside_the_project_with_its_licence(monkeypatch) -> None:
    monkeypatch.delenv("WNUT17_DIR", raising=False)
    assert wnut17_dir() == WNUT17_SHIPPED and WNUT17_SHIPPED.is_relative_to(PROJECT_ROOT)
    for name in ("wnut17train.conll", "emerging.dev.conll", "emerging.test.annotated"):
        assert (WNUT17_SHIPPED / name).stat().st_size > 100_000
    assert "CC-BY 4.0" in (WNUT17_SHIPPED / "SOURCE.md").read_text()

"""Every virtualenv the project builds is pinned, so a fresh clone installs what the suite ran with.

Label Studio 1.23.2 leaves its own dependencies open: a fresh resolve on 2026-12-07 took sentry-sdk 3.0.0, and
Label Studio then failed at start ("Unknown option 'send_default_pii'") — `make demo` on a fresh clone broke
while every existing venv still worked.
"""

from __future__ import annotations

import re

from include.core.settings import PROJECT_ROOT

PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!_-]+$")


def requirement_lines(name: str) -> list[str]:
    lines = (PROJECT_ROOT / name).read_text().splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def test_label_studio_venv_is_pinned_package_by_package_and_matches_the_compose_image() -> None:
    lines = requirement_lines("requirements-label-studio.txt")
    assert len(lines) > 100, "the full freeze, not only label-studio itself"
    assert [line for line in lines if not PIN.match(line)] == []
    versions = dict(line.split("==", 1) for line in lines)
    assert versions["label-studio"] == "1.23.2"
    assert "heartexlabs/label-studio:1.23.2" in (PROJECT_ROOT / "docker-compose.yaml").read_text()
    major = int(versions["sentry-sdk"].split(".", 1)[0])
    assert major < 3, "Label Studio 1.23.2 does not start with sentry-sdk 3"


def test_the_label_studio_venv_script_installs_from_the_pinned_file_and_rebuilds_when_it_changes() -> None:
    script = (PROJECT_ROOT / "scripts" / "setup_ls_venv.sh").read_text()
    assert "install -q -r requirements-label-studio.txt" in script
    assert "sha256sum requirements-label-studio.txt" in script

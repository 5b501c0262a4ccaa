"""The airflow commands the demo's last lines and the operator guide print, run here as printed.

Each runs through a shell in the project root, as an operator types it, against a demo state folder of its
own: `make airflow ARGS="..."` and `python -m devstack.cli airflow ...` give the airflow CLI the environment
the demo starts Airflow with. Here DATABASE_URL names the test database, so Airflow's metadata is the SQLite
file the demo keeps under the state folder then. The demo's other lines run too: `make status` and `make down`
(on a stand-in process under the webhook shim's PID file) and `make lineage ID=...` (on the test database).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.cli import TRAIN_NOW, next_steps
from devstack.stack import Stack
from include.core.settings import get_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GUIDE = PROJECT_ROOT / "docs" / "operator-guide.md"
VENV = Path(sys.prefix)
WRAPPED = re.compile(r'^(make airflow ARGS="[^"]+"|python -m devstack\.cli airflow .+)$')
# An airflow subcommand without the wrapper: a bare `airflow`, `.venv/bin/airflow`, `AIRFLOW_HOME=… airflow`.
BARE = re.compile(r"(^|[\s/])airflow (dags|tasks|db|users|connections|variables|pools|config|jobs)\b")


def backticked(text: str) -> list[str]:
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return [" ".join(snippet.split()) for snippet in re.findall(r"`([^`]+)`", text)]


@pytest.fixture
def demo_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STATE_DIR", str(tmp_path / "state"))
    get_settings.cache_clear()
    return tmp_path / "state"


def printed_texts() -> dict[str, str]:
    """The demo's "Next" lines (for a state folder set in the environment) and the operator guide."""
    stack = Stack.from_env()
    return {
        "make demo": next_steps(
            stack, 1, 12, "bootstrap-0", "postgresql://nerloop:secret@127.0.0.1:5432/nerloop"
        ),
        "docs/operator-guide.md": GUIDE.read_text(),
    }


def printed_airflow_commands() -> list[str]:
    commands: list[str] = []
    for snippet in (s for text in printed_texts().values() for s in backticked(text)):
        if WRAPPED.match(snippet) and not re.search(r"[<…]", snippet) and snippet not in commands:
            commands.append(snippet)
    return commands


def operator_env(state: Path, database_url: str | None) -> dict[str, str]:
    """A shell of an operator in the project root with the venv first on PATH: nothing of Airflow's, nor of
    this test session's state, in the environment."""
    dropped = ("AIRFLOW", "STATE_DIR", "NERLOOP_HOME", "DATABASE_URL", "EMBEDDED_PG", "MAKE", "MFLAGS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(STATE_DIR=str(state), VENV=str(VENV), PATH=f"{VENV / 'bin'}{os.pathsep}{os.environ['PATH']}")
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def run(command: str, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, shell=True, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_the_printed_airflow_commands_are_the_wrapped_ones(demo_state: Path) -> None:
    texts = printed_texts()
    assert f"`{TRAIN_NOW}`" in texts["make demo"]
    bare = {
        where: [s for s in backticked(text) if BARE.search(s) and not WRAPPED.match(s)]
        for where, text in texts.items()
    }
    assert bare == {where: [] for where in texts}, "an airflow command without the demo's environment"
    commands = printed_airflow_commands()
    assert TRAIN_NOW in commands and any(c.startswith("python -m devstack.cli airflow ") for c in commands)


def test_each_printed_airflow_command_runs_against_the_demos_airflow(
    demo_state: Path, database_url: str
) -> None:
    env = operator_env(demo_state, database_url)
    # What `make demo` does before it prints them: Airflow's metadata database, the DAGs parsed into it.
    for setup in ('make airflow ARGS="db migrate"', 'make airflow ARGS="dags reserialize"'):
        res = run(setup, env)
        assert res.returncode == 0, f"{setup}:\n{(res.stdout + res.stderr)[-3000:]}"
    assert (demo_state / "airflow" / "airflow.db").is_file(), "the demo's SQLite metadata (DATABASE_URL set)"

    commands = printed_airflow_commands()
    for command in commands:
        res = run(command, env)
        assert res.returncode == 0, f"{command}:\n{(res.stdout + res.stderr)[-3000:]}"

    listed = run('make -s airflow ARGS="dags list-runs nightly_train_publish -o json"', env)
    assert listed.returncode == 0, listed.stderr[-3000:]
    runs, _ = json.JSONDecoder().raw_decode(listed.stdout[listed.stdout.index("[{") :])
    manual = [r for r in runs if r["run_id"].startswith("manual__")]
    assert len(manual) == sum(c == TRAIN_NOW for c in commands) == 1
    assert manual[0]["state"] == "queued", "the scheduler runs it (none runs here)"


def test_without_the_demos_database_the_command_says_what_to_run(demo_state: Path) -> None:
    res = run('make airflow ARGS="dags list"', operator_env(demo_state, None), timeout=120)
    assert res.returncode != 0
    assert "the demo's PostgreSQL (which holds Airflow's metadata) is not running: `make demo`" in res.stderr


def test_status_and_down_run_as_printed(demo_state: Path) -> None:
    texts = printed_texts()
    assert "`make status`" in texts["make demo"] and "`make down`" in texts["make demo"]
    stack = Stack.from_env()
    shim = stack.processes()["webhook-shim"]
    pid = shim.start([sys.executable, "-c", "import time; time.sleep(300)"])
    env = operator_env(demo_state, None)
    try:
        status = run("make status", env, timeout=120)
        assert status.returncode == 0, status.stderr[-3000:]
        lines = {line.split()[0]: line for line in status.stdout.splitlines() if line and line[0] != " "}
        assert f"running pid {pid}" in lines["webhook-shim"]
        assert {name for name in stack.processes() if "stopped" in lines[name]} == set(stack.processes()) - {
            "webhook-shim"
        }
        assert "stopped" in lines["database"]

        down = run("make down", env, timeout=120)
        assert down.returncode == 0, down.stderr[-3000:]
        assert "webhook-shim: stopped" in down.stdout and "database: was not running" in down.stdout
        assert shim.pid() is None
    finally:
        shim.stop(timeout_s=5)


def test_lineage_runs_as_printed(demo_state: Path, db, database_url: str) -> None:
    from include.adapters.db import repository as repo
    from include.adapters.db.connection import transaction
    from include.core.spans import Span

    text = "Ann Lee joined Initech."
    with transaction(db):
        document = repo.add_document(
            db, sha256="ab" * 32, uri="file:///inbox/a.txt", doc_type="text", size_bytes=1
        )
        (record,) = repo.add_records(db, document.id, [repo.NewRecord(record_key="a#p=0", text=text)])
        version = repo.append_record_version(
            db,
            record.id,
            repo.NewRecordVersion(
                source="annotation",
                spans=[Span(start=0, end=7, label="PERSON", text="Ann Lee")],
                ls_project_id=1,
                ls_task_id=7,
                ls_annotation_id=9,
            ),
        )
    assert version is not None
    assert "`make lineage ID=<record_version_id>`" in printed_texts()["make demo"]
    env = operator_env(demo_state, database_url)

    res = run(f"make -s lineage ID={version.id}", env, timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    lineage = json.loads(res.stdout[res.stdout.index("{") :])
    assert (lineage["record_version_id"], lineage["record_key"], lineage["ls_annotation_id"]) == (
        version.id,
        "a#p=0",
        9,
    )
    assert lineage["document_uri"] == "file:///inbox/a.txt"

    missing = run(f"make -s lineage ID={version.id + 1000}", env, timeout=120)
    assert missing.returncode != 0
    assert f"no record version {version.id + 1000}" in missing.stderr

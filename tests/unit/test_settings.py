"""The one settings object: flat environment names land in their sections, every knob is read somewhere,
and nothing outside the settings and the entry points touches `os.environ`."""

from __future__ import annotations

import inspect
import re
import subprocess
from pathlib import Path

import pytest

from include.core.settings import PROJECT_ROOT, Settings, child_environment, env_names, get_settings

# Fields read by name by something other than our Python code. Each entry says who reads it.
READ_BY_OTHERS: dict[str, str] = {}

# Where code may read or write os.environ: the settings, and entry points (processes' own configuration
# files, `python -m` mains, DAG files, the CLI, benchmarks, tests). Everything else takes settings.
ENV_ALLOWED = (
    "include/core/settings.py",  # the sections read it; child_environment hands it to child processes
    "webhook_shim/gunicorn.conf.py",  # gunicorn's own config file (workers, bind, the metrics folder)
    "ml_backend/gunicorn.conf.py",
    "include/adapters/airflow_users.py",  # `python -m include.adapters.airflow_users` (compose api-server)
)
CODE_DIRS = ("include", "devstack", "dags", "plugins", "webhook_shim", "ml_backend")


def _sources() -> dict[str, str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", "*.py"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {p: (PROJECT_ROOT / p).read_text() for p in out if (PROJECT_ROOT / p).is_file()}


def test_flat_environment_names_land_in_their_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "STATE_DIR": "/tmp/nerloop-state",
        "DATABASE_URL": "postgresql://u@db/x",
        "WEBHOOK_SECRET": "s3cret",
        "ML_BACKEND_PORT": "9999",
        "LABEL_STUDIO_PROJECT": "Invoices",
        "INBOX_URI": "s3://bucket/inbox",
        "AWS_SECRET_ACCESS_KEY": "sekrit-value",
        "EXTRACT_TIMEOUT_S": "12.5",
        "NERLOOP_SPARK_CONN_ID": "spark_master",
        "NER_BACKEND": "triton",
        "TRITON_MODEL_NAME": "other",
        "TRITON_INTRA_OP_THREADS": "3",
        "MODEL_REPOSITORY": "s3://models/repo",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:////tmp/a.db",
        "EMBEDDED_PG_PASSWORD": "pg",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    s = get_settings()
    assert s.paths.state_dir == Path("/tmp/nerloop-state")
    assert s.db.database_url == "postgresql://u@db/x"
    assert s.shim.webhook_secret is not None and s.shim.webhook_secret.get_secret_value() == "s3cret"
    assert s.ml_backend.ml_backend_port == 9999
    assert s.label_studio.label_studio_project == "Invoices"
    assert s.store.inbox_uri == "s3://bucket/inbox" and "inbox_uri" in s.store.model_fields_set
    assert s.store.aws_secret_access_key is not None and "sekrit-value" not in repr(s.store)
    assert s.extract.extract_timeout_s == 12.5
    assert s.spark.spark_conn_id == "spark_master"
    assert (s.ner.ner_backend, s.ner.triton_model_name) == ("triton", "other")
    assert s.serving.triton_intra_op_threads == 3
    assert s.model_repository_root == "s3://models/repo"
    assert s.stack.airflow_sql_alchemy_conn == "sqlite:////tmp/a.db"
    assert s.stack.embedded_pg_password is not None
    assert s.embedded_pg_dir == Path("/tmp/nerloop-state/postgres")
    assert {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "NERLOOP_SPARK_CONN_ID", "STATE_DIR"} <= env_names()
    assert get_settings() is s, "read once, then cached"


def test_no_field_is_in_two_sections() -> None:
    seen: dict[str, str] = {}
    for section, info in Settings.model_fields.items():
        assert info.default_factory is not None
        for name in info.default_factory.model_fields:  # type: ignore[union-attr]
            assert name not in seen, f"{name} is in sections {seen[name]} and {section}"
            seen[name] = section


def test_every_knob_is_read_somewhere() -> None:
    """Each field is read as `<section>.<field>` outside include/core/settings.py, or by a property of
    `Settings` that is itself read outside it. A knob nothing reads is a promise the code does not keep:
    wire it or delete it."""
    sources = _sources()
    elsewhere = "\n".join(text for path, text in sources.items() if path != "include/core/settings.py")
    derived = {
        name: inspect.getsource(member.fget)
        for name, member in vars(Settings).items()
        if isinstance(member, property) and member.fget is not None
    }
    used_properties = {name for name in derived if re.search(rf"\.{name}\b", elsewhere)}
    assert used_properties == set(derived), f"properties nothing reads: {set(derived) - used_properties}"
    unread = []
    for section, info in Settings.model_fields.items():
        assert info.default_factory is not None
        for name in info.default_factory.model_fields:  # type: ignore[union-attr]
            pattern = rf"\b{section}\.{name}\b"
            if name in READ_BY_OTHERS or re.search(pattern, elsewhere):
                continue
            if any(re.search(pattern, source) for source in derived.values()):
                continue
            unread.append(f"{section}.{name}")
    assert not unread, f"settings nothing reads (wire or delete them): {unread}"


def test_only_settings_and_entry_points_touch_the_environment() -> None:
    env_use = re.compile(r"\bos\.(environ|getenv|putenv|unsetenv)\b")
    offenders = [
        f"{path}:{number}"
        for path, text in _sources().items()
        if path.startswith(CODE_DIRS) and path not in ENV_ALLOWED
        for number, line in enumerate(text.splitlines(), 1)
        if env_use.search(line)
    ]
    assert not offenders, f"read settings (include/core/settings.py) instead of the environment: {offenders}"


def test_child_environment_adds_and_drops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_X", "1")
    monkeypatch.setenv("KEEP_ME", "1")
    env = child_environment({"ADDED": "2"}, drop_prefixes=("DJANGO",))
    assert env["ADDED"] == "2" and env["KEEP_ME"] == "1" and "DJANGO_X" not in env

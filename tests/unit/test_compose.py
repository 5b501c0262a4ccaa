"""docker-compose.yaml: every production part is there, healthy-checked, and nothing secret is inlined."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_has_every_part_with_a_health_check() -> None:
    services = _compose()["services"]
    for name in (
        "postgres",
        "airflow-api-server",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "webhook-shim",
        "label-studio",
        "triton",
    ):
        assert name in services, name
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_triton_uses_explicit_model_control_on_the_shared_model_repository() -> None:
    services = _compose()["services"]
    triton = services["triton"]
    assert "--model-control-mode=explicit" in triton["command"]
    assert "model-repository:/models" in triton["volumes"]
    assert "model-repository:/models" in services["airflow-scheduler"]["volumes"]


def test_shim_runs_under_gunicorn_and_secrets_come_from_env() -> None:
    services = _compose()["services"]
    assert services["webhook-shim"]["command"][0] == "gunicorn"
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if key.endswith(("PASSWORD", "SECRET", "_TOKEN")) and "ENABLE" not in key:
                assert str(value).startswith("${"), f"{name}.{key} is inlined, not from the environment"


def test_airflow_settings_in_compose_are_ones_the_code_reads() -> None:
    from include.ner.settings import NerSettings
    from include.serving.settings import ServingSettings
    from include.settings import Settings

    models = (Settings, NerSettings, ServingSettings)
    known = {name.upper() for model in models for name in model.model_fields}
    ours = [k for k in _compose()["x-airflow"]["environment"] if not k.startswith(("AIRFLOW", "HF_"))]
    unknown = [k for k in ours if k not in known and k not in ("NERLOOP_HOME", "PYTHONPATH")]
    assert not unknown, f"compose sets variables no settings class reads: {unknown}"


def test_celery_profile_scales_out_workers() -> None:
    services = _compose()["services"]
    assert services["airflow-worker"]["profiles"] == ["celery"]
    assert services["redis"]["profiles"] == ["celery"]


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="docker compose plugin not installed here; the YAML checks above still run",
)
def test_docker_compose_config_validates(tmp_path: Path) -> None:
    env = {
        "POSTGRES_PASSWORD": "x",
        "WEBHOOK_SECRET": "x",
        "LABEL_STUDIO_PASSWORD": "x",
        "PATH": "/usr/bin:/bin",
    }
    res = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "-q"], env=env, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr

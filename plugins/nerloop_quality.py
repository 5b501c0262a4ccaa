"""Airflow plugin: the loop's quality pages at /nerloop in the api-server, linked from the UI's navigation."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from nerloop_airflow import hooks

from include.workflows.quality.app import create_app

QUALITY_APP = {"app": create_app(hooks.db), "url_prefix": "/nerloop", "name": "NER loop quality"}
QUALITY_VIEW = {
    "name": "NER loop quality",
    "href": "/nerloop/",
    "destination": "nav",
    "category": "browse",
    "url_route": "nerloop",
}


class NerloopQualityPlugin(AirflowPlugin):
    name = "nerloop_quality"
    fastapi_apps = [QUALITY_APP]  # noqa: RUF012 (AirflowPlugin declares its parts as class lists)
    external_views = [QUALITY_VIEW]  # noqa: RUF012

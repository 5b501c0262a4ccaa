"""Connections for tasks: Intelligence DB (PostgresHook), the object store (S3Hook's session for S3),
Label Studio, the NER client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from airflow.providers.postgres.hooks.postgres import PostgresHook

from include.adapters.db.connection import connect
from include.core.settings import get_settings


def db_connection() -> Any:
    """A psycopg2 connection to the `nerloop_db` Airflow connection if defined, else to DATABASE_URL.

    The hook resolves the connection (secrets backends included); `include/` opens it with psycopg2 and
    its timeouts, since the provider may hand out psycopg 3 connections.
    """
    conn_id = get_settings().db.nerloop_db_conn_id
    try:
        PostgresHook.get_connection(conn_id)
    except Exception:  # an undefined connection id raises AirflowNotFoundException
        return connect(statement_timeout_ms=0)
    uri = PostgresHook(postgres_conn_id=conn_id).get_uri()
    return connect("postgresql://" + uri.split("://", 1)[1], statement_timeout_ms=0)


@contextmanager
def db() -> Iterator[Any]:
    """The Intelligence DB for one task's work: `with hooks.db() as conn:`, closed on the way out."""
    conn = db_connection()
    try:
        yield conn
    finally:
        conn.close()


def object_store(uri: str | None) -> Any:
    """The object store for a task: its S3 client comes from the `aws_default` connection (session,
    endpoint, botocore config) when `uri` is in S3; otherwise the store built from settings."""
    from include.adapters.objectstore import ObjectStore, default_store
    from include.core.locations import Location

    if not uri or not Location.parse(uri).is_s3:
        return default_store()
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    settings = get_settings()
    hook = S3Hook(aws_conn_id=settings.store.nerloop_aws_conn_id)
    return ObjectStore.from_settings(
        settings,
        session=hook.get_session(),
        endpoint_url=hook.conn_config.get_service_endpoint_url(service_name="s3")
        or settings.store.aws_endpoint_url,
        config=hook.config,
        verify=hook.verify,
    )


def label_studio() -> Any:
    """The label-studio-sdk client for LABEL_STUDIO_URL with LABEL_STUDIO_TOKEN."""
    from include.adapters.label_studio import client as ls_client

    s = get_settings()
    if s.label_studio.label_studio_token is None:
        raise RuntimeError("LABEL_STUDIO_TOKEN is not set: the task cannot reach Label Studio")
    return ls_client.connect(
        s.label_studio.label_studio_url, s.label_studio.label_studio_token.get_secret_value()
    )


def ner_client() -> Any:
    """The NER client NER_BACKEND / NER_BUNDLE_DIR configure (Triton or in-process ONNX Runtime)."""
    from include.adapters.ner.client import NerClient

    return NerClient.from_settings()

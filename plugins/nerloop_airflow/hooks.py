"""Connections for tasks: Intelligence DB (PostgresHook), S3 (S3Hook), Label Studio, the NER client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from airflow.providers.postgres.hooks.postgres import PostgresHook

from include.db.connection import connect
from include.settings import get_settings

DB_CONN_ID = os.environ.get("NERLOOP_DB_CONN_ID", "nerloop_db")


def db_connection() -> Any:
    """A psycopg2 connection to the `nerloop_db` Airflow connection if defined, else to DATABASE_URL.

    The hook resolves the connection (secrets backends included); `include/` opens it with psycopg2 and
    its timeouts, since the provider may hand out psycopg 3 connections.
    """
    try:
        PostgresHook.get_connection(DB_CONN_ID)
    except Exception:  # an undefined connection id raises AirflowNotFoundException
        return connect(statement_timeout_ms=0)
    uri = PostgresHook(postgres_conn_id=DB_CONN_ID).get_uri()
    return connect("postgresql://" + uri.split("://", 1)[1], statement_timeout_ms=0)


@contextmanager
def db() -> Iterator[Any]:
    """The Intelligence DB for one task's work: `with hooks.db() as conn:`, closed on the way out."""
    conn = db_connection()
    try:
        yield conn
    finally:
        conn.close()


def s3_client(source_uri: str) -> Any:
    """A boto3 S3 client from the `aws_default` connection when the source is in S3, else None."""
    if not source_uri.startswith("s3://"):
        return None
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=os.environ.get("NERLOOP_AWS_CONN_ID", "aws_default")).get_conn()


def label_studio() -> Any:
    """The label-studio-sdk client for LABEL_STUDIO_URL with LABEL_STUDIO_TOKEN."""
    from include.label_studio import client as ls_client

    s = get_settings()
    if s.label_studio_token is None:
        raise RuntimeError("LABEL_STUDIO_TOKEN is not set: the task cannot reach Label Studio")
    return ls_client.connect(s.label_studio_url, s.label_studio_token.get_secret_value())


def ner_client() -> Any:
    """The NER client NER_BACKEND / NER_BUNDLE_DIR configure (Triton or in-process ONNX Runtime)."""
    from include.ner.client import NerClient

    return NerClient.from_settings()

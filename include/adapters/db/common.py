"""What every module of the Intelligence DB shares: the connection type, its error, cursors, checks."""

from __future__ import annotations

import re
from typing import TypeAlias

import psycopg2.extensions
import psycopg2.extras

Connection: TypeAlias = psycopg2.extensions.connection

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class RepositoryError(ValueError):
    """A call asked for something impossible; the message names the field."""


def check_sha256(field: str, value: str) -> str:
    if not isinstance(value, str) or not _SHA256.match(value):
        raise RepositoryError(f"{field}: expected 64 lower-case hex characters, got {value!r}")
    return value


def dict_cursor(conn: Connection) -> psycopg2.extras.RealDictCursor:
    return conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)
